// One round of an iCal import: a conditional GET of the OTA's feed, parsed whole or refused whole
// (the error goes on the feed's health and nothing changes), folded into the events by UID, and each
// message owed handed to its reservation workflow — the same workflow and inventory transaction the
// other channels' reservations go through. The feed's URL is opened here and never leaves.
import { ApplicationFailure } from '@temporalio/common';
import type { ChannelReservationEvent } from '../../domain/bookings';
import { ICAL_PROVIDER, fetchIcalFeed, type IcalFetchResult } from '../../providers/ical/fetch';
import { IcalFeedError, parseIcalFeed } from '../../providers/ical/parse';
import { ProviderError } from '../../providers/errors';
import { icalBreakerKey } from '../../providers/ical/host-breakers';
import { createProviderCallRunner } from '../provider-call';
import type { IcalMessage } from '../../store/ical-events';
import type { BookingActivityDeps, IcalDeps } from './deps';
import { temporalOf } from './reservations';
import { hasStaleBuffer, importFeedState, STALE_KEEP_BACK_HORIZON_DAYS } from '../../store/ical-feeds';
import { localDate } from '../../providers/ical/parse';
import { addDays } from '../../domain/dates';

/** A calendar feed larger than this is refused (Airbnb's for a busy listing is a few kilobytes). */
export const DEFAULT_ICAL_MAX_BYTES = 2 * 1024 * 1024;
const DEFAULT_FETCH_TIMEOUT_MS = 30_000;

export interface IcalImportResult {
  /** The feed was removed: the poll ends. */
  removed: boolean;
  intervalMs: number;
  outcome: 'imported' | 'not_modified' | 'failed';
  events: number;
  dispatched: number;
  error?: string;
}

/** Why a round's fetch failed, as the feed's health says it: the feed's refusal or the host's failure. */
function fetchFailure(err: unknown): { code: string; message: string } | undefined {
  if (err instanceof IcalFeedError) return { code: err.code, message: err.message };
  const cause = err instanceof ApplicationFailure ? err.cause : err;
  if (cause instanceof ProviderError) return { code: cause.kind === 'circuit_open' ? 'circuit_open' : 'http', message: cause.message };
  return undefined;
}

export function icalChannelEvent(feed: { id: string; channel: string }, message: IcalMessage, occurredAt: string): ChannelReservationEvent {
  return {
    eventId: `${message.channelReservationId}#${message.version}`,
    kind: message.kind,
    channel: 'ical',
    channelReservationId: message.channelReservationId,
    externalAccountId: feed.channel,
    externalListingId: feed.id,
    checkIn: message.checkIn,
    checkOut: message.checkOut,
    // An iCal event says the listing is taken; one of the unit's rooms.
    rooms: 1,
    occurredAt,
  };
}

