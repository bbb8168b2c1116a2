import type { CreateProviderPaymentRequest, PaymentProviderClient } from '../providers/types';
import type { PaymentEventRecord, PaymentState, ProviderName } from '../workflows/payments/messages';
import type { PaymentLedger } from './persistence/payment-ledger';
import type { Logger } from '../observability/logger';
import { createProviderCallRunner, type ProviderCallObserver } from './provider-call';

export interface ProviderRegistry {
  get(provider: ProviderName): PaymentProviderClient;
}

export interface PaymentActivityDeps {
  providers: ProviderRegistry;
  ledger: PaymentLedger;
  logger: Logger;
  observer?: ProviderCallObserver;
}

export function createPaymentActivities({ providers, ledger, logger, observer }: PaymentActivityDeps) {
  const run = createProviderCallRunner(logger, observer);
  return {
    async createProviderPayment({ provider, request }: { provider: ProviderName; request: CreateProviderPaymentRequest }) {
      return run(provider, 'createPayment', { paymentId: request.paymentId }, () => providers.get(provider).createPayment(request));
    },
    async getProviderPayment({ provider, providerReference }: { provider: ProviderName; providerReference: string }) {
      return run(provider, 'getPayment', { providerReference }, () => providers.get(provider).getPayment(providerReference));
    },
    async captureProviderPayment(input: { provider: ProviderName; providerReference: string; amount: number; idempotencyKey: string }) {
      const { provider, ...request } = input;
      return run(provider, 'capturePayment', { providerReference: request.providerReference }, () => providers.get(provider).capturePayment(request));
    },
    async cancelProviderPayment(input: { provider: ProviderName; providerReference: string; idempotencyKey: string; reason: 'requested' | 'expired' }) {
      const { provider, ...request } = input;
      return run(provider, 'cancelPayment', { providerReference: request.providerReference }, () => providers.get(provider).cancelPayment(request));
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
      return run(provider, 'refundPayment', { providerReference: request.providerReference }, () => providers.get(provider).refundPayment(request));
    },
    async recordPaymentState({ state, events }: { state: PaymentState; events: PaymentEventRecord[] }) {
      await ledger.record(state, events);
    },
  };
}

export type PaymentActivities = ReturnType<typeof createPaymentActivities>;
