// An in-memory provider for workflow tests: it keeps each payment's state so a test can play the
// payer (succeed, decline, never come back) and see exactly which calls the workflow made.
import { randomUUID } from 'node:crypto';
import { ProviderError } from '../../providers/errors';
import type { PaymentProviderClient } from '../../providers/types';
import type { ProviderPaymentSnapshot } from '../../domain/observations';
import type { RefundObservation } from '../../domain/payments';

interface ScriptedPayment {
  snapshot: ProviderPaymentSnapshot;
  refunds: RefundObservation[];
}

export function createScriptedProvider() {
  const payments = new Map<string, ScriptedPayment>();
  const idempotency = new Map<string, unknown>();
  const calls: Array<{ operation: string; at: number; key?: string }> = [];
  const failures: Array<{ operation: string; error: ProviderError }> = [];
  let counter = 0;
  const instance = randomUUID().slice(0, 8);

  const take = (operation: string) => {
    const index = failures.findIndex((failure) => failure.operation === operation);
    if (index >= 0) {
      const [failure] = failures.splice(index, 1);
      throw failure!.error;
    }
  };
  const record = (operation: string, key?: string) => calls.push({ operation, at: Date.now(), key });
  const get = (reference: string) => {
    const payment = payments.get(reference);
    if (!payment) throw new ProviderError('stripe', 'get', 'not_found', `no payment ${reference}`);
    return payment;
  };
  const idempotent = <T>(key: string, fn: () => T): T => {
    if (idempotency.has(key)) return idempotency.get(key) as T;
    const result = fn();
    idempotency.set(key, result);
    return result;
  };

  const client: PaymentProviderClient = {
    name: 'stripe',
    capabilities: { manualCapture: true, partialCapture: true, partialRefund: true, cancel: true },
    async createPayment(request) {
      record('create', request.idempotencyKey);
      take('create');
      return idempotent(request.idempotencyKey, () => {
        // Unique across test files: the ledger's (provider, provider_reference) is unique in the shared database.
        const reference = `sp_${instance}_${++counter}`;
        const snapshot: ProviderPaymentSnapshot = {
          providerReference: reference,
          status: 'created',
          providerStatus: 'requires_payment_method',
          amountCaptured: 0,
          amountRefunded: 0,
          amountAuthorized: 0,
          nextAction: { type: 'stripe_client_secret', clientSecret: `${reference}_secret` },
        };
        payments.set(reference, { snapshot, refunds: [] });
        return { ...snapshot };
      });
    },
    async getPayment(reference) {
      record('get');
      take('get');
      return { ...get(reference).snapshot };
    },
    async capturePayment({ providerReference, amount, idempotencyKey }) {
      record('capture', idempotencyKey);
      take('capture');
      return idempotent(idempotencyKey, () => {
        const payment = get(providerReference);
        payment.snapshot = { ...payment.snapshot, status: 'succeeded', providerStatus: 'succeeded', amountCaptured: amount };
        return { ...payment.snapshot };
      });
    },
    async cancelPayment({ providerReference, idempotencyKey, reason }) {
      record('cancel', idempotencyKey);
      take('cancel');
      return idempotent(idempotencyKey, () => {
        const payment = get(providerReference);
        if (payment.snapshot.status === 'succeeded') return { ...payment.snapshot };
        payment.snapshot = { ...payment.snapshot, status: reason === 'expired' ? 'expired' : 'canceled', providerStatus: 'canceled' };
        return { ...payment.snapshot };
      });
    },
    async refundPayment({ providerReference, amount, idempotencyKey }) {
      record('refund', idempotencyKey);
      take('refund');
      return idempotent(idempotencyKey, () => {
        const payment = get(providerReference);
        const refund: RefundObservation = { refundId: `rf_${++counter}`, amount, status: 'succeeded' };
        payment.refunds.push(refund);
        payment.snapshot = { ...payment.snapshot, amountRefunded: payment.snapshot.amountRefunded + amount };
        return refund;
      });
    },
  };

  return {
    client,
    registry: { get: () => client },
    calls,
    /** The next call of this operation throws this error. */
    failNext(operation: string, error: ProviderError) {
      failures.push({ operation, error });
    },
    /** Plays the payer: changes the provider's state without sending any webhook. */
    settle(reference: string, change: Partial<ProviderPaymentSnapshot>) {
      const payment = get(reference);
      payment.snapshot = { ...payment.snapshot, ...change };
    },
    snapshot: (reference: string) => get(reference).snapshot,
  };
}
