// Prometheus metrics (prom-client), one registry per process. The API serves it on GET /metrics,
// the worker on WORKER_METRICS_PORT; under `npm start` both run in one process and share it.
//
// Application code never imports prom-client: it reports through the observer hooks it already
// has (ProviderCallObserver, WebhookObserver, DeliveryObserver), and a module that owns a value
// registers it here with `registerGauge` / `counter`, read at scrape time from its real source.
//
// Metric names the alert rules (deploy/alerts.yml) rely on. Those marked "registered by" come from
// the module that owns the value and only appear once that module is wired in:
//   skerry_provider_calls_total{provider,operation,outcome}           provider-call.ts, bookings/channel-call.ts
//   skerry_provider_call_duration_seconds{provider,operation,outcome} provider-call.ts, bookings/channel-call.ts
//   skerry_provider_call_retries_total{provider,operation}            provider-call.ts, bookings/channel-call.ts
//   skerry_webhooks_received_total{provider,outcome}                  webhook routes observer
//   skerry_webhook_delivery_lag_seconds{provider,outcome}             webhook delivery observer
//   skerry_webhook_delivery_failures_total{provider}                  webhook delivery observer
//   skerry_webhook_deliveries_given_up_total{provider,status}         webhook delivery observer (parked, failed)
//   skerry_webhook_inbox_given_up{provider,status}                    inbox (registerLedgerGauges)
//   skerry_open_payments{status}                                      ledger (registerLedgerGauges)
//   skerry_webhook_inbox_oldest_pending_age_seconds                   inbox (registerLedgerGauges)
//   skerry_unacknowledged_reservation_age_seconds{channel}            channel_messages (registerLedgerGauges)
//   skerry_overbooked_reservations{channel}                           reservations (registerLedgerGauges)
//   skerry_circuit_breaker_state{provider}  0 closed, 1 half-open, 2 open   registered by the circuit breaker (#5)
//   skerry_provider_quota_usage_ratio{provider}                             registered by the rate limiter (#5)
//   skerry_oauth_refresh_failures_total{provider}                           registered by the token manager (#5)
//   skerry_reconciliation_discrepancies{provider}                           registered by reconciliation (#6)
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ProviderCallObserver } from './observers';
import type { WebhookObserver } from './observers';
import type { DeliveryObserver } from './observers';

/** One sample of a scrape-time gauge. */
export interface GaugeSample<L extends string = string> {
  labels?: Partial<Record<L, string>>;
  value: number;
}

export interface GaugeSpec<L extends string = string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
  /** Read at every scrape from the value's real source; the gauge shows exactly what it returns. */
  collect: () => GaugeSample<L>[] | Promise<GaugeSample<L>[]>;
}

