// What this process knows each payment's workflow has already reached: a state the workflow
// answered with (an update's or a query's result), or one the delivery folded from the ledger and
// the observations it signalled since. Because the payment fold only moves forward, any of these is
// a lower bound of the workflow's state from then on, which is all the no-change judgement needs;
// it is memory only (bounded, per process), never the truth the ledger or the workflow holds.
import type { PaymentState } from '../domain/payments';

const DEFAULT_CAPACITY = 10_000;

interface Entry {
  state?: PaymentState;
  /** The last delivery queued for this payment through this process. */
  tail: Promise<unknown>;
}

export function createKnownPayments(capacity = DEFAULT_CAPACITY) {
  const entries = new Map<string, Entry>();

  /** The entry, moved to the young end; the oldest beyond capacity are forgotten. */
  const touch = (paymentId: string): Entry => {
    const entry = entries.get(paymentId) ?? { tail: Promise.resolve() };
    entries.delete(paymentId);
    entries.set(paymentId, entry);
    while (entries.size > capacity) entries.delete(entries.keys().next().value!);
    return entry;
  };

  return {
    get: (paymentId: string): PaymentState | undefined => entries.get(paymentId)?.state,

    /** Two lower bounds of one workflow: the later revision knows more (either alone is safe). */
    learn(state: PaymentState): void {
      const entry = touch(state.paymentId);
      if (!entry.state || state.revision >= entry.state.revision) entry.state = state;
    },

    /**
     * Runs one payment's deliveries one after another, so the second of two webhooks sent together
     * (Stripe's charge.succeeded beside payment_intent.succeeded) is judged knowing the first.
     * A forgotten entry only loses that ordering, not correctness.
     */
    serialize<T>(paymentId: string, work: () => Promise<T>): Promise<T> {
      const entry = touch(paymentId);
      const run = entry.tail.then(work);
      entry.tail = run.catch(() => undefined);
      return run;
    },
  };
}

export type KnownPayments = ReturnType<typeof createKnownPayments>;
