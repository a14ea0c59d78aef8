// Builds what a private Dovecot instance needs on disk: its configuration text, the passwd-file,
// the self-signed TLS certificate, and the system user that owns the Maildirs.
import { execFile } from 'node:child_process';
import { cpus } from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** System user owning the test Maildirs: Dovecot refuses mail access as root (uid 0). */
export const MAIL_USER = 'postbote-test';

// useradd fails with exit 10 while another process holds /etc/passwd's lock (parallel test files).
const USERADD_ATTEMPTS = 20;

export interface DovecotPorts {
  pop3: number;
  pop3s: number;
  imap: number;
  imaps: number;
  lmtp: number;
}

export interface ConfigParams {
  dir: string;
  instanceName: string;
  ports: DovecotPorts;
  uid: number;
  gid: number;
  /**
   * Login processes: 'secure' (Dovecot's default, a new process per connection) or 'performance' (a
   * few long-lived ones per core, as busy providers run them; TLS session tickets then resume).
   */
  loginMode?: 'secure' | 'performance';
  /** Adds the oauth2 passdb (XOAUTH2, OAUTHBEARER) asking this RFC 7662 introspection endpoint. */
  oauth2?: { introspectionUrl: string };
}

/** Paths of the files inside one instance's directory, in one place so config and harness agree. */
export function instancePaths(dir: string) {
  return {
    config: `${dir}/dovecot.conf`,
    baseDir: `${dir}/run`,
    stateDir: `${dir}/state`,
    log: `${dir}/dovecot.log`,
    passwd: `${dir}/passwd`,
    oauth2: `${dir}/dovecot-oauth2.conf.ext`,
    cert: `${dir}/cert.pem`,
    key: `${dir}/key.pem`,
    homes: `${dir}/home`,
    pidFile: `${dir}/run/master.pid`,
  };
}

export function renderConfig(p: ConfigParams): string {
  const f = instancePaths(p.dir);
  return `# Private Dovecot instance for Postbote's tests; generated, deleted on stop.
instance_name = ${p.instanceName}
base_dir = ${f.baseDir}
state_dir = ${f.stateDir}
log_path = ${f.log}
info_log_path = ${f.log}
protocols = pop3 imap lmtp
listen = 127.0.0.1
shutdown_clients = yes
# No stats process: its clients wait 5 s for a handshake at shutdown, which would make stop() slow.
stats_writer_socket_path =

ssl = yes
ssl_cert = <${f.cert}
ssl_key = <${f.key}
disable_plaintext_auth = no
auth_mechanisms = plain login${p.oauth2 ? ' xoauth2 oauthbearer' : ''}
auth_verbose = yes

default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = ${p.uid}
last_valid_uid = ${p.uid}
first_valid_gid = ${p.gid}
last_valid_gid = ${p.gid}
mail_uid = ${p.uid}
mail_gid = ${p.gid}
mail_home = ${f.homes}/%n
mail_location = maildir:~/Maildir

pop3_uidl_format = %08Xu%08Xv
pop3_lock_session = yes

# IMAP folders with special-use flags (RFC 6154), as providers announce them; they exist once a test
# creates them (Maildir++: .Sent, .Archive, … next to cur/new/tmp).
namespace inbox {
  inbox = yes
  mailbox Sent {
    special_use = \\Sent
  }
  mailbox Trash {
    special_use = \\Trash
  }
  mailbox Junk {
    special_use = \\Junk
  }
  mailbox Drafts {
    special_use = \\Drafts
  }
  mailbox Archive {
    special_use = \\Archive
  }
}

${
  p.oauth2
    ? `# Tokens are checked by the test's introspection endpoint; passwords still by the passwd-file.
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = ${f.oauth2}
}
`
    : ''
}# %n: the file is keyed by local part, so POP3 logins ("alice") and LMTP recipients
# ("alice@localhost") find the same user.
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n ${f.passwd}
}
userdb {
  driver = passwd-file
  args = username_format=%n ${f.passwd}
}

service pop3-login {
${p.loginMode === 'performance' ? `  service_count = 0\n  process_min_avail = ${Math.max(1, cpus().length)}\n` : ''}  inet_listener pop3 {
    address = 127.0.0.1
    port = ${p.ports.pop3}
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = ${p.ports.pop3s}
    ssl = yes
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${p.ports.imap}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${p.ports.imaps}
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${p.ports.lmtp}
  }
}
`;
}

/** Dovecot 2.3's oauth2 passdb settings: POST the token to the endpoint, trust its active/username. */
export function renderOAuth2(introspectionUrl: string): string {
  return `introspection_mode = post
introspection_url = ${introspectionUrl}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
`;
}

/** passwd-file lines: user:{PLAIN}password with uid, gid and home coming from the global settings. */
export function renderPasswd(users: string[], password: (user: string) => string): string {
  return users.map((u) => `${u}:{PLAIN}${password(u)}::::::\n`).join('');
}

/** A self-signed certificate for localhost and 127.0.0.1 (EC P-256: generated in milliseconds). */
export async function makeCertificate(certPath: string, keyPath: string): Promise<void> {
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '3650',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
}

/** uid and gid of MAIL_USER, creating it (as a system user without a home) when missing. */
export async function ensureMailUser(): Promise<{ uid: number; gid: number }> {
  for (let attempt = 0; attempt < USERADD_ATTEMPTS; attempt++) {
    const existing = await lookupUser(MAIL_USER);
    if (existing) return existing;
    try {
      await run('useradd', [
        '--system',
        '--user-group',
        '--no-create-home',
        '--home-dir',
        '/nonexistent',
        '--shell',
        '/usr/sbin/nologin',
        MAIL_USER,
      ]);
    } catch {
      // Another test file may be creating it at the same moment, or holds the passwd lock.
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`could not create the system user ${MAIL_USER} (useradd failed ${USERADD_ATTEMPTS} times)`);
}

async function lookupUser(name: string): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const { stdout } = await run('getent', ['passwd', name]);
    const fields = stdout.trim().split(':');
    return { uid: Number(fields[2]), gid: Number(fields[3]) };
  } catch {
    return undefined;
  }
}
