// `postbote exchange-connector`: the printed Exchange Management Shell script against snapshots (2013+
// English, 2010 German, with AUTH), plus assertions that each cmdlet parameter carries the config's value.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { exchangeScript, formatSize, psQuote } from '../../src/exchange/powershell.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { ROOT, runCli, writeConfig } from './helpers.js';

const FIXTURES = join(ROOT, 'test/fixtures/exchange');
// UPDATE_SNAPSHOTS=1 rewrites the files; review the diff before committing it.
const UPDATE = process.env.UPDATE_SNAPSHOTS === '1';

const BASE = `state: ./data
target:
  host: exchange.corp.local
  port: 2526
  localAddress: 192.168.1.10
  tls: starttls
  helo: postbote.corp.local
delivery: { maxMessageSize: 50MB }
mailboxes:
  - name: info
    host: pop.provider.example
    user: info@example.com
    password: x
    deliverTo: [info@corp.local, sales@corp.local]
    fallback: postmaster@corp.local
  - name: catchall
    host: pop.provider.example
    user: catchall@example.com
    password: y
    catchAll: { domains: [example.com], rewriteDomain: corp.local, fallback: postmaster@corp.local }
  - name: partner
    host: pop.provider.example
    user: p@example.org
    password: z
    deliverTo: [team@partner.example]
`;
const WITH_AUTH = BASE.replace(
  '  helo: postbote.corp.local\n',
  '  helo: postbote.corp.local\n  auth: { user: CORP\\postbote, password: pw }\n',
);

function snapshot(name: string, actual: string): void {
  const file = join(FIXTURES, name);
  if (UPDATE) writeFileSync(file, actual);
  assert.equal(actual, readFileSync(file, 'utf8'), `${name} differs (UPDATE_SNAPSHOTS=1 to accept)`);
}

/** The parameters of the New-ReceiveConnector line, as PowerShell would bind them. */
function cmdletParameters(script: string): Map<string, string> {
  const line = script.split('\n').find((l) => l.startsWith('New-ReceiveConnector '));
  assert.ok(line, 'no New-ReceiveConnector line');
  const params = new Map<string, string>();
  for (const m of line.matchAll(/-(\w+)(?: ('(?:[^']|'')*'|[^\s-][^\s]*))?/g)) params.set(m[1]!, m[2] ?? '');
  return params;
}

describe('postbote exchange-connector', () => {
  let tmp: TempDir;
  let file: string;
  let authFile: string;

  before(async () => {
    tmp = await makeTempDir('postbote-exchange-');
    file = await writeConfig(tmp.path, BASE);
    authFile = join(tmp.path, 'auth.yaml');
    writeFileSync(authFile, WITH_AUTH);
  });
  after(async () => {
    await tmp?.remove();
  });

  const run = async (args: string[], config: string) => {
    const r = await runCli(['exchange-connector', '-c', config, ...args]);
    return { ...r, stdout: r.stdout.split(config).join('postbote.yaml') };
  };

  test('Exchange 2013+ (default), English: snapshot and parameters from the configuration', async () => {
    const r = await run([], file);
    assert.equal(r.code, 0, r.stderr);
    snapshot('2013-en.ps1', r.stdout);
    const p = cmdletParameters(r.stdout);
    assert.equal(p.get('Name'), psQuote('Postbote from 192.168.1.10'));
    assert.equal(p.get('Bindings'), '0.0.0.0:2526');
    assert.equal(p.get('RemoteIPRanges'), '192.168.1.10');
    assert.equal(p.get('PermissionGroups'), 'AnonymousUsers');
    assert.equal(p.get('AuthMechanism'), 'Tls');
    assert.equal(p.get('MaxMessageSize'), '50MB');
    assert.equal(p.get('TransportRole'), 'FrontendTransport');
    assert.equal(p.get('Custom'), '');
    assert.equal(p.has('Usage'), false);
    assert.match(r.stdout, /foreach \(\$d in @\('corp\.local', 'partner\.example'\)\)/);
    assert.match(r.stdout, /ms-Exch-SMTP-Accept-Authoritative-Domain-Sender/);
    assert.match(
      r.stdout,
      /^# Get-ReceiveConnector .*ms-Exch-SMTP-Accept-Any-Recipient$/m,
      'relay only as a commented option',
    );
    assert.match(r.stdout, /postbote check -c postbote\.yaml/);
    // Every step has its one-sentence explanation right above the command.
    for (const n of [1, 2, 3, 4, 5, 6, 7]) assert.match(r.stdout, new RegExp(`^# ${n}\\. \\S.*\\.$`, 'm'));
  });

  test('Exchange 2010 in German: -Usage Custom, no TransportRole, German explanations', async () => {
    const r = await run(['--version', '2010', '--lang', 'de'], file);
    assert.equal(r.code, 0, r.stderr);
    snapshot('2010-de.ps1', r.stdout);
    const p = cmdletParameters(r.stdout);
    assert.equal(p.get('Usage'), 'Custom');
    assert.equal(p.has('TransportRole'), false);
    assert.equal(p.has('Custom'), false);
    assert.match(r.stdout, /Legt einen eigenen Empfangsconnector auf Port 2526 an/);
    assert.match(
      r.stdout,
      /^netsh advfirewall firewall add rule .* localport=2526 remoteip=192\.168\.1\.10$/m,
    );
  });

  test('with target.auth: ExchangeUsers, BasicAuth only over TLS, the account may send as others', async () => {
    const r = await run([], authFile);
    assert.equal(r.code, 0, r.stderr);
    snapshot('2013-en-auth.ps1', r.stdout);
    const p = cmdletParameters(r.stdout);
    assert.equal(p.get('PermissionGroups'), 'ExchangeUsers');
    assert.equal(p.get('AuthMechanism'), 'Tls,BasicAuth,BasicAuthRequireTLS');
    assert.match(
      r.stdout,
      /Add-ADPermission -User 'CORP\\postbote' -ExtendedRights ms-Exch-SMTP-Accept-Any-Sender/,
    );
    assert.doesNotMatch(r.stdout, /pw/);
  });

  test('without target.localAddress it refuses, saying to set it (exit 2)', async () => {
    const noLocal = join(tmp.path, 'nolocal.yaml');
    writeFileSync(noLocal, BASE.replace('  localAddress: 192.168.1.10\n', ''));
    const r = await run([], noLocal);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /target\.localAddress is not set .*set target\.localAddress .*locked to that one address/,
    );
  });

  test('plain SMTP, implicit TLS and odd sizes map as Exchange expects', () => {
    const parse = (yaml: string) => parseConfig(yaml, { file: 'x.yaml', baseDir: tmp.path });
    const none = exchangeScript(parse(BASE.replace('tls: starttls', 'tls: none')), {
      lang: 'en',
      version: '2013',
      configFile: 'x.yaml',
    });
    assert.equal(none.parameters.AuthMechanism, 'None');
    assert.throws(
      () =>
        exchangeScript(parse(BASE.replace('tls: starttls', 'tls: tls')), {
          lang: 'en',
          version: '2013',
          configFile: 'x',
        }),
      /implicit TLS/,
    );
    assert.deepEqual(
      [formatSize(36 * 1024 * 1024), formatSize(1536 * 1024), formatSize(1000)],
      ['36MB', '1536KB', '1000B'],
    );
    assert.equal(psQuote("O'Brien"), "'O''Brien'");
  });
});
