// The no-change judgement the webhook delivery makes before signalling a payment (#20): which
// observations of each provider are no-ops against what the ledger records, and the property that
// makes it safe — judged against an earlier state of the payment (a stale ledger), an observation
// said to change nothing changes nothing in any later state either.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import Stripe from 'stripe';
import { applyObservation } from '../../workflows/payments/state';
import { judgeObservation } from '../../workflows/payments/observation-judgement';
import { createStripeWebhookVerifier } from '../../providers/stripe/webhooks';
import { withIgnored } from '../../client/payments';
import type { PaymentEventRecord, PaymentObservation, PaymentState, ProviderName } from '../../domain/payments';
import { T0, fold, obs, startPayment } from '../support/payment-observations';

const start = (provider: ProviderName = 'stripe', captureMethod: 'automatic' | 'manual' = 'automatic') => startPayment({ provider, captureMethod });
// Its own ids, apart from obs()'s: a shared id would read as the same event delivered twice.
let signedSeq = 0;

/** What the ledger keeps of a state (store/payment-ledger.ts recorded()): no refunds one by one, no next action, no event ids. */
const ledgerView = (state: PaymentState): PaymentState => ({ ...state, refunds: {}, nextAction: undefined, events: [], seenEventIds: [] });

const changes = (known: PaymentState, observation: PaymentObservation) => judgeObservation(known, observation).changes;

describe('no-change judgement, Stripe (the webhooks B3 sends)', () => {
  const secret = 'whsec_judgement';
  const verifier = createStripeWebhookVerifier({ secrets: () => [secret], toleranceSeconds: 300 });
  const sdk = new Stripe('sk_test_judgement', { telemetry: false });
  const intent = (status: string, extra: Record<string, unknown> = {}) => ({
    id: 'pi_1',
    object: 'payment_intent',
    amount: 10_000,
    amount_received: status === 'succeeded' ? 10_000 : 0,
    currency: 'sek',
    capture_method: 'automatic',
    client_secret: 'pi_1_secret_abc',
    status,
    metadata: { skerry_payment_id: 'pay_test', skerry_reference: 'B-1' },
    ...extra,
  });
  const charge = { id: 'ch_1', object: 'charge', payment_intent: 'pi_1', captured: true, amount_captured: 10_000, amount_refunded: 0, metadata: {} };
  /** The observation Skerry's own verifier makes of a signed event, as the inbox stores it. */
  const observe = async (type: string, object: unknown): Promise<PaymentObservation> => {
    const payload = JSON.stringify({ id: `evt_signed_${++signedSeq}`, object: 'event', type, created: Math.floor(Date.parse(T0) / 1000), data: { object } });
    const [event] = await verifier.verify({ url: '/webhooks/stripe', rawBody: Buffer.from(payload), headers: { 'stripe-signature': sdk.webhooks.generateTestHeaderString({ payload, secret }) } });
    return event!.observation!;
  };
  // What the workflow records once its create call answered: the intent's reference and client secret.
  const created = fold([obs({ source: 'command', status: 'created', providerReference: 'pi_1', nextAction: { type: 'stripe_client_secret', clientSecret: 'pi_1_secret_abc' } })], start());

  it('payment_intent.created changes nothing once the ledger has the intent; before that it is delivered', async () => {
    const event = await observe('payment_intent.created', intent('requires_payment_method'));
    expect(changes(ledgerView(created), event)).toBe(false);
    expect(changes(ledgerView(start()), event)).toBe(true);
  });

  it('charge.succeeded beside payment_intent.succeeded: whichever comes second changes nothing', async () => {
    const succeeded = await observe('payment_intent.succeeded', intent('succeeded'));
    const charged = await observe('charge.succeeded', charge);
    expect(changes(ledgerView(created), succeeded)).toBe(true);
    expect(changes(ledgerView(created), charged)).toBe(true);
    const afterSucceeded = judgeObservation(ledgerView(created), succeeded).state;
    expect(changes(afterSucceeded, charged)).toBe(false);
    const afterCharge = judgeObservation(ledgerView(created), charged).state;
    expect(changes(afterCharge, succeeded)).toBe(false);
  });

  it('a decline while awaiting the payer carries a new reason: delivered', async () => {
    const declined = await observe('payment_intent.payment_failed', intent('requires_payment_method', { last_payment_error: { code: 'card_declined', decline_code: 'insufficient_funds' } }));
    expect(declined.failureReason).toBeDefined();
    expect(changes(ledgerView(created), declined)).toBe(true);
  });

  it('a refund is delivered: the ledger does not keep refunds one by one', async () => {
    const paid = ledgerView(fold([obs({ status: 'succeeded', amountCaptured: 10_000 })], created));
    const refund = await observe('refund.created', { id: 're_1', object: 'refund', payment_intent: 'pi_1', amount: 4_000, status: 'succeeded' });
    expect(changes(paid, refund)).toBe(true);
  });

  it('a late success on a payment closed without money is always delivered (the delivery decides on a new run)', async () => {
    const expired = ledgerView(fold([obs({ status: 'expired' })], created));
    expect(changes(expired, await observe('payment_intent.succeeded', intent('succeeded')))).toBe(true);
    // Even one the fold alone would not move: requires_capture ranks below expired.
    expect(changes(expired, obs({ status: 'requires_capture' }))).toBe(true);
    expect(changes(expired, obs({ status: 'canceled' }))).toBe(false);
  });
});

