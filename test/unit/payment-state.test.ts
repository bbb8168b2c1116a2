import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyObservation, commandBlocker, lifecycleOf, localOutcome } from '../../workflows/payments/state';
import type { PaymentObservation, PaymentState, PaymentStatus } from '../../domain/payments';
import { T0, fold as foldFrom, obs, startPayment } from '../support/payment-observations';

const start = (captureMethod: 'automatic' | 'manual' = 'automatic') => startPayment({ captureMethod });
const fold = (events: PaymentObservation[], state: PaymentState = start()) => foldFrom(events, state);

describe('payment state machine', () => {
  it('follows a 3-D Secure payment to success', () => {
    const state = fold([
      obs({ status: 'created', providerReference: 'pi_1' }),
      obs({ status: 'requires_action' }),
      obs({ status: 'processing' }),
      obs({ status: 'succeeded', amountCaptured: 10_000 }),
    ]);
    expect(state.status).toBe('succeeded');
    expect(state.amountCaptured).toBe(10_000);
    expect(state.providerReference).toBe('pi_1');
    expect(state.events.map((event) => event.statusAfter)).toEqual(['created', 'requires_action', 'processing', 'succeeded']);
  });

  it('ignores a duplicate event id and records nothing for it', () => {
    const event = obs({ status: 'succeeded', amountCaptured: 10_000 });
    const once = fold([event]);
    const result = applyObservation(once, event);
    expect(result.applied).toBe(false);
    expect(result.state).toBe(once);
  });

  it('never moves backwards: processing after succeeded changes nothing', () => {
    const state = fold([obs({ status: 'succeeded', amountCaptured: 10_000 }), obs({ status: 'processing' })]);
    expect(state.status).toBe('succeeded');
    expect(state.events.at(-1)?.applied).toBe(false);
  });

  it('derives partial and full refunds from amounts', () => {
    const partially = fold([obs({ status: 'succeeded', amountCaptured: 10_000 }), obs({ refund: { refundId: 're_1', amount: 4_000, status: 'succeeded' } })]);
    expect(partially.status).toBe('partially_refunded');
    expect(partially.amountRefunded).toBe(4_000);
    const fully = fold([obs({ refund: { refundId: 're_2', amount: 6_000, status: 'succeeded' } })], partially);
    expect(fully.status).toBe('refunded');
  });

  it('treats a partially captured payment as fully refunded once the captured amount is refunded', () => {
    const state = fold([
      obs({ status: 'requires_capture', amountAuthorized: 10_000 }),
      obs({ status: 'succeeded', amountCaptured: 6_000 }),
      obs({ amountRefunded: 6_000 }),
    ]);
    expect(state.status).toBe('refunded');
  });

  it('a refund that arrives before the success event still ends refunded', () => {
    const state = fold([obs({ amountRefunded: 10_000, amountCaptured: 10_000 }), obs({ status: 'processing' })]);
    expect(state.status).toBe('refunded');
  });

  it('expiry and the provider cancellation it causes end expired in either order', () => {
    const a = fold([obs({ status: 'canceled' }), localOutcome('expired', 'exp', T0)]);
    const b = fold([localOutcome('expired', 'exp', T0), obs({ status: 'canceled' })]);
    expect(a.status).toBe('expired');
    expect(b.status).toBe('expired');
  });

  it('validates commands against the current state', () => {
    const created = start('manual');
    expect(commandBlocker.capture(created, undefined)).toMatch(/requires_capture/);
    const held = fold([obs({ status: 'requires_capture', amountAuthorized: 10_000 })], created);
    expect(commandBlocker.capture(held, 12_000)).toMatch(/between 1 and 10000/);
    expect(commandBlocker.capture(held, 5_000)).toBeUndefined();
    expect(commandBlocker.refund(held, 1)).toMatch(/only succeeded/);
    const paid = fold([obs({ status: 'succeeded', amountCaptured: 10_000 })]);
    expect(commandBlocker.refund(paid, 10_001)).toMatch(/between 1 and 10000/);
    expect(commandBlocker.refund(paid, 10_000)).toBeUndefined();
    expect(commandBlocker.cancel(paid)).toMatch(/only created/);
    const failed = fold([obs({ status: 'failed', failureReason: 'card_declined' })]);
    expect(failed.failureReason).toBe('card_declined');
    expect(commandBlocker.capture(failed, undefined)).toMatch(/failed/);
  });
});

// A payment's real life produces a bounded set of events; webhooks may deliver them in any order
// and any number of times. The final state must not depend on either.
const lifecycles: PaymentObservation[][] = [
  [obs({ status: 'created' }), obs({ status: 'requires_action' }), obs({ status: 'succeeded', amountCaptured: 10_000 })],
  [
    obs({ status: 'created' }),
    obs({ status: 'processing' }),
    obs({ status: 'succeeded', amountCaptured: 10_000 }),
    obs({ refund: { refundId: 're_a', amount: 3_000, status: 'pending' } }),
    obs({ refund: { refundId: 're_a', amount: 3_000, status: 'succeeded' } }),
    obs({ amountRefunded: 3_000, amountCaptured: 10_000 }),
    obs({ refund: { refundId: 're_b', amount: 7_000, status: 'succeeded' } }),
  ],
  [obs({ status: 'created' }), obs({ status: 'requires_capture', amountAuthorized: 10_000 }), obs({ status: 'succeeded', amountCaptured: 8_000 })],
  [obs({ status: 'created' }), obs({ status: 'requires_action' }), obs({ status: 'failed', failureReason: 'declined' })],
  [obs({ status: 'created' }), obs({ status: 'requires_capture', amountAuthorized: 10_000 }), obs({ status: 'canceled' })],
];

