// `postbote oauth login`: the device-code sign-in for one mailbox, ending with its refresh token stored
// encrypted. The user is told where to go and which code to enter; printing is the caller's.
import type { MailboxConfig } from '../config/index.js';
import { PostboteError } from '../errors.js';
import { type DeviceCode, pollForToken, requestDeviceCode } from './device-flow.js';
import { accessTokensFor, tokenStoreFor } from './index.js';
import { oauthEndpoints } from './providers.js';

export interface LoginOptions {
  /** One line for the person at the terminal. */
  say: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

export async function deviceLogin(mailbox: MailboxConfig, o: LoginOptions): Promise<{ tokenFile: string }> {
  if (mailbox.auth !== 'oauth2' || !mailbox.oauth2) {
    throw new PostboteError('CONFIG_INVALID', `mailbox ${mailbox.name} does not use auth: oauth2`, {
      temporary: false,
      hint: 'set auth: oauth2 and an oauth2: block (provider, clientId, keyFile) for it first',
    });
  }
  // The key first: a sign-in that cannot be stored would have to be done again.
  const store = tokenStoreFor(mailbox);
  const flow = {
    endpoints: oauthEndpoints(mailbox.oauth2, mailbox.protocol),
    clientId: mailbox.oauth2.clientId,
    ...(mailbox.oauth2.clientSecret === undefined ? {} : { clientSecret: mailbox.oauth2.clientSecret }),
    mailbox: mailbox.name,
    ...(o.sleep ? { sleep: o.sleep } : {}),
  };
  const code = await requestDeviceCode(flow);
  for (const line of instructions(code, mailbox.user)) o.say(line);
  const token = await pollForToken(flow, code);
  store.write({
    refreshToken: token.refreshToken ?? '',
    obtainedAt: Date.now(),
    ...(token.scope === undefined ? {} : { scope: token.scope }),
  });
  // A running process's cached token belongs to the old grant.
  accessTokensFor(mailbox).invalidate();
  o.say(`Signed in. The refresh token is stored encrypted in ${store.file}.`);
  return { tokenFile: store.file };
}

function instructions(code: DeviceCode, user: string): string[] {
  return [
    `To sign in ${user}, open ${code.verificationUriComplete ?? code.verificationUri}`,
    `and enter the code ${code.userCode} (valid for ${Math.round(code.expiresIn / 60)} minutes).`,
    'Waiting for the sign-in…',
  ];
}
