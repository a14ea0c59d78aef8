#!/usr/bin/env node
// The `postbote` command: run (the service), fetch (one pass), check (prove the path), demo.
// Each command's module is imported when it runs: `fetch` need not load the web server, and a
// short-lived command starts in a fraction of the time and memory.
import { Command, Option } from 'commander';
import { fail } from './exit.js';

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
  .action(lazy(async () => (await import('./fetch.js')).fetchCommand));

program
  .command('route')
  .description('show where each message on the server would go and why (reads headers only, deletes nothing)')
  .addOption(configOption())
  .option('-m, --mailbox <name>', 'the mailbox to preview (without it, the mailboxes are listed)')
  .option('--json', 'print a machine-readable list')
  .addOption(waitOption('30s'))
  .action(lazy(async () => (await import('./route.js')).routeCommand));

program
  .command('check')
  .description('connect and log in to every mailbox and the target, and say what fails and how to fix it')
  .addOption(configOption())
  .option('--json', 'print a machine-readable report')
  .action(lazy(async () => (await import('./check.js')).checkCommand));

program
  .command('demo')
  .description('run the whole flow on this machine: a sample POP3 mailbox, Postbote, and a local SMTP server')
  .option('-d, --dir <folder>', 'where the demo writes its state and the delivered mail', 'postbote-demo')
  .option('--web', 'then keep running with the web admin on 127.0.0.1:8025 (one-time password printed)')
  .action(lazy(async () => (await import('./demo.js')).demoCommand));

program
  .command('exchange-connector')
  .description('print the Exchange Management Shell commands for Postbote’s dedicated receive connector')
  .addOption(configOption())
  .option('--lang <lang>', 'language of the explanations: en or de', 'en')
  .option('--version <version>', 'Exchange version: 2010, or 2013 for 2013/2016/2019', '2013')
  .action(lazy(async () => (await import('./exchange-connector.js')).exchangeConnectorCommand));

program
  .command('hash-password')
  .description(
    'print the argon2id hash of a password (read from the terminal or stdin) for the configuration',
  )
  .action(lazy(async () => (await import('./hash-password.js')).hashPasswordCommand));

program.parseAsync(process.argv).catch(fail);