const RANK: Record<PaymentStatus, number> = {
  created: 0,
  requires_action: 1,
  processing: 2,
  requires_capture: 3,
  failed: 4,
  canceled: 5,
  expired: 6,
  succeeded: 7,
  partially_refunded: 7,
  refunded: 7,
};

describe('payment state machine properties', () => {
  it('any order and multiplicity of a payment’s events ends in the same state and never moves backwards', () => {
    const arbitrary = fc.constantFrom(...lifecycles).chain((events) =>
      fc.tuple(
        fc.constant(events),
        fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }),
        fc.array(fc.nat({ max: events.length - 1 }), { maxLength: 10 }),
      ),
    );
    fc.assert(
      fc.property(arbitrary, ([inOrder, shuffled, duplicateIndexes]) => {
        const delivered = [...shuffled];
        for (const index of duplicateIndexes) delivered.splice(index % (delivered.length + 1), 0, shuffled[index]!);
        const expected = fold(inOrder);
        let state = start();
        for (const event of delivered) {
          const next = applyObservation(state, event).state;
          expect(RANK[lifecycleOf(next.status)]).toBeGreaterThanOrEqual(RANK[lifecycleOf(state.status)]);
          expect(next.amountRefunded).toBeGreaterThanOrEqual(state.amountRefunded);
          expect(next.amountCaptured).toBeGreaterThanOrEqual(state.amountCaptured);
          state = next;
        }
        expect(state.status).toBe(expected.status);
        expect(state.amountCaptured).toBe(expected.amountCaptured);
        expect(state.amountRefunded).toBe(expected.amountRefunded);
        expect(state.amountAuthorized).toBe(expected.amountAuthorized);
        expect(state.refunds).toEqual(expected.refunds);
      }),
      { numRuns: 500 },
    );
  });
});

describe('a decline is an attempt, not an outcome', () => {
  it('keeps a declined payment open with the reason, and a later success ends it succeeded with the money', () => {
    const declined = fold([
      obs({ status: 'created', providerReference: 'pi_1', nextAction: { type: 'stripe_client_secret', clientSecret: 'pi_1_secret' } }),
      obs({ status: 'created', failureReason: 'card_declined: insufficient_funds' }),
    ]);
    expect(declined).toMatchObject({ status: 'created', failureReason: 'card_declined: insufficient_funds', amountCaptured: 0 });
    // The payer is sent back to pay again: the next action stays.
    expect(declined.nextAction).toEqual({ type: 'stripe_client_secret', clientSecret: 'pi_1_secret' });
    expect(commandBlocker.cancel(declined)).toBeUndefined();
    const paid = fold([obs({ status: 'succeeded', amountCaptured: 10_000 })], declined);
    expect(paid).toMatchObject({ status: 'succeeded', amountCaptured: 10_000, failureReason: undefined, nextAction: undefined });
  });

  it('takes captured money as proof of success, even after Skerry expired the payment', () => {
    const expired = fold([obs({ status: 'created' }), localOutcome('expired', 'command:expired', T0)]);
    expect(expired.status).toBe('expired');
    const late = fold([obs({ amountCaptured: 10_000 })], expired);
    expect(late).toMatchObject({ status: 'succeeded', amountCaptured: 10_000 });
  });
});

// Every kind of thing a provider or Skerry itself can say about one payment, captured money included.
const observationVocabulary: fc.Arbitrary<PaymentObservation> = fc.oneof(
  fc.constantFrom<Partial<PaymentObservation>>(
    { status: 'created' },
    { status: 'created', failureReason: 'card_declined' },
    { status: 'requires_action' },
    { status: 'processing' },
    { status: 'requires_capture', amountAuthorized: 10_000 },
    { status: 'failed', failureReason: 'capture DECLINED' },
    { status: 'canceled' },
    { status: 'expired' },
    { refund: { refundId: 're_x', amount: 2_000, status: 'pending' } },
    { refund: { refundId: 're_x', amount: 2_000, status: 'failed' } },
  ),
  fc.record({ amountCaptured: fc.integer({ min: 1, max: 10_000 }) }).map((money) => ({ status: 'succeeded' as const, ...money })),
  // A charge event: money captured, no lifecycle status of its own.
  fc.record({ amountCaptured: fc.integer({ min: 1, max: 10_000 }) }),
).map((partial) => obs(partial));

describe('captured money is never lost', () => {
  it('across any order of observations, money captured at a provider is never recorded as 0 captured in a closed payment', () => {
    fc.assert(
      fc.property(fc.array(observationVocabulary, { minLength: 1, maxLength: 12 }), (delivered) => {
        let state = start();
        let capturedAtProvider = 0;
        for (const event of delivered) {
          state = applyObservation(state, event).state;
          capturedAtProvider = Math.max(capturedAtProvider, event.amountCaptured ?? 0);
          if (capturedAtProvider === 0) continue;
          expect(state.amountCaptured).toBe(capturedAtProvider);
          expect(['failed', 'canceled', 'expired']).not.toContain(state.status);
        }
      }),
      { numRuns: 1_000 },
    );
  });
});
