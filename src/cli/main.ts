#!/usr/bin/env node
// The `postbote` command: run (the service), fetch (one pass), check (prove the path), demo.
import { Command, Option } from 'commander';
import { checkCommand } from './check.js';
import { demoCommand } from './demo.js';
import { exchangeConnectorCommand } from './exchange-connector.js';
import { fail } from './exit.js';
import { fetchCommand } from './fetch.js';
import { hashPasswordCommand } from './hash-password.js';
import { routeCommand } from './route.js';
import { runCommand } from './run.js';

const program = new Command('postbote')
  .description('Fetches provider mailboxes (POP3) and delivers them by SMTP/LMTP to your mail server.')
  .version('0.1.0')
  // -V/--version count only before a subcommand, so `exchange-connector --version 2010` is its own option.
  .enablePositionalOptions();

const configOption = () =>
  new Option('-c, --config <file>', 'configuration file').default('postbote.yaml').env('POSTBOTE_CONFIG');

program
  .command('run')
  .description('run the service: poll every mailbox on its interval until SIGTERM')
  .addOption(configOption())
  .action((o) => runCommand(o).catch(fail));

program
  .command('fetch')
  .description(
    'one pass over the mailboxes (deferred mail is retried now), then exit; 0 only if all went through',
  )
  .addOption(configOption())
  .option('-m, --mailbox <name...>', 'only these mailboxes')
  .option('--json', 'print a machine-readable summary')
  .action((o) => fetchCommand(o).catch(fail));

program
  .command('route')
  .description('show where each message on the server would go and why (reads headers only, deletes nothing)')
  .addOption(configOption())
  .requiredOption('-m, --mailbox <name>', 'the mailbox to preview')
  .option('--json', 'print a machine-readable list')
  .action((o) => routeCommand(o).catch(fail));

program
  .command('check')
  .description('connect and log in to every mailbox and the target, and say what fails and how to fix it')
  .addOption(configOption())
  .option('--json', 'print a machine-readable report')
  .action((o) => checkCommand(o).catch(fail));

program
  .command('demo')
  .description('run the whole flow on this machine: a sample POP3 mailbox, Postbote, and a local SMTP server')
  .option('-d, --dir <folder>', 'where the demo writes its state and the delivered mail', 'postbote-demo')
  .option('--web', 'then keep running with the web admin on 127.0.0.1:8025 (one-time password printed)')
  .action((o) => demoCommand(o).catch(fail));

program
  .command('exchange-connector')
  .description('print the Exchange Management Shell commands for Postbote’s dedicated receive connector')
  .addOption(configOption())
  .option('--lang <lang>', 'language of the explanations: en or de', 'en')
  .option('--version <version>', 'Exchange version: 2010, or 2013 for 2013/2016/2019', '2013')
  .action((o) => exchangeConnectorCommand(o).catch(fail));

program
  .command('hash-password')
  .description(
    'print the argon2id hash of a password (read from the terminal or stdin) for the configuration',
  )
  .action(() => hashPasswordCommand().catch(fail));

program.parseAsync(process.argv).catch(fail);
