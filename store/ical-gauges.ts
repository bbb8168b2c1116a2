// The iCal imports' health for Prometheus, read from Postgres at scrape time: how old each feed's
// last successful import is, and whether that makes it stale (deploy/alerts.yml: IcalFeedStale).
import type { Metrics } from '../observability/metrics';
import type { IcalFeedStore } from './ical-feeds';

export function registerIcalGauges(metrics: Metrics, feeds: IcalFeedStore): void {
  const states = async () => feeds.importFeedStates(Date.now());
  metrics.registerGauge({
    name: 'skerry_ical_import_age_seconds',
    help: "Seconds since an imported iCal feed's last successful import (since it was added, when it never succeeded), by feed",
    labelNames: ['feed_id', 'unit_id', 'source'],
    async collect() {
      return (await states()).map((feed) => ({
        labels: { feed_id: feed.id, unit_id: feed.unitId, source: feed.channel },
        value: feed.ageSeconds ?? (Date.now() - Date.parse(feed.createdAt)) / 1000,
      }));
    },
  });
  metrics.registerGauge({
    name: 'skerry_ical_import_stale',
    help: 'Imported iCal feed whose last successful import is older than its threshold: 1 stale, 0 not',
    labelNames: ['feed_id', 'unit_id', 'source'],
    async collect() {
      return (await states()).map((feed) => ({ labels: { feed_id: feed.id, unit_id: feed.unitId, source: feed.channel }, value: feed.state === 'stale' ? 1 : 0 }));
    },
  });
  metrics.registerGauge({
    name: 'skerry_ical_import_failing',
    help: "Imported iCal feed whose last round was refused (malformed, too large, unknown time zone, HTTP error): 1 failing, 0 not",
    labelNames: ['feed_id', 'unit_id', 'source'],
    async collect() {
      return (await states()).map((feed) => ({ labels: { feed_id: feed.id, unit_id: feed.unitId, source: feed.channel }, value: feed.state === 'error' ? 1 : 0 }));
    },
  });
}