export function createIcalImportActivities(deps: () => BookingActivityDeps) {
  const icalOf = (current: BookingActivityDeps): IcalDeps => {
    if (!current.ical) throw ApplicationFailure.create({ type: 'ChannelNotConfigured', message: 'this worker has no iCal stores', nonRetryable: true });
    return current.ical;
  };

  /**
   * The buffer's nights are pushed to the unit's mapped channels when the feed is stale (every round
   * while it is: a push sends only what differs, so a round that changes nothing sends nothing) and
   * once more when it is fresh again, which reopens them (stale-buffer.ts closes them in the push).
   */
  const resyncBuffer = async (
    current: BookingActivityDeps,
    feed: { unitId: string; staleBufferDays: number; staleKeepBackUnits: number; timeZone: string },
    reason: string,
    workflowTaskQueue: string,
    nowMs: number,
  ) => {
    const today = localDate(nowMs, feed.timeZone);
    const days = feed.staleKeepBackUnits > 0 ? STALE_KEEP_BACK_HORIZON_DAYS : feed.staleBufferDays;
    await current.signals.mappedChannels(temporalOf(current), current.inventory, {
      taskQueue: workflowTaskQueue,
      unitId: feed.unitId,
      change: { ranges: [{ from: today, to: addDays(today, days - 1) }], reason, urgent: true },
      timing: current.syncTiming,
    });
  };

  return {
    async importIcalFeed({ feedId, workflowTaskQueue }: { feedId: string; workflowTaskQueue: string }): Promise<IcalImportResult> {
      const current = deps();
      const ical = icalOf(current);
      const feed = await ical.feeds.getImportFeed(feedId);
      if (!feed || feed.removedAt) return { removed: true, intervalMs: 0, outcome: 'not_modified', events: 0, dispatched: 0 };
      const nowMs = Date.now();
      const wasStale = hasStaleBuffer(feed) && importFeedState(feed, nowMs) === 'stale';
      let stays: Array<{ uid: string; checkIn: string; checkOut: string }> | undefined;
      let validators: { etag?: string | null; lastModified?: string | null } = {};
      // Like every provider call: through the runner (log line, metrics, retry semantics), the iCal
      // throttle and the breaker of the feed's host — one per host, shared by every feed on it
      // (Airbnb's calendar host down is every Airbnb feed failing), never per feed, whose one poll
      // every few minutes would never fill a breaker's window. A feed Skerry refuses to read (too large, a forbidden
      // address) comes back as a value: the host answered, so its breaker counts a success.
      const run = createProviderCallRunner({ subject: 'channel', logger: current.logger, observer: current.observer });
      const fetchOnce = async (): Promise<IcalFetchResult | IcalFeedError> => {
        try {
          return await fetchIcalFeed(feed.url, {
            etag: feed.etag,
            lastModified: feed.lastModified,
            maxBytes: ical.maxBytes ?? DEFAULT_ICAL_MAX_BYTES,
            timeoutMs: ical.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS,
            policy: ical.policy,
            maxRedirects: ical.policy.maxRedirects,
            lookupAll: ical.lookupAll,
          });
        } catch (err) {
          if (err instanceof IcalFeedError) return err;
          throw err;
        }
      };
      const { resilience } = ical;
      try {
        const answer = await run(ICAL_PROVIDER, 'fetchFeed', { feedId, unitId: feed.unitId, origin: feed.urlOrigin }, async () => {
          if (!resilience) return fetchOnce();
          await resilience.gate(ICAL_PROVIDER).admit();
          return resilience.guard(icalBreakerKey(feed.url), 'fetchFeed', fetchOnce);
        });
        if (answer instanceof IcalFeedError) throw answer;
        if (answer.status === 'ok') {
          stays = parseIcalFeed(answer.text ?? '', feed.timeZone);
          validators = { etag: answer.etag ?? null, lastModified: answer.lastModified ?? null };
        }
      } catch (err) {
        const failure = fetchFailure(err);
        if (!failure) throw err;
        const error = `${failure.code}: ${failure.message}`;
        await ical.feeds.recordImportFailure(feedId, error);
        current.logger.warn({ alert: 'ical_import_failed', feedId, unitId: feed.unitId, channel: feed.channel, code: failure.code, err: failure.message }, 'iCal import refused; nothing changed');
        if (hasStaleBuffer(feed) && importFeedState({ ...feed, lastErrorAt: new Date(nowMs) }, nowMs) === 'stale') {
          await resyncBuffer(current, feed, `iCal import of ${feed.channel} stale: its buffer holds nights back`, workflowTaskQueue, nowMs);
        }
        return { removed: false, intervalMs: feed.intervalMs, outcome: 'failed', events: feed.eventCount, dispatched: 0, error };
      }

      const messages = await ical.events.reconcile(feedId, stays, feed.graceMs, nowMs);
      const temporal = temporalOf(current);
      const occurredAt = new Date(nowMs).toISOString();
      for (const message of messages) {
        await current.signals.reservationEvent(temporal, { taskQueue: workflowTaskQueue, event: icalChannelEvent(feed, message, occurredAt), timing: current.reservationTiming });
        await ical.events.markDispatched(feedId, message.uid, message.version);
        current.logger.info({ feedId, channel: feed.channel, reservationId: message.reservationId, kind: message.kind, checkIn: message.checkIn, checkOut: message.checkOut }, 'iCal event handed to its reservation');
      }
      await ical.feeds.recordImportSuccess(feedId, { ...validators, ...(stays ? { eventCount: stays.length } : {}) });
      if (wasStale) await resyncBuffer(current, feed, `iCal import of ${feed.channel} fresh again: its buffer reopens`, workflowTaskQueue, nowMs);
      return { removed: false, intervalMs: feed.intervalMs, outcome: stays ? 'imported' : 'not_modified', events: stays?.length ?? feed.eventCount, dispatched: messages.length };
    },
  };
}