describe('no-change judgement, PayPal, MobilePay, Swish (observations as their webhook mappings make them)', () => {
  it('PayPal: a second CHECKOUT.ORDER.APPROVED-style requires_action with a new approve link is delivered; a repeated capture is not', () => {
    const approving = fold([obs({ source: 'command', status: 'requires_action', providerReference: 'ORDER-1', nextAction: { type: 'redirect', url: 'https://paypal/approve/1' } })], start('paypal'));
    // A redirect is not fixed for the order's life as far as the ledger can tell: delivered.
    expect(changes(ledgerView(approving), obs({ status: 'requires_action', providerReference: 'ORDER-1', nextAction: { type: 'redirect', url: 'https://paypal/approve/1' } }))).toBe(true);
    const captured = ledgerView(fold([obs({ status: 'succeeded', amountCaptured: 10_000 })], approving));
    expect(changes(captured, obs({ status: 'succeeded', amountCaptured: 10_000 }))).toBe(false);
    expect(changes(captured, obs({ status: 'processing' }))).toBe(false);
    expect(changes(captured, obs({ status: 'succeeded', amountCaptured: 10_000, amountRefunded: 2_000 }))).toBe(true);
  });

  it('MobilePay: AUTHORIZED after CAPTURED changes nothing; CREATED after AUTHORIZED changes nothing; AUTHORIZED with a larger amount does', () => {
    const authorized = ledgerView(fold([obs({ status: 'requires_capture', providerReference: 'mp-1', amountAuthorized: 10_000 })], start('mobilepay', 'manual')));
    expect(changes(authorized, obs({ status: 'created', providerReference: 'mp-1' }))).toBe(false);
    expect(changes(authorized, obs({ status: 'requires_capture', amountAuthorized: 10_000 }))).toBe(false);
    expect(changes(authorized, obs({ status: 'requires_capture', amountAuthorized: 12_000 }))).toBe(true);
    const captured = ledgerView(fold([obs({ status: 'succeeded', amountCaptured: 10_000 })], authorized));
    expect(changes(captured, obs({ status: 'requires_capture', amountAuthorized: 10_000 }))).toBe(false);
    expect(changes(captured, obs({ refund: { refundId: 'r-1', amount: 10_000, status: 'succeeded' } }))).toBe(true);
  });

  it('Swish: a PAID callback is a hint the delivery never judges; a paid observation after success changes nothing', () => {
    const paid = ledgerView(fold([obs({ status: 'succeeded', providerReference: 'SW1', amountCaptured: 10_000 })], start('swish')));
    expect(changes(paid, obs({ status: 'succeeded', amountCaptured: 10_000 }))).toBe(false);
    expect(changes(paid, obs({ status: 'failed', failureReason: 'declined' }))).toBe(false);
  });

  it('a duplicate event id the known state has seen changes nothing', () => {
    const event = obs({ status: 'succeeded', amountCaptured: 10_000 });
    const seen = judgeObservation(start(), event).state;
    expect(changes(seen, event)).toBe(false);
  });
});

