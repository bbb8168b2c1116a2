// Moves inbox rows into their workflows. New rows are delivered at once; a sweep picks up what a
// crash, a Temporal outage or a not-yet-recorded payment left behind. Delivery is at least once:
// the workflow ignores an event id it has already seen.
import type { DeliveryObserver } from '../../observability/observers';
import type { Logger } from '../../observability/logger';
import type { PaymentsClient } from '../../client/payments';
import type { BookingsClient } from '../../client/bookings';
import type { ProviderName } from '../../domain/payments';
import type { DeliverableRow, InboxDelivery, WebhookInbox } from '../../store/webhook-inbox';

/** An event whose payment is not in the ledger yet is retried for this long, then parked. */
const UNMATCHED_AFTER_MS = 10 * 60_000;
/** Immediate deliveries running at once; past it new webhooks are refused (503) until some finish. */
const DEFAULT_MAX_IN_FLIGHT = 1_000;

export function createWebhookDelivery(deps: {
  inbox: WebhookInbox;
  payments: Pick<PaymentsClient, 'deliverObservation'>;
  /** Where booking channels' reservation messages go (Airbnb); their rows wait until it is set. */
  reservations?: Pick<BookingsClient, 'deliverChannelEvent'>;
  logger: Logger;
  sweepEveryMs: number;
  observer?: DeliveryObserver;
  maxInFlight?: number;
}) {
  const { inbox, payments, logger } = deps;
  let sweepTimer: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> | undefined;
  let stopped = false;
  const inFlight = new Set<Promise<void>>();
  const maxInFlight = deps.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;

  async function deliverRow(row: DeliverableRow): Promise<void> {
    const delivery = row.delivery as InboxDelivery;
    const provider = row.provider as ProviderName;
    const log = logger.child({ inboxId: row.id, provider, eventId: row.eventId, eventType: row.eventType });
    try {
      if (delivery.delivery === 'reservation') {
        // A channel's reservation: to its reservation workflow, by signal-with-start.
        if (!deps.reservations || !delivery.reservation) {
          await inbox.retryLater(row.id, row.attempts, 'no reservation delivery configured');
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
        const age = Date.now() - row.receivedAt.getTime();
        if (age > UNMATCHED_AFTER_MS) {
          await inbox.settle(row.id, 'unmatched', undefined, 'no Skerry payment for this provider reference');
          log.warn('webhook matches no payment; parked as unmatched');
        } else {
          await inbox.retryLater(row.id, row.attempts, 'payment not in the ledger yet');
        }
        return;
      }
      const outcome = await payments.deliverObservation({
        paymentId,
        provider,
        kind: delivery.delivery === 'hint' ? 'hint' : 'observation',
        observation: delivery.observation,
        hint: { eventId: row.eventId, providerEventType: row.eventType },
        adopt:
          delivery.adopt && row.providerReference ? { ...delivery.adopt, providerReference: row.providerReference } : undefined,
      });
      if (outcome === 'delivered') {
        await inbox.settle(row.id, 'delivered', paymentId);
      } else if (outcome === 'closed' || (await inbox.paymentExists(paymentId))) {
        await inbox.settle(row.id, 'closed', paymentId, 'payment workflow already closed; left for reconciliation');
      } else {
        await inbox.retryLater(row.id, row.attempts, 'payment workflow not found yet');
        return;
      }
      deps.observer?.onDelivered?.(provider, outcome, (Date.now() - row.receivedAt.getTime()) / 1000);
    } catch (err) {
      deps.observer?.onFailed?.(provider);
      log.warn({ err: (err as Error).message }, 'webhook delivery failed; will retry');
      await inbox.retryLater(row.id, row.attempts, (err as Error).message).catch((dbErr: Error) => {
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
