#!/usr/bin/env node
// The `postbote` command: run (the service), fetch (one pass), check (prove the path), demo.
// Each command's module is imported when it runs: `fetch` need not load the web server, and a
// short-lived command starts in a fraction of the time and memory.
import { setFlagsFromString } from 'node:v8';
import { Command, Option } from 'commander';
import { fail } from './exit.js';

// The bytes of mail pass through Buffers whose small wrappers, once promoted, free their memory only
// at a full GC, which V8 schedules by the JS heap's growth (up to 4x) and 64 MB of such bytes. Letting
// the heap grow at most 2x before a full GC held the 20 x 250 mixed run's peak RSS at 153-158 MB
// instead of 190-200 (11 full GCs instead of 4-5, about 0.1 s CPU). Read at each GC, so it takes
// effect here (imports are tiny until a command loads its module), for every start (bin, systemd
// unit, demo), without a wrapper.
setFlagsFromString('--heap-growing-percent=100');

const program = new Command('postbote')
  .description('Fetches provider mailboxes (POP3) and delivers them by SMTP/LMTP to your mail server.')
  .version('0.1.0')
  // -V/--version count only before a subcommand, so `exchange-connector --version 2010` is its own option.
  .enablePositionalOptions();

/** A command's action, its module imported on first use; any failure goes through fail(). */
function lazy<A>(load: () => Promise<(options: A) => Promise<void>>): (options: A) => Promise<void> {
  return async (options) => {
    try {
      await (await load())(options);
    } catch (err) {
      fail(err);
    }
  };
}

const configOption = () =>
  new Option('-c, --config <file>', 'configuration file').default('postbote.yaml').env('POSTBOTE_CONFIG');

/** Each command's --help ends with examples and what its exit codes mean. */
function help(examples: string[], codes: string): string {
  return `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n\nExit codes: ${codes}\n`;
}
const BESIDE_SERVICE =
  'Beside a running `postbote run` on the same state, the service does the work (control socket <state>/postbote.sock) and this command prints its output.';
const CODES_WORK =
  '0 done, 1 failed (see the message), 2 configuration or usage error, 3 the state was in use by another postbote process';

/** How long to wait for another postbote process working on the same state (then exit 3). */
const waitOption = (fallback: string) =>
  new Option(
    '--wait <duration>',
    'if another postbote process works on the state, wait this long for it (e.g. 30s, 5m), then exit 3',
  ).default(fallback);

program
  .command('run')
  .description('run the service: poll every mailbox on its interval until SIGTERM')
  .addOption(configOption())
  .addOption(waitOption('0'))
  .addHelpText(
    'after',
    help(
      ['postbote run -c /etc/postbote/postbote.yaml', 'systemctl reload postbote   # SIGHUP'],
      '0 stopped cleanly (SIGTERM/SIGINT), 1 failed or a delivery did not finish in time, 2 configuration error, 3 another postbote process works on the state (it is named)',
    ),
  )
  .action(lazy(async () => (await import('./run.js')).runCommand));

program
  .command('fetch')
  .description(
    'one pass over the mailboxes (deferred mail is retried now), then exit; 0 only if all went through',
  )
  .addOption(configOption())
  .option('-m, --mailbox <name...>', 'only these mailboxes')
  .option('--json', 'print a machine-readable summary')
  .addOption(waitOption('30s'))
  .addHelpText(
    'after',
    `${help(
      ['postbote fetch -c postbote.yaml', 'postbote fetch -c postbote.yaml -m info --json'],
      '0 every mailbox went through and nothing waits, 1 a mailbox failed or mail is deferred, 2 configuration or usage error, 3 the state was still in use after --wait',
    )}\n${BESIDE_SERVICE}\n`,
  )
  .action(lazy(async () => (await import('./fetch.js')).fetchCommand));

program
  .command('route')
  .description('show where each message on the server would go and why (reads headers only, deletes nothing)')
  .addOption(configOption())
  .option('-m, --mailbox <name>', 'the mailbox to preview (without it, the mailboxes are listed)')
  .option('--json', 'print a machine-readable list')
  .addOption(waitOption('30s'))
  .addHelpText(
    'after',
    `${help(['postbote route -c postbote.yaml -m catchall'], CODES_WORK)}\n${BESIDE_SERVICE}\n`,
  )
  .action(lazy(async () => (await import('./route.js')).routeCommand));

type QueueAction = import('./queue.js').QueueAction;
type QueueOptions = import('./queue.js').QueueOptions;
const queueAction = (action: QueueAction) =>
  lazy<[string | undefined, QueueOptions]>(async () => {
    const { queueCommand } = await import('./queue.js');
    return ([id, o]) => queueCommand(action, id, o);
  });
const queueCodes =
  '0 done, 1 the message is not there or not in a state this works for, 2 usage error, 3 the state was in use after --wait';
const queue = program
  .command('queue')
  .description('list what waits (deferred) or was set aside (quarantined): why, since when, next attempt')
  .addOption(configOption())
  .option('--state <state>', 'only deferred or only quarantined mail')
  .option('--json', 'print a machine-readable list')
  .addOption(waitOption('30s'))
  .addHelpText(
    'after',
    `${help(
      [
        'postbote queue -c postbote.yaml',
        'postbote queue -c postbote.yaml --state quarantined --json',
        'postbote queue show 42',
        'postbote queue release 42 --to postmaster@corp.local',
      ],
      queueCodes,
    )}\n${BESIDE_SERVICE}\n`,
  )
  .action(
    lazy<QueueOptions>(async () => {
      const { queueCommand } = await import('./queue.js');
      return (o) => queueCommand('list', undefined, o);
    }),
  );