describe('no-change judgement is safe against a stale ledger', () => {
  const statuses = ['created', 'requires_action', 'processing', 'requires_capture', 'failed', 'canceled', 'expired', 'succeeded'] as const;
  const observation = fc
    .record({
      status: fc.option(fc.constantFrom(...statuses), { nil: undefined }),
      amountAuthorized: fc.option(fc.constantFrom(0, 5_000, 10_000), { nil: undefined }),
      amountCaptured: fc.option(fc.constantFrom(0, 5_000, 10_000), { nil: undefined }),
      amountRefunded: fc.option(fc.constantFrom(0, 2_000, 10_000), { nil: undefined }),
      refund: fc.option(
        fc.record({ refundId: fc.constantFrom('re_1', 're_2'), amount: fc.constantFrom(2_000, 5_000), status: fc.constantFrom('pending' as const, 'failed' as const, 'succeeded' as const) }),
        { nil: undefined },
      ),
      failureReason: fc.option(fc.constantFrom('declined', 'expired card'), { nil: undefined }),
      providerReference: fc.option(fc.constant('pi_1'), { nil: undefined }),
      redirect: fc.option(fc.constantFrom('https://bank/1', 'https://bank/2'), { nil: undefined }),
    })
    .map(({ redirect, ...partial }) => {
      // Stripe's snapshot: its PaymentIntent's one client secret while the payer has to act; other
      // providers' redirects may change from attempt to attempt.
      const awaiting = partial.status === 'created' || partial.status === 'requires_action';
      const nextAction = redirect
        ? { type: 'redirect' as const, url: redirect }
        : awaiting && partial.providerReference
          ? { type: 'stripe_client_secret' as const, clientSecret: 'pi_1_secret_abc' }
          : undefined;
      return obs({ ...partial, nextAction });
    });
  // Every payment Skerry created starts with its create call's answer: the reference and the secret.
  const origin = () => obs({ source: 'command', status: 'created', providerReference: 'pi_1', nextAction: { type: 'stripe_client_secret', clientSecret: 'pi_1_secret_abc' } });

  it('an observation no-op against an earlier state (as the ledger records it) changes nothing in any later state', () => {
    let judgedNoChange = 0;
    fc.assert(
      fc.property(fc.boolean(), fc.array(observation, { maxLength: 5 }), fc.array(observation, { maxLength: 5 }), observation, (created, earlier, later, event) => {
        const recorded = fold(created ? [origin(), ...earlier] : earlier, start());
        const now = fold(later, recorded);
        if (judgeObservation(ledgerView(recorded), event).changes) return;
        judgedNoChange += 1;
        const result = applyObservation(now, event);
        expect(result.changed).toBe(false);
        expect(result.state.status).toBe(now.status);
        expect(result.state.failureReason).toBe(now.failureReason);
        expect(result.state.nextAction).toEqual(now.nextAction);
      }),
      { numRuns: 5_000 },
    );
    // The property is about something: a good share of the generated observations are judged no-ops.
    expect(judgedNoChange).toBeGreaterThan(200);
  });
});

describe('the payment view shows ignored observations in their place', () => {
  const record = (eventId: string, occurredAt: string, applied = true): PaymentEventRecord => ({
    eventId,
    source: 'webhook',
    providerEventType: 'test',
    statusBefore: 'created',
    statusAfter: applied ? 'succeeded' : 'created',
    applied,
    occurredAt,
  });

  it('merges the ledger-only ignored events by time, keeps the workflow order, and does not repeat one the workflow has', () => {
    const workflow = [record('a', '2026-01-01T00:00:01.000Z'), record('b', '2026-01-01T00:00:03.000Z')];
    const ignored = [record('x', '2026-01-01T00:00:02.000Z', false), record('a', '2026-01-01T00:00:01.000Z', false), record('y', '2026-01-01T00:00:09.000Z', false)];
    expect(withIgnored(workflow, ignored).map((event) => event.eventId)).toEqual(['a', 'x', 'b', 'y']);
    expect(withIgnored(workflow, [])).toBe(workflow);
  });
});