// Provider calls take milliseconds (sandbox) to tens of seconds (a slow provider before the timeout).
const CALL_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
// Inbox-to-workflow lag: milliseconds normally, minutes while Temporal or a payment is missing.
const LAG_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 30, 60, 300, 900];

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  // Get-or-create: two stacks in one process (tests, `npm start`) share the process's metrics.
  function counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    const existing = registry.getSingleMetric(name);
    if (existing) return existing as Counter<L>;
    return new Counter({ name, help, labelNames, registers: [registry] });
  }

  function histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> {
    const existing = registry.getSingleMetric(name);
    if (existing) return existing as Histogram<L>;
    return new Histogram({ name, help, labelNames, buckets, registers: [registry] });
  }

  const collectErrors = counter('skerry_metrics_collect_errors_total', 'Scrape-time gauges whose source could not be read', ['metric']);
  const gauges = new Map<string, { gauge: Gauge<string>; collect: GaugeSpec['collect'] }>();

  /**
   * A gauge computed at scrape time from its source (a table, a breaker, a quota). Registering the
   * same name again replaces the source (the latest wiring wins). A source that fails leaves the
   * gauge empty for that scrape and counts skerry_metrics_collect_errors_total{metric}: no stale
   * or invented value is shown.
   */
  function registerGauge<L extends string>(spec: GaugeSpec<L>): void {
    const existing = gauges.get(spec.name);
    if (existing) {
      existing.collect = spec.collect as GaugeSpec['collect'];
      return;
    }
    const gauge = new Gauge<string>({ name: spec.name, help: spec.help, labelNames: spec.labelNames ?? [], registers: [registry] });
    gauges.set(spec.name, { gauge, collect: spec.collect as GaugeSpec['collect'] });
  }

  // Every source is read (concurrently) before the registry is serialized, so a failure is counted
  // in the same scrape that shows the gauge empty.
  async function refreshGauges(): Promise<void> {
    await Promise.all(
      [...gauges].map(async ([name, { gauge, collect }]) => {
        let samples: GaugeSample[];
        try {
          samples = await collect();
        } catch {
          gauge.reset();
          collectErrors.inc({ metric: name });
          return;
        }
        gauge.reset();
        for (const sample of samples) {
          if (sample.labels) gauge.set(sample.labels as Record<string, string>, sample.value);
          else gauge.set(sample.value);
        }
      }),
    );
  }

  const providerCalls = counter('skerry_provider_calls_total', 'Provider and channel calls made by activities, by outcome (ok or the ProviderError kind)', [
    'provider',
    'operation',
    'outcome',
  ]);
  const providerCallDuration = histogram(
    'skerry_provider_call_duration_seconds',
    'Latency of provider and channel calls made by activities',
    ['provider', 'operation', 'outcome'],
    CALL_BUCKETS,
  );
  const providerRetries = counter('skerry_provider_call_retries_total', 'Provider calls that were a retry (activity attempt > 1)', ['provider', 'operation']);
  const webhooksReceived = counter(
    'skerry_webhooks_received_total',
    'Webhook requests by outcome: accepted (new event), duplicate, rejected (signature/format), unavailable (inbox down, 503)',
    ['provider', 'outcome'],
  );
  const deliveryLag = histogram(
    'skerry_webhook_delivery_lag_seconds',
    'From the webhook reaching the inbox to its event reaching the workflow (or being settled)',
    ['provider', 'outcome'],
    LAG_BUCKETS,
  );
  const deliveryFailures = counter('skerry_webhook_delivery_failures_total', 'Inbox deliveries that failed and will be retried', ['provider']);
  const deliveriesGivenUp = counter(
    'skerry_webhook_deliveries_given_up_total',
    'Inbox rows delivery stopped retrying: parked (waited too long on something outside Skerry) or failed (errored too often)',
    ['provider', 'status'],
  );

  const providerCallObserver: ProviderCallObserver = {
    onCall(provider, operation, outcome, seconds) {
      providerCalls.inc({ provider, operation, outcome });
      providerCallDuration.observe({ provider, operation, outcome }, seconds);
    },
    onRetry(provider, operation) {
      providerRetries.inc({ provider, operation });
    },
  };
  const webhookObserver: WebhookObserver = {
    onReceived(provider, outcome) {
      webhooksReceived.inc({ provider, outcome });
    },
  };
  const deliveryObserver: DeliveryObserver = {
    onDelivered(provider, outcome, lagSeconds) {
      deliveryLag.observe({ provider, outcome }, Math.max(0, lagSeconds));
    },
    onFailed(provider) {
      deliveryFailures.inc({ provider });
    },
    onGivenUp(provider, status) {
      deliveriesGivenUp.inc({ provider, status });
    },
  };

  return {
    registry,
    contentType: registry.contentType,
    /** The exposition text of every metric in this registry. */
    text: async () => {
      await refreshGauges();
      return registry.metrics();
    },
    counter,
    registerGauge,
    providerCallObserver,
    webhookObserver,
    deliveryObserver,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

let processMetrics: Metrics | undefined;

/** The process's registry: what /metrics and the worker's metrics port serve. */
export function getProcessMetrics(): Metrics {
  processMetrics ??= createMetrics();
  return processMetrics;
}

/**
 * For modules that own a value (circuit breakers, quotas, reconciliation): a scrape-time gauge in
 * the process's registry, e.g.
 *   registerGauge({ name: 'skerry_circuit_breaker_state', help: '0 closed, 1 half-open, 2 open',
 *                   labelNames: ['provider'], collect: () => breakers.map((b) => ({ labels: { provider: b.provider }, value: b.state })) })
 */
export function registerGauge<L extends string>(spec: GaugeSpec<L>): void {
  getProcessMetrics().registerGauge(spec);
}

/** A counter in the process's registry (get-or-create), e.g. skerry_oauth_refresh_failures_total{provider}. */
export function registerCounter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  return getProcessMetrics().counter(name, help, labelNames);
}
