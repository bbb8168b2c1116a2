// Moves inbox rows into their workflows. New rows are delivered at once; a sweep picks up what a
// crash, a Temporal outage or a not-yet-recorded payment left behind. Delivery is at least once:
// the workflow ignores an event id it has already seen. Retrying is bounded, so the inbox never
// hides a stuck row behind endless retries: a row whose delivery errored `maxAttempts` times is
// `failed`, and one that waited `parkAfterMs` on something outside Skerry (a payment the ledger
// does not have, a workflow that does not exist) is `parked`. Both are kept, counted and alerted on,
// and a replay moves them back.
import type { DeliveryObserver } from '../../observability/observers';
import type { Logger } from '../../observability/logger';
import type { PaymentsClient } from '../../client/payments';
import type { BookingsClient } from '../../client/bookings';
import type { ProviderName } from '../../domain/payments';
import type { DeliverableRow, InboxDelivery, WebhookInbox } from '../../store/webhook-inbox';
import { refundOwnershipRefusal } from './refund-ownership';

/** Defaults of WEBHOOK_MAX_DELIVERY_ATTEMPTS and WEBHOOK_PARK_AFTER_MS (config/). */
const DEFAULT_MAX_ATTEMPTS = 25;
const DEFAULT_PARK_AFTER_MS = 10 * 60_000;
/** Immediate deliveries running at once; past it new webhooks are refused (503) until some finish. */
const DEFAULT_MAX_IN_FLIGHT = 1_000;

