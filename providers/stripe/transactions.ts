// Stripe's account of what moved: balance transactions, newest first, in pages of at most 100 with
// `starting_after` (the last id of the page before). `expand[]=data.source` brings each one's Charge
// or Refund, which names the PaymentIntent (Skerry's provider reference) and carries Skerry's payment
// id in its metadata. A charge's balance transaction exists once money is captured; its status is
// `pending` until `available_on`, then `available` (settled into the balance that is paid out).
import type Stripe from 'stripe';
import type { ProviderTransaction, TransactionListRequest, TransactionPage } from '../../domain/provider-transactions';

const MAX_PAGE = 100;

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const isoOf = (unix: number) => new Date(unix * 1000).toISOString();

function typeOf(txn: Stripe.BalanceTransaction): ProviderTransaction['type'] {
  switch (txn.type) {
    case 'charge':
    case 'payment':
      return 'payment';
    case 'refund':
    case 'payment_refund':
    case 'payment_failure_refund':
      return 'refund';
    case 'payout':
    case 'payout_cancel':
    case 'payout_failure':
      return 'payout';
    case 'stripe_fee':
    case 'application_fee':
    case 'tax_fee':
      return 'fee';
    default:
      return 'other';
  }
}

export function transactionFromBalanceTransaction(txn: Stripe.BalanceTransaction): ProviderTransaction {
  const source = typeof txn.source === 'object' && txn.source !== null ? (txn.source as unknown as Record<string, unknown>) : undefined;
  const type = typeOf(txn);
  const metadata = (source?.metadata ?? {}) as Record<string, string>;
  const paymentIntent = typeof source?.payment_intent === 'string' ? source.payment_intent : undefined;
  let status: ProviderTransaction['status'] = 'succeeded';
  if (type === 'refund' && typeof source?.status === 'string') {
    status = source.status === 'succeeded' ? 'succeeded' : source.status === 'pending' ? 'pending' : 'failed';
  }
  return {
    transactionId: txn.id,
    type,
    amount: txn.amount,
    currency: txn.currency.toUpperCase(),
    status,
    settlement: txn.status === 'available' ? 'settled' : 'pending',
    expectedSettlementAt: isoOf(txn.available_on),
    occurredAt: isoOf(txn.created),
    paymentId: metadata.skerry_payment_id || undefined,
    providerReference: paymentIntent,
    evidence: {
      balanceTransaction: txn.id,
      source: typeof txn.source === 'string' ? txn.source : ((source?.id as string | undefined) ?? null),
      stripeType: txn.type,
      fee: txn.fee,
      net: txn.net,
      stripeStatus: txn.status,
      availableOn: isoOf(txn.available_on),
    },
  };
}

export async function listStripeTransactions(stripe: Stripe, request: TransactionListRequest): Promise<TransactionPage> {
  const page = await stripe.balanceTransactions.list({
    created: { gte: seconds(request.from), lt: seconds(request.to) },
    limit: Math.min(MAX_PAGE, request.pageSize ?? MAX_PAGE),
    ...(request.cursor ? { starting_after: request.cursor } : {}),
    expand: ['data.source'],
  });
  return {
    transactions: page.data.map(transactionFromBalanceTransaction),
    nextCursor: page.has_more ? page.data.at(-1)?.id : undefined,
  };
}
