// `skerry payments …`: create, read, capture, cancel and refund payments.
import { randomUUID } from 'node:crypto';
import { Command, Option } from 'commander';
import { call, type GlobalOptions } from '../http';
import { keyValues, money, positiveInt, print, table } from '../output';

interface PaymentView {
  paymentId: string;
  workflowId: string;
  provider: string;
  status: string;
  reference: string;
  providerReference: string | null;
  amount: { value: number; currency: string };
  amountCaptured: number;
  amountRefunded: number;
  captureMethod: string;
  failureReason: string | null;
  nextAction: Record<string, unknown> | null;
  events: Array<{ occurredAt: string; source: string; providerEventType: string; statusBefore: string; statusAfter: string; applied: boolean }>;
  refunds: Array<{ refundId: string; amount: number; status: string }>;
}

type PaymentListItem = Pick<PaymentView, 'paymentId' | 'provider' | 'status' | 'reference' | 'amount' | 'amountRefunded'> & { createdAt: string };

function paymentText(payment: PaymentView, events: boolean): string {
  const summary = keyValues({
    payment: payment.paymentId,
    workflow: payment.workflowId,
    status: payment.status,
    provider: payment.provider,
    reference: payment.reference,
    'provider ref': payment.providerReference,
    amount: money(payment.amount.value, payment.amount.currency),
    captured: money(payment.amountCaptured, payment.amount.currency),
    refunded: money(payment.amountRefunded, payment.amount.currency),
    capture: payment.captureMethod,
    ...(payment.failureReason ? { failure: payment.failureReason } : {}),
    ...(payment.nextAction ? { 'next action': payment.nextAction.type } : {}),
  });
  const parts = [summary];
  if (payment.refunds.length) parts.push(table(payment.refunds, ['refundId', 'amount', 'status']));
  if (events && payment.events.length) {
    parts.push(table(payment.events.map((e) => ({ ...e, applied: e.applied ? 'yes' : 'no' })), ['occurredAt', 'source', 'providerEventType', 'statusBefore', 'statusAfter', 'applied']));
  }
  return parts.join('\n');
}

/** Money-moving requests carry an Idempotency-Key; a retry of the same operation must reuse it. */
const idempotency = (key: string | undefined) => ({ 'idempotency-key': key ?? randomUUID() });

export function paymentsCommand(globals: () => GlobalOptions): Command {
  const payments = new Command('payments').description('create, read, capture, cancel and refund payments');
  const show = (payment: PaymentView, events = false) => print(globals(), payment, () => paymentText(payment, events));

  payments
    .command('create')
    .description('start a payment (POST /payments)')
    .requiredOption('--provider <provider>', 'stripe, paypal, swish or mobilepay')
    .requiredOption('--amount <minor>', 'amount in minor units (öre, cents)', positiveInt('--amount'))
    .requiredOption('--currency <code>', 'ISO 4217 currency, e.g. SEK')
    .requiredOption('--reference <ref>', 'booking or order reference')
    .addOption(new Option('--capture-method <method>', 'automatic or manual').choices(['automatic', 'manual']).default('automatic'))
    .option('--description <text>', 'shown to the payer where the provider supports it')
    .option('--payer-alias <alias>', 'Swish or MobilePay phone number')
    .option('--idempotency-key <key>', 'a retried create with the same key returns the same payment (default: a new key for this call)')
    .action(async (options) => {
      const body = {
        provider: options.provider,
        amount: { value: options.amount, currency: options.currency },
        reference: options.reference,
        captureMethod: options.captureMethod,
        ...(options.description ? { description: options.description } : {}),
        ...(options.payerAlias ? { payer: { alias: options.payerAlias } } : {}),
      };
      show(await call<PaymentView>(globals(), 'POST', '/payments', body, idempotency(options.idempotencyKey)));
    });

  payments
    .command('list')
    .description('payments newest first, filtered (GET /payments); --cursor pages on')
    .addOption(new Option('--provider <provider>', 'only this provider').choices(['stripe', 'paypal', 'swish', 'mobilepay']))
    .option('--status <status>', 'only this status, e.g. succeeded, failed, requires_capture')
    .option('--reference <ref>', 'only this booking or order reference')
    .option('--from <date>', 'created at or after (ISO 8601)')
    .option('--to <date>', 'created before (ISO 8601)')
    .option('--search <term>', 'a payment id, provider reference, reference or booking id')
    .option('--cursor <cursor>', 'the next page, as the previous page printed it')
    .option('--limit <n>', 'payments per page (default 50, at most 200)', positiveInt('--limit'))
    .action(async (options) => {
      const query = new URLSearchParams();
      const filters = { provider: options.provider, status: options.status, reference: options.reference, from: options.from, to: options.to, q: options.search, cursor: options.cursor, limit: options.limit };
      for (const [name, value] of Object.entries(filters)) if (value !== undefined) query.set(name, String(value));
      const page = await call<{ items: PaymentListItem[]; nextCursor: string | null }>(globals(), 'GET', `/payments${query.size ? `?${query}` : ''}`);
      print(globals(), page, () => {
        if (page.items.length === 0) return 'no payments match';
        const rows = page.items.map((item) => ({
          payment: item.paymentId,
          created: item.createdAt,
          provider: item.provider,
          status: item.status,
          amount: money(item.amount.value, item.amount.currency),
          refunded: money(item.amountRefunded, item.amount.currency),
          reference: item.reference,
        }));
        const more = page.nextCursor ? `\nmore: --cursor ${page.nextCursor}` : '';
        return `${table(rows, ['payment', 'created', 'provider', 'status', 'amount', 'refunded', 'reference'])}${more}`;
      });
    });

  payments
    .command('status')
    .description("a payment's live state (GET /payments/:id)")
    .argument('<paymentId>', 'pay_…')
    .option('--events', 'also list every observation the workflow applied or ignored')
    .action(async (paymentId: string, options) => show(await call<PaymentView>(globals(), 'GET', `/payments/${encodeURIComponent(paymentId)}`), options.events));

  payments
    .command('capture')
    .description('capture an authorized payment, all or part')
    .argument('<paymentId>', 'pay_…')
    .option('--amount <minor>', 'part to capture (default: all)', positiveInt('--amount'))
    .option('--idempotency-key <key>', 'makes a retried capture the same capture (default: a new key for this call)')
    .action(async (paymentId: string, options) => {
      show(await call<PaymentView>(globals(), 'POST', `/payments/${encodeURIComponent(paymentId)}/capture`, options.amount ? { amount: options.amount } : {}, idempotency(options.idempotencyKey)));
    });

  payments
    .command('cancel')
    .description('cancel a payment that has not been captured')
    .argument('<paymentId>', 'pay_…')
    .action(async (paymentId: string) => show(await call<PaymentView>(globals(), 'POST', `/payments/${encodeURIComponent(paymentId)}/cancel`)));

  payments
    .command('refund')
    .description('refund a captured payment, all or part')
    .argument('<paymentId>', 'pay_…')
    .option('--amount <minor>', 'part to refund (default: what is left)', positiveInt('--amount'))
    .option('--reason <text>', 'kept with the refund')
    .option('--idempotency-key <key>', 'makes a retried refund the same refund (default: a new key for this call)')
    .action(async (paymentId: string, options) => {
      const headers = idempotency(options.idempotencyKey);
      const body = { ...(options.amount ? { amount: options.amount } : {}), ...(options.reason ? { reason: options.reason } : {}) };
      show(await call<PaymentView>(globals(), 'POST', `/payments/${encodeURIComponent(paymentId)}/refunds`, body, headers));
    });
  return payments;
}
