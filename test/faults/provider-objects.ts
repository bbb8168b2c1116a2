// What each provider's sandbox holds for a set of Skerry payments, read from its own state (the
// provider's books, not Skerry's): how many payment objects, captures and refunds each payment has.
// A double charge shows up here however the client got there.
import type { Stack } from '../support/stack';
import { toPayeePaymentReference } from '../../providers/swish/protocol';

export type FaultProvider = 'stripe' | 'paypal' | 'swish' | 'mobilepay';
export const FAULT_PROVIDERS: readonly FaultProvider[] = ['stripe', 'paypal', 'swish', 'mobilepay'];

/** A currency each provider takes (Swish only SEK; the ePayment sandbox NOK, DKK or EUR). */
export const CURRENCY: Record<FaultProvider, string> = { stripe: 'SEK', paypal: 'EUR', swish: 'SEK', mobilepay: 'DKK' };

export interface PaymentAtProvider {
  /** Payment objects created for it: PaymentIntents, orders, payment requests, ePayments. */
  creates: number;
  captures: number;
  refunds: number;
}

export interface TrackedPayment {
  paymentId: string;
  reference: string;
}

type Row = Record<string, unknown>;

async function sandboxState(stack: Stack, provider: FaultProvider): Promise<Row> {
  const response = await fetch(`${stack.sandboxUrl}/${provider}/_control/state`);
  if (!response.ok) throw new Error(`${provider} sandbox state: HTTP ${response.status}`);
  return (await response.json()) as Row;
}

const rows = (state: Row, key: string) => (state[key] ?? []) as Row[];

/** Per payment id: what the provider created for it. */
export async function objectsAtProvider(stack: Stack, provider: FaultProvider, payments: TrackedPayment[]): Promise<Map<string, PaymentAtProvider>> {
  const state = await sandboxState(stack, provider);
  const result = new Map<string, PaymentAtProvider>(payments.map((payment) => [payment.paymentId, { creates: 0, captures: 0, refunds: 0 }]));
  const add = (paymentId: string | undefined, field: keyof PaymentAtProvider, count = 1) => {
    const entry = paymentId ? result.get(paymentId) : undefined;
    if (entry) entry[field] += count;
  };
  if (provider === 'stripe') {
    const intents = rows(state, 'paymentIntents');
    const paymentOf = new Map(intents.map((intent) => [intent.id as string, (intent.metadata as Record<string, string> | undefined)?.skerry_payment_id]));
    for (const intent of intents) add(paymentOf.get(intent.id as string), 'creates');
    for (const charge of rows(state, 'charges')) if (charge.captured) add(paymentOf.get(charge.payment_intent as string), 'captures');
    for (const refund of rows(state, 'refunds')) add(paymentOf.get(refund.payment_intent as string), 'refunds');
  } else if (provider === 'paypal') {
    const orders = rows(state, 'orders');
    const paymentOf = new Map(orders.map((order) => [order.id as string, (order.purchase_units as Row[] | undefined)?.[0]?.custom_id as string | undefined]));
    for (const order of orders) add(paymentOf.get(order.id as string), 'creates');
    for (const capture of rows(state, 'captures')) add(paymentOf.get(capture.orderId as string), 'captures');
    for (const refund of rows(state, 'refunds')) add(paymentOf.get(refund.orderId as string), 'refunds');
  } else if (provider === 'swish') {
    // Swish knows the business reference (in its character set), not Skerry's id: a second payment
    // request for one payment, under any instruction UUID, carries the same reference. The bank's
    // paymentReference links refunds.
    const byReference = new Map(payments.map((payment) => [toPayeePaymentReference(payment.reference), payment.paymentId]));
    const requests = rows(state, 'paymentRequests');
    const paymentOfBankReference = new Map<string, string | undefined>();
    for (const request of requests) {
      const paymentId = byReference.get(request.payeePaymentReference as string);
      add(paymentId, 'creates');
      // Swish settles on approval: the PAID payment request is the capture.
      if (request.status === 'PAID') add(paymentId, 'captures');
      if (request.paymentReference) paymentOfBankReference.set(request.paymentReference as string, paymentId);
    }
    for (const refund of rows(state, 'refunds')) add(paymentOfBankReference.get(refund.originalPaymentReference as string), 'refunds');
  } else {
    // ePayment references are Skerry's payment ids with `-` for `_`; a second create is refused at
    // the provider, so the events are where a doubled capture or refund would show.
    const byReference = new Map(payments.map((payment) => [payment.paymentId.replaceAll('_', '-'), payment.paymentId]));
    for (const payment of rows(state, 'payments')) {
      const paymentId = byReference.get(payment.reference as string);
      add(paymentId, 'creates');
      const events = (payment.events ?? []) as Row[];
      add(paymentId, 'captures', events.filter((event) => event.name === 'CAPTURED' && event.success).length);
      add(paymentId, 'refunds', events.filter((event) => event.name === 'REFUNDED' && event.success).length);
    }
  }
  return result;
}

/** How many payments have other than `expected` of each object at the provider. */
export async function providerIntegrity(stack: Stack, provider: FaultProvider, payments: TrackedPayment[], expected: Partial<PaymentAtProvider>) {
  const objects = await objectsAtProvider(stack, provider, payments);
  const off = (field: keyof PaymentAtProvider) =>
    expected[field] === undefined ? 0 : [...objects.values()].filter((entry) => entry[field] !== expected[field]).length;
  const total = (field: keyof PaymentAtProvider) => [...objects.values()].reduce((sum, entry) => sum + entry[field], 0);
  return {
    providerCreates: total('creates'),
    providerCaptures: total('captures'),
    providerRefunds: total('refunds'),
    paymentsWithWrongCreates: off('creates'),
    paymentsWithWrongCaptures: off('captures'),
    paymentsWithWrongRefunds: off('refunds'),
  };
}

/** Faults injected by the provider's sandbox so far, by kind, and the API requests it received. */
export async function faultsInjected(stack: Stack, provider: FaultProvider): Promise<Record<string, number> & { requests: number }> {
  const counts = ((await sandboxState(stack, provider)).counts ?? {}) as Row;
  return { ...((counts.faultsInjected ?? {}) as Record<string, number>), requests: Number(counts.requests ?? 0) };
}
