// Renders the Exchange Management Shell script for Postbote's dedicated receive connector from the
// configuration: target port, localAddress, TLS and AUTH, delivery.maxMessageSize, recipient domains.
import { configuredRecipients } from '../app/check.js';
import type { Config } from '../config/index.js';
import { PostboteError } from '../errors.js';
import { type Lang, TEXTS } from './texts.js';

export type ExchangeVersion = '2010' | '2013';

export interface ExchangeOptions {
  version: ExchangeVersion;
  lang: Lang;
  /** The configuration file's path as the user gave it, for the `postbote check` line. */
  configFile: string;
}

/** The parts of the script tests and callers look at, besides the text itself. */
export interface ExchangeScript {
  text: string;
  connectorName: string;
  parameters: Record<string, string>;
  domains: string[];
  recipients: string[];
}

// Windows names the anonymous account by language (NT AUTHORITY\ANONYMOUS LOGON, NT-AUTORITÄT\ANONYMOUS-
// ANMELDUNG); its well-known SID S-1-5-7 is the same everywhere, so the script looks the name up.
const ANONYMOUS =
  "$anonymous = (New-Object System.Security.Principal.SecurityIdentifier 'S-1-5-7').Translate([System.Security.Principal.NTAccount]).Value";

/** A PowerShell single-quoted string literal ('' escapes a quote). */
export function psQuote(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** 104857600 → 100MB, as ByteQuantifiedSize accepts it; exact, never rounded up or down. */
export function formatSize(bytes: number): string {
  for (const [unit, factor] of [
    ['GB', 1024 ** 3],
    ['MB', 1024 ** 2],
    ['KB', 1024],
  ] as const) {
    if (bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return `${bytes}B`;
}

/** Every domain Postbote delivers to: its recipients' and the catch-all (rewritten) domains. */
export function recipientDomains(config: Config): string[] {
  const domains = new Set(
    configuredRecipients(config).map((a) => a.slice(a.lastIndexOf('@') + 1).toLowerCase()),
  );
  for (const m of config.mailboxes) {
    if (!m.catchAll) continue;
    for (const d of m.catchAll.rewriteDomain ? [m.catchAll.rewriteDomain] : m.catchAll.domains)
      domains.add(d);
  }
  return [...domains].sort();
}

export function exchangeScript(config: Config, o: ExchangeOptions): ExchangeScript {
  const t = config.target;
  const say = TEXTS[o.lang];
  if (!t.localAddress) {
    throw new PostboteError('CONFIG_INVALID', 'target.localAddress is not set', {
      temporary: false,
      hint: 'set target.localAddress to the fixed IP Postbote sends from: the connector must be locked to that one address',
    });
  }
  if (t.protocol === 'lmtp') {
    throw new PostboteError(
      'CONFIG_INVALID',
      'target.protocol is lmtp; Exchange receive connectors speak SMTP',
      {
        temporary: false,
        hint: 'set target.protocol: smtp',
      },
    );
  }
  if (t.tls === 'tls') {
    throw new PostboteError(
      'CONFIG_INVALID',
      'target.tls is tls (implicit TLS); Exchange receive connectors offer STARTTLS',
      {
        temporary: false,
        hint: 'set target.tls: starttls',
      },
    );
  }
  const ip = t.localAddress;
  const name = `Postbote from ${ip}`;
  const auth = t.auth !== undefined;
  const mechanism = auth
    ? t.tls === 'starttls'
      ? 'Tls,BasicAuth,BasicAuthRequireTLS'
      : 'BasicAuth'
    : t.tls === 'starttls'
      ? 'Tls'
      : 'None';
  const size = formatSize(config.delivery.maxMessageSize);
  const parameters: Record<string, string> = {
    Name: psQuote(name),
    ...(o.version === '2010' ? { Usage: 'Custom' } : { Custom: '', TransportRole: 'FrontendTransport' }),
    Bindings: `0.0.0.0:${t.port}`,
    RemoteIPRanges: ip,
    PermissionGroups: auth ? 'ExchangeUsers' : 'AnonymousUsers',
    AuthMechanism: mechanism,
    MaxMessageSize: size,
    Server: '$env:COMPUTERNAME',
  };
  const domains = recipientDomains(config);
  const recipients = configuredRecipients(config).sort();
  const id = `Get-ReceiveConnector -Identity "$env:COMPUTERNAME\\${name.replace(/"/g, '`"')}"`;
  const list = (items: string[]) => items.map(psQuote).join(', ');
  const step = (n: number, text: string) => `# ${n}. ${text}`;

  const lines: string[] = [
    `# ${say.title(o.version === '2010' ? '2010' : '2013/2016/2019')}`,
    `# ${say.runIn}`,
    '',
    step(1, `${say.connector(t.port, ip)} ${say.authMechanism(mechanism)} ${say.size(size)}`),
    ...(auth && t.tls === 'none' ? [`# ${say.insecureAuth}`] : []),
    `New-ReceiveConnector ${Object.entries(parameters)
      .map(([k, v]) => (v === '' ? `-${k}` : `-${k} ${v}`))
      .join(' ')}`,
    '',
    `# ${say.anonymousName}`,
    ANONYMOUS,
    '',
    step(2, auth ? say.authSender(t.auth!.user) : say.anonymousSender),
    auth
      ? `${id} | Add-ADPermission -User ${psQuote(t.auth!.user)} -ExtendedRights ms-Exch-SMTP-Accept-Any-Sender`
      : `${id} | Add-ADPermission -User $anonymous -ExtendedRights ms-Exch-SMTP-Accept-Authoritative-Domain-Sender`,
    '',
    step(3, say.acceptedDomains),
    `foreach ($d in @(${list(domains)})) { if (-not (Get-AcceptedDomain | Where-Object { "$($_.DomainName)" -eq $d })) { Write-Warning "$d ${say.notAccepted}" } }`,
    '',
    step(4, say.recipients),
    `foreach ($r in @(${list(recipients)})) { if (-not (Get-Recipient -Identity $r -ErrorAction SilentlyContinue)) { Write-Warning "$r ${say.recipientMissing}" } }`,
    '',
    step(5, say.relay),
    `# ${id} | Add-ADPermission -User $anonymous -ExtendedRights ms-Exch-SMTP-Accept-Any-Recipient`,
    '',
    step(6, say.firewall(t.port, ip)),
    o.version === '2010'
      ? `netsh advfirewall firewall add rule name="${name}" dir=in action=allow protocol=TCP localport=${t.port} remoteip=${ip}`
      : `New-NetFirewallRule -DisplayName ${psQuote(name)} -Direction Inbound -Protocol TCP -LocalPort ${t.port} -RemoteAddress ${ip} -Action Allow`,
    '',
    step(7, say.verify),
    `${id} | Format-List Name,Bindings,RemoteIPRanges,PermissionGroups,AuthMechanism,MaxMessageSize${o.version === '2010' ? '' : ',TransportRole'}`,
    '',
    `# ${say.test(o.configFile)}`,
    '',
  ];
  return { text: lines.join('\n'), connectorName: name, parameters, domains, recipients };
}