const queueSub = (name: string, description: string, example: string) =>
  queue
    .command(name)
    .description(description)
    .addOption(configOption())
    .addOption(waitOption('30s'))
    .addHelpText('after', help([example], queueCodes));
queueSub(
  'show <id>',
  'headers, routing reason and every attempt with the target’s words',
  'postbote queue show 42',
)
  .option('--json', 'print the record, its attempts and headers as JSON')
  .action((id: string, o: QueueOptions) => queueAction('show')([id, o]));
queueSub(
  'retry [id]',
  'deliver a deferred message now instead of after its backoff',
  'postbote queue retry --all',
)
  .option('--all', 'every deferred message')
  .action((id: string | undefined, o: QueueOptions) => queueAction('retry')([id, o]));
queueSub(
  'release <id>',
  'deliver a quarantined or deferred message to its recipient, or to --to',
  'postbote queue release 42 --to alice@corp.local',
)
  .option('--to <address>', 'deliver to this address instead')
  .action((id: string, o: QueueOptions) => queueAction('release')([id, o]));
queueSub(
  'delete <id>',
  'discard a quarantined or deferred message (asks first)',
  'postbote queue delete 42 --yes',
)
  .option('-y, --yes', 'do not ask')
  .action((id: string, o: QueueOptions) => queueAction('delete')([id, o]));
queueSub(
  'export <id>',
  'write the message’s bytes to stdout',
  'postbote queue export 42 > message.eml',
).action((id: string, o: QueueOptions) => queueAction('export')([id, o]));

program
  .command('backup <dir>')
  .description(
    'copy the store and its spool files, consistently, into a new folder (see README: backup and restore)',
  )
  .addOption(configOption())
  .addOption(waitOption('30s'))
  .addHelpText(
    'after',
    `${help(['postbote backup -c /etc/postbote/postbote.yaml /var/backups/postbote/$(date +%F)'], CODES_WORK)}\n${BESIDE_SERVICE}\n`,
  )
  .action((dir: string, o: { config: string; wait?: string }) =>
    lazy<[string, { config: string; wait?: string }]>(async () => {
      const { backupCommand } = await import('./backup.js');
      return ([d, opts]) => backupCommand(d, opts);
    })([dir, o]),
  );

program
  .command('check')
  .description('connect and log in to every mailbox and the target, and say what fails and how to fix it')
  .addOption(configOption())
  .option('--json', 'print a machine-readable report')
  .addHelpText(
    'after',
    help(
      ['postbote check -c postbote.yaml', 'postbote check -c postbote.yaml --json'],
      '0 every check passed, 1 a check failed (each says what to fix), 2 configuration error',
    ),
  )
  .action(lazy(async () => (await import('./check.js')).checkCommand));

program
  .command('migrate')
  .description(
    'create or upgrade the store (folder or PostgreSQL) to this version’s schema; safe while PostgreSQL instances run',
  )
  .addOption(configOption())
  .option('--json', 'print from, to and the latest version as JSON')
  .addOption(waitOption('0'))
  .addHelpText(
    'after',
    help(
      ['postbote migrate -c /etc/postbote/postbote.yaml'],
      '0 the schema is this version’s (migrated, or already), 1 failed (a store newer than this Postbote: upgrade it), 2 configuration error, 3 a folder state is in use by a running postbote (stop it first)',
    ),
  )
  .action(lazy(async () => (await import('./migrate.js')).migrateCommand));

program
  .command('oauth')
  .description('OAuth2 sign-in for mailboxes with auth: oauth2 (Microsoft 365, Google)')
  .command('login')
  .description('sign a mailbox in (device code: open the address shown, enter the code) and store its token')
  .addOption(configOption())
  .option('-m, --mailbox <name>', 'the mailbox to sign in')
  .addHelpText(
    'after',
    help(
      ['sudo -u postbote postbote oauth login -c /etc/postbote/postbote.yaml --mailbox office'],
      '0 signed in and stored, 1 the sign-in failed, was declined or expired, 2 configuration or usage error',
    ),
  )
  .action(lazy(async () => (await import('./oauth.js')).oauthLoginCommand));

program
  .command('demo')
  .description('run the whole flow on this machine: a sample POP3 mailbox, Postbote, and a local SMTP server')
  .option('-d, --dir <folder>', 'where the demo writes its state and the delivered mail', 'postbote-demo')
  .option('--web', 'then keep running with the web admin on 127.0.0.1:8025 (one-time password printed)')
  .addHelpText(
    'after',
    help(['postbote demo', 'postbote demo --web'], '0 the demo mail arrived, 1 it did not'),
  )
  .action(lazy(async () => (await import('./demo.js')).demoCommand));

program
  .command('exchange-connector')
  .description('print the Exchange Management Shell commands for Postbote’s dedicated receive connector')
  .addOption(configOption())
  .option('--lang <lang>', 'language of the explanations: en or de', 'en')
  .option('--version <version>', 'Exchange version: 2010, or 2013 for 2013/2016/2019', '2013')
  .addHelpText(
    'after',
    help(
      ['postbote exchange-connector -c postbote.yaml --lang de > connector.ps1'],
      '0 printed, 2 configuration error',
    ),
  )
  .action(lazy(async () => (await import('./exchange-connector.js')).exchangeConnectorCommand));

program
  .command('hash-password')
  .description(
    'print the argon2id hash of a password (read from the terminal or stdin) for the configuration',
  )
  .addHelpText(
    'after',
    help(
      ['postbote hash-password', "printf %s 'secret' | postbote hash-password"],
      '0 printed, 2 no password given',
    ),
  )
  .action(lazy(async () => (await import('./hash-password.js')).hashPasswordCommand));

program.parseAsync(process.argv).catch(fail);
