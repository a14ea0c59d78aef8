// The refresh token at rest: AES-256-GCM under a key from a file or an environment variable, in
// `<state>/oauth/<mailbox>.token` (mode 0600). The mailbox name is the additional data, so a file
// copied to another mailbox's name does not decrypt.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PostboteError } from '../errors.js';

// AES-256: the key is 32 bytes; GCM's standard 12-byte nonce, fresh for every write.
const KEY_BYTES = 32;
const IV_BYTES = 12;
const FORMAT = 'postbote-oauth-token/1';

export interface StoredToken {
  refreshToken: string;
  /** ms since the epoch, for the log and `check`. */
  obtainedAt: number;
  scope?: string;
}

export type KeySource = { keyFile: string } | { keyEnv: string };

/** The 32-byte key, written as 64 hex digits or base64 (`openssl rand -base64 32`). */
export function loadKey(source: KeySource, env: NodeJS.ProcessEnv = process.env): Buffer {
  let text: string | undefined;
  let from: string;
  if ('keyFile' in source) {
    from = `key file ${source.keyFile}`;
    try {
      text = readFileSync(source.keyFile, 'utf8');
    } catch (err) {
      throw keyError(`cannot read the ${from} (${(err as NodeJS.ErrnoException).code ?? err})`, err);
    }
  } else {
    from = `environment variable ${source.keyEnv}`;
    text = env[source.keyEnv];
    if (text === undefined || text === '') throw keyError(`the ${from} is not set`);
  }
  const key = parseKey(text.trim());
  if (!key) throw keyError(`the ${from} holds no 32-byte key (64 hex digits or base64)`);
  return key;
}

export function parseKey(text: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(text)) {
    const key = Buffer.from(text, 'base64');
    if (key.length === KEY_BYTES) return key;
  }
  return undefined;
}

function keyError(message: string, cause?: unknown): PostboteError {
  return new PostboteError('OAUTH_NOT_LOGGED_IN', message, {
    temporary: false,
    hint: 'create one with `openssl rand -base64 32 > FILE` (mode 0600) and name it in oauth2.keyFile, or set oauth2.keyEnv',
    ...(cause === undefined ? {} : { cause }),
  });
}

export function encryptToken(token: StoredToken, key: Buffer, mailbox: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(mailbox, 'utf8'));
  const data = Buffer.concat([cipher.update(JSON.stringify(token), 'utf8'), cipher.final()]);
  return `${JSON.stringify({
    format: FORMAT,
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  })}\n`;
}

/** Throws OAUTH_NOT_LOGGED_IN for a wrong key, a file of another mailbox, or a damaged file. */
export function decryptToken(text: string, key: Buffer, mailbox: string): StoredToken {
  const refuse = (why: string, cause?: unknown) =>
    new PostboteError(
      'OAUTH_NOT_LOGGED_IN',
      `the stored sign-in of mailbox ${mailbox} cannot be read: ${why}`,
      {
        temporary: false,
        hint: `was the key changed? Restore the key, or run \`postbote oauth login --mailbox ${mailbox}\` again`,
        ...(cause === undefined ? {} : { cause }),
      },
    );
  let parsed: { format?: unknown; iv?: unknown; tag?: unknown; data?: unknown };
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw refuse('not a token file', err);
  }
  if (
    parsed.format !== FORMAT ||
    typeof parsed.iv !== 'string' ||
    typeof parsed.tag !== 'string' ||
    typeof parsed.data !== 'string'
  ) {
    throw refuse('not a token file');
  }
  let plain: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(parsed.iv, 'base64'));
    decipher.setAAD(Buffer.from(mailbox, 'utf8'));
    decipher.setAuthTag(Buffer.from(parsed.tag, 'base64'));
    plain = Buffer.concat([decipher.update(Buffer.from(parsed.data, 'base64')), decipher.final()]).toString(
      'utf8',
    );
  } catch (err) {
    throw refuse('wrong key, or the file belongs to another mailbox or was altered', err);
  }
  const token = JSON.parse(plain) as StoredToken;
  if (typeof token.refreshToken !== 'string' || token.refreshToken === '')
    throw refuse('no refresh token inside');
  return token;
}

export class TokenStore {
  constructor(
    readonly file: string,
    private readonly key: Buffer,
    private readonly mailbox: string,
  ) {}

  read(): StoredToken {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new PostboteError('OAUTH_NOT_LOGGED_IN', `mailbox ${this.mailbox} has not been signed in yet`, {
          temporary: false,
          hint: `run \`postbote oauth login --mailbox ${this.mailbox}\` once (as the service's user)`,
        });
      }
      throw err;
    }
    return decryptToken(text, this.key, this.mailbox);
  }

  /** Written to a temporary file (0600 from its creation) and renamed: a crash leaves the old token or the new one. */
  write(token: StoredToken): void {
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const temp = `${this.file}.tmp`;
    writeFileSync(temp, encryptToken(token, this.key, this.mailbox), { mode: 0o600 });
    // mode applies only when the file is created; a leftover temp file keeps its own.
    chmodSync(temp, 0o600);
    renameSync(temp, this.file);
  }
}
