// Maps a POP3 -ERR (RFC 2449 response codes, RFC 3206 SYS/AUTH codes) onto Postbote's error catalogue:
// which code, whether retrying later can help, and what the user should do about it; and the error
// a refused command raises with it.
import { type ErrorCode, PostboteError } from '../errors.js';
import { type Pop3Reply, toServerReply } from './reply.js';

/** What the client was doing when the -ERR came: the default for a reply without a known code. */
export type Pop3Stage = 'greeting' | 'auth' | 'dele' | 'command' | 'quit';

export interface ErrClass {
  code: ErrorCode;
  temporary: boolean;
  hint?: string;
}

const BY_CODE: ReadonlyArray<[prefix: string, cls: ErrClass]> = [
  [
    'IN-USE',
    {
      code: 'POP3_IN_USE',
      temporary: true,
      hint: 'another client holds the mailbox (a mail program or a second Postbote); it will be retried',
    },
  ],
  [
    'LOGIN-DELAY',
    {
      code: 'POP3_LOGIN_DELAY',
      temporary: true,
      hint: 'the provider limits how often this mailbox may log in: lengthen the polling interval',
    },
  ],
  ['SYS/TEMP', { code: 'POP3_SYS_TEMP', temporary: true, hint: 'a temporary problem at the provider' }],
  [
    'SYS/PERM',
    { code: 'POP3_SYS_PERM', temporary: false, hint: 'the provider reports a lasting problem: contact it' },
  ],
  [
    'AUTH',
    {
      code: 'POP3_AUTH',
      temporary: false,
      hint: 'check user and password (and whether the provider requires an app password or enabling POP3)',
    },
  ],
];

const BY_STAGE: Readonly<Record<Pop3Stage, ErrClass>> = {
  // A server that refuses at the greeting is usually overloaded or in maintenance.
  greeting: { code: 'POP3_GREETING', temporary: true, hint: 'the server refused the connection' },
  // RFC 3206: a server with a temporary problem should say SYS/TEMP; without it, assume bad credentials.
  auth: {
    code: 'POP3_AUTH',
    temporary: false,
    hint: 'check user and password (and whether the provider requires an app password or enabling POP3)',
  },
  // A refused DELE leaves the message on the server: retrying next time is safe.
  dele: { code: 'POP3_COMMAND', temporary: true },
  command: { code: 'POP3_COMMAND', temporary: true },
  quit: {
    code: 'POP3_COMMAND',
    temporary: true,
    hint: 'the server did not commit the deletions; the messages will be seen again and skipped as known',
  },
};

/** Classifies a -ERR. Response codes are hierarchical ('SYS/TEMP/...'), so they match by prefix. */
export function classifyErr(reply: Pop3Reply, stage: Pop3Stage): ErrClass {
  const code = reply.code;
  if (code !== undefined) {
    for (const [prefix, cls] of BY_CODE) {
      if (code === prefix || code.startsWith(`${prefix}/`)) return cls;
    }
  }
  return BY_STAGE[stage];
}

/** The error for a command the server refused: the class of its -ERR, with the server's own words. */
export function refusalError(
  reply: Pop3Reply,
  stage: Pop3Stage,
  command: string,
  where: string,
): PostboteError {
  const cls = classifyErr(reply, stage);
  return new PostboteError(cls.code, `${command.split(' ')[0]} refused: ${reply.text || 'no reason given'}`, {
    temporary: cls.temporary,
    reply: toServerReply(reply),
    command,
    where,
    ...(cls.hint ? { hint: cls.hint } : {}),
  });
}
