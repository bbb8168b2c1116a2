// `npx skerry …`: the operator's CLI. Everything but `keys`, `doctor` and `mobilepay` talks only to the admin API (--api or
// SKERRY_API_URL, with the key in SKERRY_API_KEY or --api-key), so it works the same against
// `npm start`, a staging box or production, and needs no database or Temporal credentials. `keys`
// works on the database itself: it makes the first key. `doctor` and `mobilepay webhooks` use the
// application's own configuration and the providers directly (the latter stores the webhook secret
// in the database). Tables by default, --json for scripts, and exit codes scripts rely on.
import { Command, CommanderError } from 'commander';
import { CliError, EXIT, EXIT_HELP, type GlobalOptions } from './http';
import { paymentsCommand } from './commands/payments';
import { webhooksCommand } from './commands/webhooks';
import { providersCommand } from './commands/providers';
import { channelsCommand } from './commands/channels';
import { reconciliationCommand } from './commands/reconciliation';
import { keysCommand } from './commands/keys';
import { doctorCommand } from './commands/doctor';
import { mobilepayCommand } from './commands/mobilepay';

export { EXIT } from './http';

export function buildProgram(env: NodeJS.ProcessEnv = process.env): Command {
  const program = new Command('skerry')
    .description("Skerry's operations CLI: payments, the webhook inbox, providers, channels, reconciliation and API keys")
    .option('--api <url>', 'admin API base URL', env.SKERRY_API_URL ?? 'http://127.0.0.1:3000')
    .option('--api-key <key>', 'API key (default: SKERRY_API_KEY)', env.SKERRY_API_KEY || undefined)
    .option('--json', 'machine-readable JSON on stdout instead of tables', false)
    .addHelpText('after', EXIT_HELP)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const globals = () => program.opts<GlobalOptions>();
  const commands = [
    paymentsCommand(globals),
    webhooksCommand(globals),
    providersCommand(globals),
    channelsCommand(globals),
    reconciliationCommand(globals),
    keysCommand(globals, env),
    doctorCommand(globals, env),
    mobilepayCommand(globals, env),
  ];
  const exitOverrides = (command: Command): void => {
    for (const sub of command.commands) {
      sub.exitOverride();
      exitOverrides(sub);
    }
  };
  for (const command of commands) {
    command.addHelpText('after', EXIT_HELP).exitOverride();
    exitOverrides(command);
    program.addCommand(command);
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; everything else commander refuses is a usage error.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof CliError) {
      process.stderr.write(`skerry: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`skerry: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.server;
  }
}

process.exitCode = await main(process.argv.slice(2));