export function createWebhookDelivery(deps: {
  inbox: WebhookInbox;
  /** deliverIfChanging, where given, keeps observations that change nothing from the workflows. */
  payments: Pick<PaymentsClient, 'deliverObservation'> & Partial<Pick<PaymentsClient, 'deliverIfChanging'>>;
  /** Where booking channels' reservation messages go (Airbnb); their rows wait until it is set. */
  reservations?: Pick<BookingsClient, 'deliverChannelEvent'>;
  /** Asks a channel's reservation poll to pull now (a Channex `booking` webhook); its rows wait until it is set. */
  pullNow?: (channel: string) => Promise<void>;
  logger: Logger;
  sweepEveryMs: number;
  observer?: DeliveryObserver;
  maxInFlight?: number;
  /** Errored deliveries after which a row is marked failed. */
  maxAttempts?: number;
  /** How long a row may wait on something outside Skerry before it is parked. */
  parkAfterMs?: number;
}) {
  const { inbox, payments, logger } = deps;
  let sweepTimer: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> | undefined;
  let stopped = false;
  const inFlight = new Set<Promise<void>>();
  const maxInFlight = deps.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const maxAttempts = deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const parkAfterMs = deps.parkAfterMs ?? DEFAULT_PARK_AFTER_MS;

  /** A row that cannot be delivered yet for a reason outside Skerry: retried, then parked. */
  async function wait(row: DeliverableRow, reason: string, log: Logger): Promise<void> {
    if (Date.now() - row.receivedAt.getTime() <= parkAfterMs) {
      await inbox.retryLater(row.id, row.attempts, reason);
      return;
    }
    await inbox.giveUp(row.id, 'parked', reason);
    deps.observer?.onGivenUp?.(row.provider, 'parked');
    log.warn({ attempts: row.attempts, reason }, 'webhook parked: its delivery waited too long; replay it once the cause is gone');
  }

  /** A delivery that errored: retried with back-off until the attempts run out, then failed. */
  async function failed(row: DeliverableRow, error: string, log: Logger): Promise<void> {
    deps.observer?.onFailed?.(row.provider);
    if (row.attempts < maxAttempts) {
      log.warn({ err: error, attempts: row.attempts }, 'webhook delivery failed; will retry');
      await inbox.retryLater(row.id, row.attempts, error);
      return;
    }
    await inbox.giveUp(row.id, 'failed', error);
    deps.observer?.onGivenUp?.(row.provider, 'failed');
    log.error({ err: error, attempts: row.attempts }, 'webhook delivery failed too often; marked failed, replay it once the cause is gone');
  }

  async function deliverRow(row: DeliverableRow): Promise<void> {
    const delivery = row.delivery as InboxDelivery;
    const provider = row.provider as ProviderName;
    const log = logger.child({ inboxId: row.id, provider, eventId: row.eventId, eventType: row.eventType });
    try {
      if (delivery.delivery === 'pull') {
        if (!deps.pullNow) {
          await wait(row, 'no reservation poll configured', log);
          return;
        }
        await deps.pullNow(row.provider);
        await inbox.settle(row.id, 'delivered');
        deps.observer?.onDelivered?.(provider, 'delivered', (Date.now() - row.receivedAt.getTime()) / 1000);
        return;
      }
      if (delivery.delivery === 'reservation') {
        // A channel's reservation: to its reservation workflow, by signal-with-start.
        if (!deps.reservations || !delivery.reservation) {
          await wait(row, 'no reservation delivery configured', log);
          return;
        }
        const outcome = await deps.reservations.deliverChannelEvent(delivery.reservation);
        await inbox.settle(row.id, 'delivered');
        deps.observer?.onDelivered?.(provider, outcome, (Date.now() - row.receivedAt.getTime()) / 1000);
        return;
      }
      let paymentId = row.paymentId ?? undefined;
      if (!paymentId && row.providerReference) paymentId = await inbox.findPaymentIdByProviderReference(provider, row.providerReference);
      if (!paymentId) {
        await wait(row, 'payment not in the ledger yet', log);
        return;
      }
      if (delivery.observation?.refund) {
        const refusal = await refundOwnershipRefusal(inbox, { provider, paymentId, providerReference: row.providerReference });
        if (refusal) {
          await inbox.settle(row.id, 'unmatched', paymentId, refusal);
          log.warn({ paymentId, providerReference: row.providerReference }, 'refund webhook refused: it does not belong to the payment it names');
          return;
        }
      }
      const outcome = await (payments.deliverIfChanging ?? payments.deliverObservation)({
        paymentId,
        provider,
        kind: delivery.delivery === 'hint' ? 'hint' : 'observation',
        observation: delivery.observation,
        hint: { eventId: row.eventId, providerEventType: row.eventType },
        adopt:
          delivery.adopt && row.providerReference ? { ...delivery.adopt, providerReference: row.providerReference } : undefined,
      });
      // `reopened`: a closed payment's new run has it (money that may have come late), not dropped.
      if (outcome === 'delivered' || outcome === 'reopened') {
        await inbox.settle(row.id, 'delivered', paymentId);
      } else if (outcome === 'no_change') {
        // Settled as delivered: the payment's timeline has it as ignored, which is all the workflow would have done.
        await inbox.settle(row.id, 'delivered', paymentId, 'no change: the payment already records what this event says');
      } else if (outcome === 'closed' || (await inbox.paymentExists(paymentId))) {
        await inbox.settle(row.id, 'closed', paymentId, 'payment workflow already closed; left for reconciliation');
      } else {
        await wait(row, 'payment workflow not found yet', log);
        return;
      }
      deps.observer?.onDelivered?.(provider, outcome, (Date.now() - row.receivedAt.getTime()) / 1000);
    } catch (err) {
      await failed(row, (err as Error).message, log).catch((dbErr: Error) => {
        // The claim expires on its own, so the sweep retries even when this write is lost.
        log.error({ err: dbErr.message }, 'could not schedule webhook retry');
      });
    }
  }

  const track = (work: Promise<void>) => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };

  async function sweep(): Promise<void> {
    for (;;) {
      const rows = await inbox.claimDue(100);
      if (rows.length === 0 || stopped) return;
      await Promise.all(rows.map(deliverRow));
      if (rows.length < 100) return;
    }
  }

  const runSweep = () => {
    if (sweeping || stopped) return;
    sweeping = sweep()
      .catch((err: Error) => logger.warn({ err: err.message }, 'webhook sweep failed'))
      .finally(() => {
        sweeping = undefined;
      });
  };

  return {
    /** Delivers freshly recorded rows now (the inbox claimed them on insert), without waiting for the sweep. */
    deliverNow(rows: DeliverableRow[]): void {
      for (const row of rows) {
        // Over the bound the row waits for its claim to lapse and the sweep, which takes 100 at a time.
        if (inFlight.size >= maxInFlight) return;
        track(deliverRow(row).catch((err: Error) => logger.warn({ err: err.message, inboxId: row.id }, 'immediate delivery failed; the sweep will retry')));
      }
    },
    /**
     * Whether deliveries are backed up to the bound (Temporal slow or down): the webhook routes
     * then answer 503 and the provider retries later, rather than this process piling up work.
     */
    saturated: (): boolean => inFlight.size >= maxInFlight,
    sweepNow: () => {
      runSweep();
      return sweeping ?? Promise.resolve();
    },
    start(): void {
      stopped = false;
      sweepTimer = setInterval(runSweep, deps.sweepEveryMs);
      sweepTimer.unref();
      runSweep();
    },
    async stop(): Promise<void> {
      stopped = true;
      if (sweepTimer) clearInterval(sweepTimer);
      await Promise.allSettled([...inFlight, sweeping]);
    },
  };
}

export type WebhookDelivery = ReturnType<typeof createWebhookDelivery>;
