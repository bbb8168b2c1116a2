// `skerry channels ical …`: a unit's iCal feeds — the URLs OTAs import (made, listed, revoked) and
// the OTAs' feeds Skerry imports (added, listed, synced now) — and the channel's health.
import { Command } from 'commander';
import { callFeature, type GlobalOptions } from '../http';
import { positiveInt, print, table } from '../output';

const FEATURE = 'The iCal channel';
const unitPath = (unitId: string, rest: string) => `/units/${encodeURIComponent(unitId)}/ical/${rest}`;

interface ImportView {
  id: string;
  unitId: string;
  channel: string;
  origin: string;
  state: string;
  lastSuccessAt: string | null;
  lastError: string | null;
  events: number;
}

const importRows = (imports: ImportView[]) =>
  table(imports.map((feed) => ({ feed: feed.id, unit: feed.unitId, ota: feed.channel, from: feed.origin, state: feed.state, events: feed.events, 'last success': feed.lastSuccessAt ?? '', error: feed.lastError ?? '' })));

export function icalCommand(globals: () => GlobalOptions): Command {
  const ical = new Command('ical').description('iCal feeds per unit: the URLs OTAs import, the OTA feeds imported, their health');

  ical
    .command('health')
    .description('every imported feed: ok, pending, error (with its reason) or stale (GET /channels/ical/health)')
    .action(async () => {
      const opts = globals();
      const health = await callFeature<{ healthy: boolean; imports: ImportView[] }>(opts, FEATURE, 'GET', '/channels/ical/health');
      print(opts, health, () => `${health.healthy ? 'healthy' : 'NOT healthy'}\n${importRows(health.imports)}`);
    });

  ical
    .command('export')
    .description('a new feed URL for an OTA to import (shown once; keep it secret)')
    .argument('<unitId>')
    .requiredOption('--ota <name>', 'the OTA that imports it: airbnb, booking_com, vrbo…')
    .action(async (unitId: string, options: { ota: string }) => {
      const opts = globals();
      const created = await callFeature<{ id: string; url: string }>(opts, FEATURE, 'POST', unitPath(unitId, 'exports'), { channel: options.ota });
      print(opts, created, () => `${created.id}\n${created.url}\npaste this URL into ${options.ota}'s calendar import; revoke it with: skerry channels ical revoke ${unitId} ${created.id}`);
    });

  ical
    .command('exports')
    .description("a unit's feed URLs (never their tokens)")
    .argument('<unitId>')
    .action(async (unitId: string) => {
      const opts = globals();
      const { exports } = await callFeature<{ exports: Array<Record<string, unknown>> }>(opts, FEATURE, 'GET', unitPath(unitId, 'exports'));
      print(opts, exports, () => table(exports));
    });

  ical
    .command('revoke')
    .description('revoke a feed URL: it answers 404 from now on')
    .argument('<unitId>')
    .argument('<feedId>')
    .action(async (unitId: string, feedId: string) => {
      const opts = globals();
      const revoked = await callFeature<Record<string, unknown>>(opts, FEATURE, 'POST', unitPath(unitId, `exports/${encodeURIComponent(feedId)}/revoke`), {});
      print(opts, revoked, () => `revoked ${feedId}`);
    });

  ical
    .command('import')
    .description("import an OTA's calendar feed for a unit: its events become reservations")
    .argument('<unitId>')
    .requiredOption('--ota <name>', 'whose calendar it is: airbnb, booking_com, vrbo…')
    .requiredOption('--url <url>', "the OTA's export URL")
    .option('--every <minutes>', 'poll interval in minutes (default 10)', positiveInt('--every'))
    .option('--buffer-days <days>', 'while the feed is stale, the other channels close this many nights from today', positiveInt('--buffer-days'))
    .option('--keep-back <units>', 'while the feed is stale, the other channels sell this many units fewer of each night (1: the last unit)', positiveInt('--keep-back'))
    .action(async (unitId: string, options: { ota: string; url: string; every?: number; bufferDays?: number; keepBack?: number }) => {
      const opts = globals();
      const created = await callFeature<ImportView>(opts, FEATURE, 'POST', unitPath(unitId, 'imports'), {
        channel: options.ota,
        url: options.url,
        ...(options.every ? { intervalMs: options.every * 60_000 } : {}),
        ...(options.bufferDays ? { staleBufferDays: options.bufferDays } : {}),
        ...(options.keepBack ? { staleKeepBackUnits: options.keepBack } : {}),
      });
      print(opts, created, () => importRows([created]));
    });

  ical
    .command('imports')
    .description("a unit's imported feeds and their state")
    .argument('<unitId>')
    .action(async (unitId: string) => {
      const opts = globals();
      const { imports } = await callFeature<{ imports: ImportView[] }>(opts, FEATURE, 'GET', unitPath(unitId, 'imports'));
      print(opts, imports, () => importRows(imports));
    });

  ical
    .command('sync')
    .description('import a feed now')
    .argument('<unitId>')
    .argument('<feedId>')
    .action(async (unitId: string, feedId: string) => {
      const opts = globals();
      const answer = await callFeature<Record<string, unknown>>(opts, FEATURE, 'POST', unitPath(unitId, `imports/${encodeURIComponent(feedId)}/sync`), {});
      print(opts, answer, () => `import of ${feedId} requested`);
    });

  return ical;
}
