// `skerry channels …`: the booking channels' reservation queues and resyncs.
import { Command } from 'commander';
import { call, callFeature, CliError, EXIT, type GlobalOptions } from '../http';
import { cell, keyValues, positiveInt, print, progress, sleep, table } from '../output';
import { icalCommand } from './ical';

const CHANNELS = ['booking_com', 'airbnb', 'channex'];

export function channelsCommand(globals: () => GlobalOptions): Command {
  const channels = new Command('channels').description('booking channels (Booking.com, Airbnb, Channex): reservation queues, resyncs and health');

  channels
    .command('status')
    .description('unacknowledged reservation messages and recent resyncs per channel')
    .argument('[channels...]', `channels to show (default: ${CHANNELS.join(', ')})`)
    .action(async (names: string[]) => {
      const opts = globals();
      const wanted = names.length ? names : CHANNELS;
      const statuses: Array<{ channel: string; poll: { polls?: number; lastPollAt?: string; lastError?: string } | null; unacked: unknown[]; oldestUnackedAgeMs: number; lastResync: Record<string, unknown> | null }> = [];
      for (const channel of wanted) {
        const queue = await callFeature<{ poll: { polls?: number; lastPollAt?: string; lastError?: string } | null; unacked: unknown[]; oldestUnackedAgeMs: number }>(
          opts,
          'The channel manager',
          'GET',
          `/channels/${encodeURIComponent(channel)}/queue`,
        );
        const { runs } = await callFeature<{ runs: Array<Record<string, unknown>> }>(opts, 'The channel manager', 'GET', `/channels/${encodeURIComponent(channel)}/resyncs`);
        statuses.push({ channel, ...queue, lastResync: runs[0] ?? null });
      }
      print(opts, statuses, () =>
        table(
          statuses.map((s) => ({
            channel: s.channel,
            unacked: s.unacked.length,
            'oldest unacked': s.unacked.length ? `${Math.round(s.oldestUnackedAgeMs / 1000)}s` : '',
            polls: s.poll?.polls ?? '',
            'last poll': s.poll?.lastPollAt ?? '',
            'poll error': s.poll?.lastError ?? '',
            'last resync': s.lastResync ? `${cell(s.lastResync.status)} ${cell(s.lastResync.startedAt)}` : '',
          })),
        ),
      );
    });

  channels
    .command('resync')
    .description('push the full calendar and re-read reservations for a channel (POST /channels/:channel/resync)')
    .argument('<channel>', CHANNELS.join(' or '))
    .option('--horizon-days <n>', 'days ahead to push', positiveInt('--horizon-days'))
    .option('--wait', 'follow the resync until it finishes, with progress')
    .option('--timeout <seconds>', 'how long --wait waits', positiveInt('--timeout'), 600)
    .action(async (channel: string, options) => {
      const opts = globals();
      const body = options.horizonDays ? { horizonDays: options.horizonDays } : {};
      const started = await callFeature<{ workflowId: string }>(opts, 'The channel manager', 'POST', `/channels/${encodeURIComponent(channel)}/resync`, body);
      if (!options.wait) {
        print(opts, started, () => `resync started: ${started.workflowId}\nfollow it with: skerry channels resync ${channel} --wait, or in the Temporal Web UI`);
        return;
      }
      const bar = progress(opts, `resync ${channel}`);
      const deadline = Date.now() + options.timeout * 1000;
      try {
        for (;;) {
          const state = await call<{ status: string; progress: { unitsDone?: string[]; pages?: number }; error?: string }>(
            opts,
            'GET',
            `/channels/${encodeURIComponent(channel)}/resync/${encodeURIComponent(started.workflowId)}`,
          );
          bar.update(state.progress?.unitsDone?.length ?? 0, state.progress?.unitsDone?.length ?? 0, `units, ${state.progress?.pages ?? 0} pages`);
          if (state.status !== 'running') {
            bar.stop();
            print(opts, { workflowId: started.workflowId, ...state }, () => keyValues({ workflow: started.workflowId, status: state.status, ...state.progress, error: state.error }));
            if (state.status === 'failed') throw new CliError(`resync failed: ${state.error ?? 'unknown error'}`, EXIT.server);
            return;
          }
          if (Date.now() > deadline) throw new CliError(`resync still running after ${options.timeout}s: ${started.workflowId}`, EXIT.unavailable);
          await sleep(1000);
        }
      } finally {
        bar.stop();
      }
    });
  channels
    .command('health')
    .description('what Channex reported (unmapped rooms and rates, sync errors) and its unacknowledged revisions (GET /channels/channex/health)')
    .action(async () => {
      const opts = globals();
      const health = await callFeature<{ healthy: boolean; events: Record<string, number>; unacknowledged: { count: number; overdue: number; oldestAgeMs: number }; poll: { lastError: string | null } | null }>(
        opts,
        'The channel manager',
        'GET',
        '/channels/channex/health',
      );
      print(opts, health, () =>
        keyValues({
          healthy: health.healthy,
          ...health.events,
          unacknowledged: health.unacknowledged.count,
          'past 30 min': health.unacknowledged.overdue,
          'oldest unacknowledged': health.unacknowledged.count ? `${Math.round(health.unacknowledged.oldestAgeMs / 1000)}s` : '',
          'poll error': health.poll?.lastError ?? '',
        }),
      );
      // As `skerry doctor` does for a failed check: 3, something to act on.
      if (!health.healthy) throw new CliError('Channex is not healthy (see above)', EXIT.unavailable);
    });

  channels.addCommand(icalCommand(globals));
  return channels;
}
