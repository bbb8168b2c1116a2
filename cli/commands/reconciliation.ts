// `skerry reconciliation …`: compare the ledger with the providers, and read the reports.
import { Command } from 'commander';
import { call, callFeature, CliError, EXIT, type GlobalOptions } from '../http';
import { cell, day, keyValues, positiveInt, print, progress, sleep, table } from '../output';

export function reconciliationCommand(globals: () => GlobalOptions): Command {
  const reconciliation = new Command('reconciliation').description('compare the ledger with the providers');
  const feature = 'Reconciliation';

  reconciliation
    .command('run')
    .description('reconcile a provider for a day or a period (POST /reconciliations)')
    .requiredOption('--provider <provider>', 'stripe, paypal, swish or mobilepay')
    .option('--from <day>', 'first day, YYYY-MM-DD (default: yesterday, UTC)', day)
    .option('--to <day>', 'last day, inclusive (default: --from)', day)
    .option('--wait', 'follow the run until it finishes, with progress')
    .option('--timeout <seconds>', 'how long --wait waits', positiveInt('--timeout'), 600)
    .action(async (options) => {
      const opts = globals();
      const from = options.from ?? new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
      const started = await callFeature<{ id: string; started: boolean; run: unknown }>(opts, feature, 'POST', '/reconciliations', {
        provider: options.provider,
        from,
        ...(options.to ? { to: options.to } : {}),
      });
      if (!options.wait) {
        print(opts, started, () => `reconciliation ${started.started ? 'started' : 'already running'}: ${started.id}\nreport: skerry reconciliation report ${started.id}`);
        return;
      }
      const bar = progress(opts, `reconciling ${options.provider}`);
      const deadline = Date.now() + options.timeout * 1000;
      try {
        for (;;) {
          const run = await call<Record<string, unknown> & { status?: string }>(opts, 'GET', `/reconciliations/${encodeURIComponent(started.id)}`);
          bar.update(0, 0, `${cell(run.status)} ${cell(run.phase)}`);
          if (run.status && run.status !== 'running') {
            bar.stop();
            print(opts, run, () => keyValues(run));
            return;
          }
          if (Date.now() > deadline) throw new CliError(`reconciliation still running after ${options.timeout}s: ${started.id}`, EXIT.unavailable);
          await sleep(1000);
        }
      } finally {
        bar.stop();
      }
    });

  reconciliation
    .command('report')
    .description("a run's discrepancies (GET /reconciliations/:id/report); without an id, the recent runs")
    .argument('[runId]', 'reconciliation-<provider>-<YYYY-MM-DD>')
    .action(async (runId: string | undefined) => {
      const opts = globals();
      if (!runId) {
        const { runs } = await callFeature<{ runs: Array<Record<string, unknown>> }>(opts, feature, 'GET', '/reconciliations');
        print(opts, runs, () => (runs.length ? table(runs) : 'no reconciliation runs yet'));
        return;
      }
      const report = await callFeature<Record<string, unknown> & { discrepancies?: Array<Record<string, unknown>> }>(
        opts,
        feature,
        'GET',
        `/reconciliations/${encodeURIComponent(runId)}/report`,
      );
      print(opts, report, () => {
        const { discrepancies = [], ...rest } = report;
        return [keyValues(rest), discrepancies.length ? table(discrepancies) : 'no discrepancies'].join('\n');
      });
    });
  return reconciliation;
}
