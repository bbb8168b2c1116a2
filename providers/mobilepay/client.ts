// Vipps MobilePay ePayment API v1 as a Skerry payment adapter. The request and response shapes are
// the official SDK's (`@vippsmobilepay/sdk` types); the HTTP calls are made here with undici, because
// the SDK cannot do what a durable payment needs (see the note on `createMobilePayApi`). The same
// code talks to api.vipps.no, apitest.vipps.no and Skerry's sandbox; only the base URL differs.
import { type EPaymentState, snapshotFromPayment, referenceForPayment, toMsisdn, wireIdempotencyKey } from './wire';
import type { CreateProviderPaymentRequest, PaymentProviderClient } from '../types';
import type { CreatePaymentRequest, GetPaymentResponse } from '@vippsmobilepay/sdk';
import { createMobilePayApi, type MobilePayClientOptions } from './api';
import { ProviderError } from '../errors';
import { PROVIDER_CAPABILITIES, type RefundObservation } from '../../domain/payments';
import { createMobilePayReportSource } from './report';

// ─── The adapter ─────────────────────────────────────────────────────────────────────────────

const FINAL_STATES: ReadonlySet<EPaymentState> = new Set(['ABORTED', 'EXPIRED', 'TERMINATED']);

function createBody(request: CreateProviderPaymentRequest, reference: string, returnUrl: string): CreatePaymentRequest {
  const phone = request.payer?.alias ? toMsisdn(request.payer.alias) : undefined;
  return {
    amount: { value: request.amount.value, currency: request.amount.currency.toUpperCase() as CreatePaymentRequest['amount']['currency'] },
    paymentMethod: { type: 'WALLET' },
    reference,
    returnUrl: returnUrl.replaceAll('{paymentId}', encodeURIComponent(request.paymentId)).replaceAll('{reference}', reference),
    userFlow: 'WEB_REDIRECT',
    paymentDescription: (request.description ?? request.reference).slice(0, 100),
    metadata: { skerryPaymentId: request.paymentId, skerryReference: request.reference.slice(0, 500) },
    ...(phone ? { customer: { phoneNumber: phone } } : {}),
  };
}

export function createMobilePayClient(options: MobilePayClientOptions): PaymentProviderClient {
  const api = createMobilePayApi(options);
  /** Captures and refunds need the currency; remember it per reference (bounded). */
  const currencies = new Map<string, string>();
  const remember = (reference: string, currency: string) => {
    currencies.delete(reference);
    currencies.set(reference, currency);
    if (currencies.size > 5_000) currencies.delete(currencies.keys().next().value!);
  };
  const read = async (reference: string) => {
    const payment = await api.getPayment(reference);
    remember(reference, payment.amount.currency);
    return payment;
  };
  const currencyOf = async (reference: string) => currencies.get(reference) ?? (await read(reference)).amount.currency;

  /**
   * A command the payment's state has made moot (a cancel of an expired payment, a capture of an
   * aborted one) answers with the payment as it is, as the Stripe adapter does; anything else throws.
   */
  const settledOrThrow = async (reference: string, err: unknown, moot: (payment: GetPaymentResponse) => boolean) => {
    if (!(err instanceof ProviderError) || (err.kind !== 'conflict' && err.kind !== 'validation')) throw err;
    const payment = await read(reference);
    if (!moot(payment)) throw err;
    return snapshotFromPayment(payment);
  };

  return {
    name: 'mobilepay',
    capabilities: PROVIDER_CAPABILITIES.mobilepay,

    async createPayment(request) {
      const reference = referenceForPayment(request.paymentId);
      const body = createBody(request, reference, options.returnUrl);
      try {
        const created = await api.createPayment(body, wireIdempotencyKey(request.idempotencyKey));
        remember(created.reference, body.amount.currency);
        return {
          providerReference: created.reference,
          status: 'created',
          providerStatus: 'CREATED',
          amountCaptured: 0,
          amountRefunded: 0,
          nextAction: created.redirectUrl ? { type: 'redirect', url: created.redirectUrl } : undefined,
        };
      } catch (err) {
        // The reference exists already (an idempotency key forgotten by the provider, a retry after
        // a long outage): it is this payment when the amount matches, so adopt it.
        if (!(err instanceof ProviderError) || err.kind !== 'conflict') throw err;
        const existing = await read(reference).catch(() => undefined);
        if (!existing || existing.amount.value !== body.amount.value || existing.amount.currency !== body.amount.currency) throw err;
        return snapshotFromPayment(existing);
      }
    },

    async getPayment(providerReference) {
      return snapshotFromPayment(await read(providerReference));
    },

    // A read of a reference that cannot exist: any answer but an outage (404 here) means the API is up.
    async healthCheck() {
      return api.getPayment('skerry-health-check');
    },

    async capturePayment({ providerReference, amount, idempotencyKey }) {
      const currency = await currencyOf(providerReference);
      try {
        const payment = await api.capture(providerReference, { value: amount, currency }, wireIdempotencyKey(idempotencyKey));
        return snapshotFromPayment(payment);
      } catch (err) {
        return settledOrThrow(providerReference, err, (payment) => FINAL_STATES.has(payment.state));
      }
    },

    async cancelPayment({ providerReference, idempotencyKey, reason }) {
      let transactionOnly = false;
      if (reason === 'expired') {
        // Expiring a payment the payer has not finished must not release an authorization that
        // arrived a moment ago: `cancelTransactionOnly` cancels only an unauthorized payment. An
        // authorization whose hold ran out is released as a normal cancel. Distinct key per variant.
        const current = await read(providerReference);
        if (FINAL_STATES.has(current.state)) return snapshotFromPayment(current);
        transactionOnly = current.state === 'CREATED';
      }
      const key = wireIdempotencyKey(transactionOnly ? `${idempotencyKey}-txonly` : idempotencyKey);
      try {
        return snapshotFromPayment(await api.cancel(providerReference, key, transactionOnly));
      } catch (err) {
        return settledOrThrow(providerReference, err, (payment) => {
          if (FINAL_STATES.has(payment.state)) return true;
          const { authorizedAmount, capturedAmount, cancelledAmount } = payment.aggregate;
          return payment.state === 'AUTHORIZED' && capturedAmount.value + cancelledAmount.value >= authorizedAmount.value;
        });
      }
    },

    async refundPayment({ providerReference, amount, currency, idempotencyKey }): Promise<RefundObservation> {
      const key = wireIdempotencyKey(idempotencyKey);
      await api.refund(providerReference, { value: amount, currency: currency.toUpperCase() }, key);
      // ePayment refunds are immediate. The refund id is the Idempotency-Key, which the REFUNDED
      // webhook carries back as `idempotencyKey`: both paths name the same refund.
      return { refundId: key, amount, status: 'succeeded' };
    },

    listTransactions: createMobilePayReportSource(api, options.merchantSerialNumber),
  };
}
