import type { CreateProviderPaymentRequest, ProviderRegistry } from '../providers/types';
import { LATE_SUCCESS_POLICIES, PROVIDERS, type LateSuccessPolicy, type PaymentEventRecord, type PaymentState, type PaymentStatus, type ProviderName } from '../domain/payments';
import type { PaymentLedger } from '../store/payment-ledger';
import type { Logger } from '../observability/logger';
import { createProviderCallRunner } from './provider-call';
import { type ProviderCallObserver } from '../observability/observers';
import type { ProviderResilience } from '../providers/resilience';
import { withBodyLogging } from './provider-body-log';
import { registerCounter } from '../observability/metrics';

export interface PaymentActivityDeps {
  providers: ProviderRegistry;
  ledger: PaymentLedger;
  logger: Logger;
  observer?: ProviderCallObserver;
  /** Circuit breakers (and the rest of providers/resilience); absent: calls run unguarded. */
  resilience?: Pick<ProviderResilience, 'guard'>;
}

export function createPaymentActivities({ providers, ledger, logger, observer, resilience }: PaymentActivityDeps) {
  // The breaker's health check is the provider client's own cheap read.
  const guard = resilience && {
    guard: <T>(provider: string, operation: string, fn: () => Promise<T>) => {
      const client = providers.get(provider as ProviderName);
      return resilience.guard(provider, operation, fn, client.healthCheck ? () => client.healthCheck!() : undefined);
    },
  };
  const lateSuccesses = registerCounter(
    'skerry_late_successes_total',
    'Money a provider captured for a payment Skerry had closed (expired, canceled, failed), by the policy that settled it',
    ['provider', 'policy'],
  );
  // Every series exists from the start at 0, so the alert's increase() sees the first late success.
  for (const provider of PROVIDERS) for (const policy of LATE_SUCCESS_POLICIES) lateSuccesses.inc({ provider, policy }, 0);
  const runner = createProviderCallRunner({ subject: 'provider', logger, observer, guard });
  const run = <T>(provider: ProviderName, operation: string, correlation: Record<string, unknown>, request: unknown, fn: () => Promise<T>) =>
    runner(provider, operation, correlation, withBodyLogging(logger, provider, operation, correlation, request, fn));
  return {
    async createProviderPayment({ provider, request }: { provider: ProviderName; request: CreateProviderPaymentRequest }) {
      return run(provider, 'createPayment', { paymentId: request.paymentId }, request, () => providers.get(provider).createPayment(request));
    },
    async getProviderPayment({ provider, providerReference }: { provider: ProviderName; providerReference: string }) {
      return run(provider, 'getPayment', { providerReference }, { providerReference }, () => providers.get(provider).getPayment(providerReference));
    },
    async captureProviderPayment(input: { provider: ProviderName; providerReference: string; amount: number; idempotencyKey: string }) {
      const { provider, ...request } = input;
      return run(provider, 'capturePayment', { providerReference: request.providerReference }, request, () => providers.get(provider).capturePayment(request));
    },
    async cancelProviderPayment(input: { provider: ProviderName; providerReference: string; idempotencyKey: string; reason: 'requested' | 'expired' }) {
      const { provider, ...request } = input;
      return run(provider, 'cancelPayment', { providerReference: request.providerReference }, request, () => providers.get(provider).cancelPayment(request));
    },
    async refundProviderPayment(input: {
      provider: ProviderName;
      providerReference: string;
      amount: number;
      currency: string;
      idempotencyKey: string;
      reason?: string;
    }) {
      const { provider, ...request } = input;
      return run(provider, 'refundPayment', { providerReference: request.providerReference }, request, () => providers.get(provider).refundPayment(request));
    },
    async recordPaymentState({ state, events }: { state: PaymentState; events: PaymentEventRecord[] }) {
      await ledger.record(state, events);
    },
    /** Money captured for a payment Skerry had closed: the log line and the counter the alert watches. */
    async recordLateSuccess(input: { paymentId: string; provider: ProviderName; policy: LateSuccessPolicy; closedAs: PaymentStatus; amountCaptured: number }) {
      lateSuccesses.inc({ provider: input.provider, policy: input.policy });
      logger.warn(input, `late success: ${input.provider} captured money for a payment closed as ${input.closedAs}; policy ${input.policy}`);
    },
  };
}

export type PaymentActivities = ReturnType<typeof createPaymentActivities>;
