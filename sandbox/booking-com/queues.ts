// Booking.com's two reservation queues (new; modified and cancelled) for one machine account, and
// the fallback behind them. From developers.booking.com, "Acknowledging new reservations" and
// "Reservation Recovery API overview":
// - a message stays in its queue until it is acknowledged as successfully processed;
// - an acknowledgement with <Errors> ("unsuccessfully processed") keeps it in the queue: it does not
//   reject the guest's reservation, which stands;
// - a message not successfully acknowledged within the timeout (30 minutes) leaves the queue and is
//   sent to the property by e-mail instead.
import { randomInt } from 'node:crypto';

export type QueueName = 'new' | 'modify';

export interface QueueEntry {
  resId: string;
  version: string;
  enqueuedAt: number;
  /** The version the last GET of the queue handed out: an ack covers that version, not a newer one. */
  servedVersion?: string;
  /** Acknowledgements that carried <Errors>: the message stayed queued. */
  failedAcks: Array<{ at: string; code: string; text: string }>;
}

/** A message Booking.com gave up on and sent to the property as an e-mail. */
export interface FallbackEmail {
  at: string;
  queue: QueueName;
  resId: string;
  hotelId: string;
  subject: string;
  /** Why the connectivity provider's system did not take it. */
  reason: string;
}

/** The documented timeout before the fallback e-mail (without the Reservation Recovery API). */
export const FALLBACK_AFTER_MS = 30 * 60_000;

export class ReservationQueues {
  readonly entries: Record<QueueName, Map<string, QueueEntry>> = { new: new Map(), modify: new Map() };
  readonly emails: FallbackEmail[] = [];
  readonly #now: () => number;
  readonly #fallbackAfterMs: number;

  constructor(now: () => number, fallbackAfterMs = FALLBACK_AFTER_MS) {
    this.#now = now;
    this.#fallbackAfterMs = fallbackAfterMs;
  }

  enqueue(queue: QueueName, resId: string, lastModifiedAt: string): void {
    this.entries[queue].set(resId, { resId, version: `${lastModifiedAt}#${randomInt(1_000_000)}`, enqueuedAt: this.#now(), failedAcks: [] });
  }

  /** A successful acknowledgement: the message leaves the queue if the version handed out is still the latest. */
  processed(queue: QueueName, resId: string): void {
    const entry = this.entries[queue].get(resId);
    if (entry && entry.servedVersion === entry.version) this.entries[queue].delete(resId);
  }

  /** An acknowledgement with <Errors>: the message stays queued until a successful one or the timeout. */
  failed(queue: QueueName, resId: string, error: { code: string; text: string }): void {
    this.entries[queue].get(resId)?.failedAcks.push({ at: new Date(this.#now()).toISOString(), ...error });
  }

  /** Moves every message past the timeout into an e-mail to its property. */
  sendOverdue(hotelOf: (resId: string) => string): void {
    const now = this.#now();
    for (const queue of ['new', 'modify'] as const) {
      for (const entry of this.entries[queue].values()) {
        if (now - entry.enqueuedAt < this.#fallbackAfterMs) continue;
        this.entries[queue].delete(entry.resId);
        const last = entry.failedAcks.at(-1);
        this.emails.push({
          at: new Date(now).toISOString(),
          queue,
          resId: entry.resId,
          hotelId: hotelOf(entry.resId),
          subject: `${queue === 'new' ? 'New reservation' : 'Modified or cancelled reservation'} ${entry.resId}: not processed by your connectivity provider`,
          reason: last ? `acknowledged unsuccessfully (${last.code} ${last.text})` : 'not acknowledged within the timeout',
        });
      }
    }
  }

  view(): Record<QueueName, Array<{ resId: string; ageMs: number; served: boolean; failedAcks: number }>> {
    const view = (queue: QueueName) =>
      [...this.entries[queue].values()].map((entry) => ({
        resId: entry.resId,
        ageMs: this.#now() - entry.enqueuedAt,
        served: entry.servedVersion === entry.version,
        failedAcks: entry.failedAcks.length,
      }));
    return { new: view('new'), modify: view('modify') };
  }

  snapshot() {
    return { new: [...this.entries.new.entries()], modify: [...this.entries.modify.entries()], emails: this.emails };
  }

  restore(saved: { new?: [string, QueueEntry][]; modify?: [string, QueueEntry][]; emails?: FallbackEmail[] } | undefined): void {
    this.clear();
    for (const queue of ['new', 'modify'] as const) for (const [resId, entry] of saved?.[queue] ?? []) this.entries[queue].set(resId, entry);
    this.emails.push(...(saved?.emails ?? []));
  }

  clear(): void {
    this.entries.new.clear();
    this.entries.modify.clear();
    this.emails.length = 0;
  }
}
