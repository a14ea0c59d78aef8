// Provider presets: where Microsoft's and Google's device-code and token endpoints are and which scopes
// a mail client asks for. Pure data; the generic provider names its own endpoints and scopes.

export type OAuthProvider = 'microsoft' | 'google' | 'generic';

export interface OAuthSettings {
  provider: OAuthProvider;
  /** Microsoft Entra ID tenant: a GUID, a domain, or organizations / common. */
  tenant?: string;
  clientId: string;
  clientSecret?: string;
  deviceEndpoint?: string;
  tokenEndpoint?: string;
  scopes?: string[];
}

export interface OAuthEndpoints {
  deviceEndpoint: string;
  tokenEndpoint: string;
  scopes: string[];
}

const MICROSOFT_SCOPE = { imap: 'IMAP.AccessAsUser.All', pop3: 'POP.AccessAsUser.All' } as const;

/** The endpoints and scopes a mailbox signs in with; explicit endpoints or scopes override a preset's. */
export function oauthEndpoints(s: OAuthSettings, protocol: 'imap' | 'pop3'): OAuthEndpoints {
  switch (s.provider) {
    case 'microsoft': {
      const base = `https://login.microsoftonline.com/${encodeURIComponent(s.tenant ?? 'organizations')}/oauth2/v2.0`;
      return {
        deviceEndpoint: s.deviceEndpoint ?? `${base}/devicecode`,
        tokenEndpoint: s.tokenEndpoint ?? `${base}/token`,
        // offline_access: without it Entra ID hands out no refresh token.
        scopes: s.scopes ?? [`https://outlook.office.com/${MICROSOFT_SCOPE[protocol]}`, 'offline_access'],
      };
    }
    case 'google':
      return {
        deviceEndpoint: s.deviceEndpoint ?? 'https://oauth2.googleapis.com/device/code',
        tokenEndpoint: s.tokenEndpoint ?? 'https://oauth2.googleapis.com/token',
        // Google's only scope for IMAP and POP3 access; refresh tokens come with every device grant.
        scopes: s.scopes ?? ['https://mail.google.com/'],
      };
    case 'generic':
      // The schema requires all three for a generic provider.
      return {
        deviceEndpoint: s.deviceEndpoint ?? '',
        tokenEndpoint: s.tokenEndpoint ?? '',
        scopes: s.scopes ?? [],
      };
  }
}
