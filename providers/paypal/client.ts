// PayPal Orders v2 through the official SDK, as an adapter of the one payment workflow.
//
// The order id is the provider reference. PayPal's flow differs from Stripe's in one step: after
// the payer approves, the *merchant* must capture (intent CAPTURE) or authorize (intent AUTHORIZE)
// the order. The workflow knows nothing of that step: reading an APPROVED order (getPayment, which
// the workflow calls on the CHECKOUT.ORDER.APPROVED hint and whenever it polls) performs it,
// idempotently (PayPal-Request-Id derived from the order id), and reports the result. So a
// CAPTURE order goes created → succeeded, an AUTHORIZE order created → requires_capture, and the
// capture update then captures the authorization.
import { PROVIDER_CAPABILITIES } from '../../domain/payments';
import {
  CheckoutPaymentIntent,
  PaypalExperienceUserAction,
  PaypalWalletContextShippingPreference,
  type OrderRequest,
  type PurchaseUnitRequest,
} from '@paypal/paypal-server-sdk';
import { ProviderError } from '../errors';
import type { PaymentProviderClient } from '../types';
import type { ProviderPaymentSnapshot } from '../../domain/observations';
import type { RefundObservation } from '../../domain/payments';
import { toPayPalValue } from './amounts';
import { createPayPalConnection, type PayPalConnection, type PayPalConnectionOptions } from './connection';
import { classifyPayPalError } from './errors';
import { createPayPalTransactionSource } from './transactions';
import {
  capturableAuthorization,
  orderPayments,
  payerActionUrl,
  refundObservation,
  snapshotFromOrder,
  type PayPalOrder,
  type PayPalRefund,
} from './resources';

export interface PayPalClientOptions extends PayPalConnectionOptions {
  /**
   * Where PayPal sends the payer after approving (and after cancelling); with them, orders use
   * `payment_source.paypal.experience_context`. `{paymentId}` is filled in per payment.
   */
  returnUrl?: string;
  cancelUrl?: string;
  brandName?: string;
  /** Share a connection (and its token) with the webhook verifier. */
  connection?: PayPalConnection;
}

/** Full resources in answers, not PayPal's default minimal `{ id, status, links }`. */
const REPRESENTATION = 'return=representation';

/**
 * Idempotency keys for the steps Skerry takes on its own when it reads an approved order. One key
 * per approval: readers of the same approval share it, while a payer who approves again after a
 * decline (another funding source) is a new attempt that PayPal must not answer from the old one.
 */
export const settleRequestId = {
  capture: (orderId: string, approvedAt = '') => `skerry-${orderId}-capture-order${approvedAt ? `-${approvedAt}` : ''}`,
  authorize: (orderId: string, approvedAt = '') => `skerry-${orderId}-authorize-order${approvedAt ? `-${approvedAt}` : ''}`,
};

const truncate = (value: string | undefined, max: number) => (value === undefined ? undefined : value.slice(0, max));

/**
 * `invoice_id` must be unique per merchant account (PayPal refuses a duplicate by default), and one
 * booking may have several payments (deposit, balance): the payment id keeps it unique.
 */
export function invoiceIdFor(reference: string, paymentId: string): string {
  const combined = `${reference}/${paymentId}`;
  return combined.length <= 127 ? combined : paymentId.slice(0, 127);
}

export function buildOrderRequest(
  request: Parameters<PaymentProviderClient['createPayment']>[0],
  options: Pick<PayPalClientOptions, 'returnUrl' | 'cancelUrl' | 'brandName'> = {},
): OrderRequest {
  const currency = request.amount.currency.toUpperCase();
  const unit: PurchaseUnitRequest = {
    referenceId: truncate(request.reference, 256),
    amount: { currencyCode: currency, value: toPayPalValue(request.amount.value, currency) },
    customId: truncate(request.paymentId, 127),
    invoiceId: invoiceIdFor(request.reference, request.paymentId),
    description: truncate(request.description, 127),
  };
  const order: OrderRequest = {
    intent: request.captureMethod === 'manual' ? CheckoutPaymentIntent.Authorize : CheckoutPaymentIntent.Capture,
    purchaseUnits: [unit],
  };
  if (options.returnUrl || options.cancelUrl) {
    const forPayment = (url: string | undefined) => url?.replaceAll('{paymentId}', encodeURIComponent(request.paymentId));
    order.paymentSource = {
      paypal: {
        experienceContext: {
          returnUrl: forPayment(options.returnUrl),
          cancelUrl: forPayment(options.cancelUrl),
          brandName: options.brandName,
          userAction: request.captureMethod === 'manual' ? PaypalExperienceUserAction.Continue : PaypalExperienceUserAction.PayNow,
          shippingPreference: PaypalWalletContextShippingPreference.NoShipping,
        },
      },
    };
  }
  return order;
}

