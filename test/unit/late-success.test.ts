import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { localOutcome } from '../../workflows/payments/state';
import { lateSuccessAction, mayBeLateSuccess } from '../../workflows/payments/late-success';
import type { PaymentObservation, PaymentState } from '../../domain/payments';
import { T0, fold as foldFrom, obs, startPayment } from '../support/payment-observations';

const start = () => startPayment({ paymentId: 'pay_late', amount: 50_000, reference: 'B-17' });
const fold = (events: PaymentObservation[], state: PaymentState = start()) => foldFrom(events, state);

describe('LATE_SUCCESS_POLICY', () => {
  it('defaults to refund: money for a payment Skerry gave up on is not kept without a person deciding so', () => {
    expect(loadConfig({}).lateSuccessPolicy).toBe('refund');
  });

  it('takes reopen or refund, and names the variable for anything else', () => {
    expect(loadConfig({ LATE_SUCCESS_POLICY: 'reopen' }).lateSuccessPolicy).toBe('reopen');
    expect(loadConfig({ LATE_SUCCESS_POLICY: 'refund' }).lateSuccessPolicy).toBe('refund');
    expect(() => loadConfig({ LATE_SUCCESS_POLICY: 'keep' })).toThrow(/LATE_SUCCESS_POLICY.*refund, reopen/);
    expect(() => loadConfig({ LATE_SUCCESS_POLICY: 'REOPEN' })).toThrow(/LATE_SUCCESS_POLICY/);
  });
});

describe('what a late success does', () => {
  const expired = fold([obs({ status: 'created', providerReference: 'pi_1' }), localOutcome('expired', 'command:expired', T0)]);
  const lateCapture = obs({ status: 'succeeded', amountCaptured: 50_000 });
  const afterLateCapture = fold([lateCapture], expired);

  it('reopen keeps the money: the fold has made the payment succeeded with what was captured', () => {
    expect(afterLateCapture).toMatchObject({ status: 'succeeded', amountCaptured: 50_000 });
    expect(lateSuccessAction('expired', afterLateCapture, 'reopen')).toEqual({ kind: 'reopen' });
  });

  it('refund gives back exactly what was captured and not refunded yet', () => {
    expect(lateSuccessAction('expired', afterLateCapture, 'refund')).toEqual({ kind: 'refund', amount: 50_000 });
    const partlyRefunded = fold([obs({ refund: { refundId: 're_1', amount: 20_000, status: 'succeeded' } })], afterLateCapture);
    expect(lateSuccessAction('expired', partlyRefunded, 'refund')).toEqual({ kind: 'refund', amount: 30_000 });
    const refunded = fold([obs({ refund: { refundId: 're_2', amount: 30_000, status: 'succeeded' } })], partlyRefunded);
    expect(lateSuccessAction('expired', refunded, 'refund')).toMatchObject({ kind: 'none' });
  });

  it('does nothing when the provider captured nothing, or the payment had closed with money', () => {
    const stillExpired = fold([obs({ status: 'canceled' })], expired);
    expect(lateSuccessAction('expired', stillExpired, 'refund')).toMatchObject({ kind: 'none', why: expect.stringMatching(/captured nothing/) });
    expect(lateSuccessAction('refunded', afterLateCapture, 'refund')).toMatchObject({ kind: 'none' });
    for (const closedAs of ['failed', 'canceled', 'expired'] as const) expect(lateSuccessAction(closedAs, afterLateCapture, 'reopen').kind).toBe('reopen');
  });

  it('starts a new run only for an event that may be money on a payment closed without any', () => {
    expect(mayBeLateSuccess(expired, lateCapture)).toBe(true);
    expect(mayBeLateSuccess(expired, { amountCaptured: 1 })).toBe(true);
    expect(mayBeLateSuccess(expired, { status: 'requires_capture' })).toBe(true);
    expect(mayBeLateSuccess(expired, 'hint')).toBe(true);
    expect(mayBeLateSuccess(expired, { status: 'canceled' })).toBe(false);
    expect(mayBeLateSuccess(expired, { status: 'created', amountCaptured: 0 })).toBe(false);
    // Once settled (reopened or refunded) the payment holds money: a duplicate starts nothing.
    expect(mayBeLateSuccess(afterLateCapture, lateCapture)).toBe(false);
    expect(mayBeLateSuccess({ status: 'refunded', amountCaptured: 50_000 }, lateCapture)).toBe(false);
  });
});

describe('a decline while processing', () => {
  it('stays processing (the fold never moves back) but keeps the reason and the next action for the payer', () => {
    const processing = fold([obs({ status: 'created', nextAction: { type: 'stripe_client_secret', clientSecret: 'pi_1_secret' } }), obs({ status: 'processing' })]);
    const declined = fold([obs({ status: 'created', failureReason: 'card_declined: generic_decline', nextAction: { type: 'stripe_client_secret', clientSecret: 'pi_1_secret' } })], processing);
    expect(declined).toMatchObject({ status: 'processing', failureReason: 'card_declined: generic_decline', amountCaptured: 0 });
    expect(declined.nextAction).toEqual({ type: 'stripe_client_secret', clientSecret: 'pi_1_secret' });
    // A new attempt processing again clears the old attempt's reason.
    expect(fold([obs({ status: 'processing' })], declined).failureReason).toBeUndefined();
  });
});
