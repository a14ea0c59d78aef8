// Second stage after the schema: resolves relative paths against the config file's folder, reads
// passwordFile and ca files, and fills mailbox defaults that come from other sections.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type {
  Config,
  MailboxConfig,
  RawConfig,
  ReceiveConfig,
  ReceiveDeliver,
  TargetConfig,
} from './types.js';

/** A problem found while resolving; load.ts adds the line and column. */
export interface ResolveIssue {
  path: PropertyKey[];
  message: string;
  hint?: string;
}

const POSTGRES_URL = /^postgres(?:ql)?:\/\//i;
const PATH_HINT = 'relative paths are relative to the folder of the configuration file';

export function resolveConfig(raw: RawConfig, baseDir: string): { config: Config; issues: ResolveIssue[] } {
  const issues: ResolveIssue[] = [];

  const readText = (file: string, path: PropertyKey[], what: string): string | undefined => {
    const absolute = resolve(baseDir, file);
    try {
      return readFileSync(absolute, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      issues.push({
        path,
        message: `cannot read ${what} ${absolute} (${code})`,
        hint: `check the path (${PATH_HINT}) and that postbote's user may read the file`,
      });
      return undefined;
    }
  };

  const readPassword = (file: string, path: PropertyKey[]): string => {
    // One trailing newline is what `echo secret > file` and editors add; anything else is the password.
    const password = readText(file, path, 'password file')?.replace(/\r?\n$/, '');
    if (password === '') issues.push({ path, message: `password file ${resolve(baseDir, file)} is empty` });
    return password ?? '';
  };

  const readCa = (file: string, path: PropertyKey[]): string | undefined => {
    const pem = readText(file, path, 'CA file');
    if (pem !== undefined && !pem.includes('-----BEGIN CERTIFICATE-----')) {
      issues.push({
        path,
        message: `CA file ${resolve(baseDir, file)} holds no PEM certificate`,
        hint: 'convert it with: openssl x509 -inform der -in FILE -out FILE.pem',
      });
    }
    return pem;
  };

  const readPem = (file: string, path: PropertyKey[], what: string, label: string): string => {
    const pem = readText(file, path, what) ?? '';
    if (pem !== '' && !pem.includes(label)) {
      issues.push({ path, message: `${what} ${resolve(baseDir, file)} holds no PEM ${label.toLowerCase()}` });
    }
    return pem;
  };

  const { helo, auth, ca, ...targetRest } = raw.target;
  const target: TargetConfig = {
    ...targetRest,
    helo: helo ?? hostname(),
    ...(ca === undefined ? {} : { ca: resolve(baseDir, ca), caPem: readCa(ca, ['target', 'ca']) }),
    ...(auth === undefined
      ? {}
      : {
          auth: {
            user: auth.user,
            password:
              auth.passwordFile === undefined
                ? (auth.password ?? '')
                : readPassword(auth.passwordFile, ['target', 'auth', 'passwordFile']),
            ...(auth.passwordFile === undefined ? {} : { passwordFile: resolve(baseDir, auth.passwordFile) }),
          },
        }),
  };

  const postgres = POSTGRES_URL.test(raw.state);
  // The encrypted refresh tokens live beside the spool: the local folder this instance owns.
  const localState = resolve(baseDir, postgres ? (raw.spool ?? '.') : raw.state);

  const mailboxes = raw.mailboxes.map((mailbox, index): MailboxConfig => {
    const { password, passwordFile, ca: mailboxCa, oauth2, ...rest } = mailbox;
    const at = (key: string) => ['mailboxes', index, key];
    return {
      ...rest,
      ...(oauth2 === undefined
        ? {}
        : {
            oauth2: {
              ...oauth2,
              ...(oauth2.keyFile === undefined ? {} : { keyFile: resolve(baseDir, oauth2.keyFile) }),
              tokenFile: join(localState, 'oauth', `${mailbox.name}.token`),
            },
          }),
      password:
        passwordFile === undefined ? (password ?? '') : readPassword(passwordFile, at('passwordFile')),
      ...(passwordFile === undefined ? {} : { passwordFile: resolve(baseDir, passwordFile) }),
      ...(mailboxCa === undefined
        ? {}
        : { ca: resolve(baseDir, mailboxCa), caPem: readCa(mailboxCa, at('ca')) }),
      deliverTo: mailbox.deliverTo ?? [],
      interval: mailbox.interval ?? raw.scheduler.interval,
      maxMessageSize: mailbox.maxMessageSize ?? raw.delivery.maxMessageSize,
      envelopeSender: mailbox.envelopeSender ?? raw.delivery.envelopeSender,
    };
  });

  const resolveDeliver = (
    deliver: NonNullable<typeof raw.receive>[number]['deliver'],
    caPath: PropertyKey[],
  ): ReceiveDeliver => {
    if (deliver.maildir !== undefined) return { maildir: resolve(baseDir, deliver.maildir) };
    const { ca: hopCa, ...hop } = deliver;
    return hopCa === undefined ? hop : { ...hop, ca: resolve(baseDir, hopCa), caPem: readCa(hopCa, caPath) };
  };

  const receive = raw.receive?.map((listener, index): ReceiveConfig => {
    const { tls, deliver, ...rest } = listener;
    const at = (...keys: string[]) => ['receive', index, 'tls', ...keys];
    return {
      ...rest,
      deliver: resolveDeliver(deliver, ['receive', index, 'deliver', 'ca']),
      ...(tls && {
        tls: {
          cert: resolve(baseDir, tls.cert),
          key: resolve(baseDir, tls.key),
          certPem: readPem(tls.cert, at('cert'), 'certificate file', 'CERTIFICATE'),
          keyPem: readPem(tls.key, at('key'), 'key file', 'PRIVATE KEY'),
          required: tls.required,
        },
      }),
    };
  });

  const { web: rawWeb, receive: _rawReceive, ...rawRest } = raw;
  const web = rawWeb && {
    ...withoutTls(rawWeb),
    ...(rawWeb.tls && {
      tls: {
        cert: resolve(baseDir, rawWeb.tls.cert),
        key: resolve(baseDir, rawWeb.tls.key),
        certPem: readPem(rawWeb.tls.cert, ['web', 'tls', 'cert'], 'certificate file', 'CERTIFICATE'),
        keyPem: readPem(rawWeb.tls.key, ['web', 'tls', 'key'], 'key file', 'PRIVATE KEY'),
      },
    }),
  };

  // The database holds the records; the bytes stay on a local disk (fsync, the crash sweep).
  if (postgres && raw.spool === undefined) {
    issues.push({
      path: ['state'],
      message: 'a postgres:// state needs spool: a local folder for the message bytes',
      hint: 'add e.g. spool: /var/lib/postbote/spool',
    });
  }
  if (!postgres && raw.spool !== undefined) {
    issues.push({
      path: ['spool'],
      message: 'spool: is only for a postgres:// state; a folder state keeps its spool inside it',
      hint: 'remove spool:, or point state: at a postgres:// URL',
    });
  }
  const config: Config = {
    ...rawRest,
    state: postgres ? raw.state : resolve(baseDir, raw.state),
    stateKind: postgres ? 'postgres' : 'sqlite',
    ...(raw.spool === undefined ? {} : { spool: resolve(baseDir, raw.spool) }),
    target,
    mailboxes,
    ...(receive === undefined ? {} : { receive }),
    ...(web === undefined ? {} : { web }),
  };
  return { config, issues };
}

function withoutTls<T extends { tls?: unknown }>(value: T): Omit<T, 'tls'> {
  const { tls: _tls, ...rest } = value;
  return rest;
}