export function createPayPalClient(options: PayPalClientOptions): PaymentProviderClient {
  const paypal = options.connection ?? createPayPalConnection(options);

  const run = async <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw classifyPayPalError(operation, err);
    }
  };

  const getOrder = async (id: string): Promise<PayPalOrder> =>
    (await run('get_order', () => paypal.call<PayPalOrder>('get_order', () => paypal.orders.getOrder({ id })))).body;

  /**
   * Takes the merchant's step on an APPROVED order. A decline comes back as a snapshot awaiting the
   * payer again (as Stripe's declined intent does), not as an error: reading a payment must not fail because
   * the payer's bank said no.
   */
  const settleApproved = async (order: PayPalOrder): Promise<ProviderPaymentSnapshot> => {
    const authorize = order.intent === 'AUTHORIZE';
    const operation = authorize ? 'authorize_order' : 'capture_order';
    try {
      const response = await run(operation, () =>
        paypal.call<PayPalOrder>(operation, () =>
          authorize
            ? paypal.orders.authorizeOrder({ id: order.id, paypalRequestId: settleRequestId.authorize(order.id, order.update_time), prefer: REPRESENTATION })
            : paypal.orders.captureOrder({ id: order.id, paypalRequestId: settleRequestId.capture(order.id, order.update_time), prefer: REPRESENTATION }),
        ),
      );
      return snapshotFromOrder(response.body);
    } catch (err) {
      const failure = classifyPayPalError(operation, err);
      // INSTRUMENT_DECLINED: the payer must choose another funding source, so the payment waits for
      // them again at the approve link. The attempt failed, the payment did not.
      if (failure.kind === 'decline') {
        const url = payerActionUrl(order);
        return { ...snapshotFromOrder(order), status: 'created', failureReason: failure.message, nextAction: url ? { type: 'redirect', url } : undefined };
      }
      if (failure.details.code === 'PAYER_ACTION_REQUIRED') {
        const url = payerActionUrl(order);
        return { ...snapshotFromOrder(order), status: 'requires_action', nextAction: url ? { type: 'redirect', url } : undefined };
      }
      // Someone else took the step first (another read, a webhook-triggered read): the order says how it went.
      if (failure.kind === 'conflict') return snapshotFromOrder(await getOrder(order.id));
      throw failure;
    }
  };

  const current = async (orderId: string): Promise<ProviderPaymentSnapshot> => {
    const order = await getOrder(orderId);
    return order.status === 'APPROVED' ? settleApproved(order) : snapshotFromOrder(order);
  };

  /** A command PayPal refuses because the payment is already past it: the current state is the answer. */
  const settledOrThrow = async (operation: string, orderId: string, err: unknown) => {
    const failure = classifyPayPalError(operation, err);
    if (failure.kind !== 'conflict') throw failure;
    return snapshotFromOrder(await getOrder(orderId));
  };

  return {
    name: 'paypal',
    capabilities: PROVIDER_CAPABILITIES.paypal,

    createPayment: (request) =>
      run('create_order', async () => {
        const body = buildOrderRequest(request, options);
        const response = await paypal.call<PayPalOrder>('create_order', () =>
          paypal.orders.createOrder({ body, paypalRequestId: request.idempotencyKey, prefer: REPRESENTATION }),
        );
        return snapshotFromOrder(response.body);
      }),

    getPayment: (providerReference) => current(providerReference),

    // A read of an order id that cannot exist: any answer but an outage (404 here) means PayPal is up.
    healthCheck: () => getOrder('SKERRYHEALTHCHECK'),

    capturePayment: async ({ providerReference, amount, idempotencyKey }) => {
      let order = await getOrder(providerReference);
      if (order.status === 'APPROVED') {
        const settled = await settleApproved(order);
        if (settled.status !== 'requires_capture') return settled;
        order = await getOrder(providerReference);
      }
      const authorization = order.intent === 'AUTHORIZE' ? capturableAuthorization(order) : undefined;
      // CAPTURE orders are captured on approval; anything else is already past capture.
      if (!authorization) return snapshotFromOrder(order);
      const currency = authorization.amount?.currency_code ?? order.purchase_units?.[0]?.amount?.currency_code ?? 'USD';
      try {
        await run('capture_authorization', () =>
          paypal.call('capture_authorization', () =>
            paypal.payments.captureAuthorizedPayment({
              authorizationId: authorization.id,
              paypalRequestId: idempotencyKey,
              prefer: REPRESENTATION,
              // One capture per payment: a partial capture releases the rest of the authorization.
              body: { amount: { currencyCode: currency, value: toPayPalValue(amount, currency) }, finalCapture: true },
            }),
          ),
        );
      } catch (err) {
        return settledOrThrow('capture_authorization', providerReference, err);
      }
      return snapshotFromOrder(await getOrder(providerReference));
    },

    cancelPayment: async ({ providerReference, idempotencyKey, reason }) => {
      const order = await getOrder(providerReference);
      const snapshot = snapshotFromOrder(order);
      if (order.status === 'CREATED' || order.status === 'SAVED' || order.status === 'PAYER_ACTION_REQUIRED' || order.status === 'APPROVED') {
        // PayPal has no call that cancels an order before its capture or authorization: an order
        // nobody captures simply expires at PayPal. Skerry stops acting on it, which is the cancel.
        return { ...snapshot, status: reason === 'expired' ? 'expired' : 'canceled', nextAction: undefined };
      }
      const authorization = order.intent === 'AUTHORIZE' ? capturableAuthorization(order) : undefined;
      if (!authorization) return snapshot;
      try {
        await run('void_authorization', () =>
          paypal.call('void_authorization', () =>
            paypal.payments.voidPayment({ authorizationId: authorization.id, paypalRequestId: idempotencyKey, prefer: REPRESENTATION }),
          ),
        );
      } catch (err) {
        return settledOrThrow('void_authorization', providerReference, err);
      }
      return snapshotFromOrder(await getOrder(providerReference));
    },

    refundPayment: ({ providerReference, amount, currency, idempotencyKey, reason }) =>
      run('refund_capture', async (): Promise<RefundObservation> => {
        const order = await getOrder(providerReference);
        const captures = orderPayments(order).captures.filter((capture) => ['COMPLETED', 'PARTIALLY_REFUNDED', 'REFUNDED'].includes(capture.status));
        if (captures.length === 0) {
          throw new ProviderError('paypal', 'refund_capture', 'conflict', `order ${providerReference} has no completed capture to refund`);
        }
        // Skerry captures once per payment; the newest capture is the one to refund. A retried
        // refund reaches PayPal with the same PayPal-Request-Id and gets the same refund back.
        const capture = captures.at(-1)!;
        const captureCurrency = capture.amount?.currency_code ?? currency.toUpperCase();
        if (captureCurrency !== currency.toUpperCase()) {
          throw new ProviderError('paypal', 'refund_capture', 'validation', `refund currency ${currency} does not match the capture's ${captureCurrency}`);
        }
        const response = await paypal.call<PayPalRefund>('refund_capture', () =>
          paypal.payments.refundCapturedPayment({
            captureId: capture.id,
            paypalRequestId: idempotencyKey,
            prefer: REPRESENTATION,
            body: {
              amount: { currencyCode: captureCurrency, value: toPayPalValue(amount, captureCurrency) },
              noteToPayer: truncate(reason, 255),
            },
          }),
        );
        return refundObservation(response.body);
      }),

    listTransactions: createPayPalTransactionSource(paypal),
  };
}
