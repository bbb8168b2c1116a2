// Seeding for reconciliation tests and the benchmark: ledger payments and bookings written straight
// into Postgres (a fast path, as the payment workflows would have left them), and the same payments
// as the provider sandbox's history. Each test takes its own past day, so runs never see each other.
import { randomBytes } from 'node:crypto';
import type { Database } from '../../db/client';
import { payments, reservations } from '../../db/schema';
import type { ProviderName } from '../../domain/payments';

export interface LedgerSeed {
  paymentId: string;
  provider: ProviderName;
  status: string;
  reference: string;
  currency: string;
  amount: number;
  amountCaptured: number;
  amountRefunded?: number;
  providerReference: string | null;
  createdAt: Date;
  captureMethod?: 'automatic' | 'manual';
}

export interface BookingSeed {
  reservationId: string;
  paymentId: string;
  amount: number;
  currency: string;
  status?: 'confirmed' | 'held' | 'cancelled';
}

/** Lower-case letters and digits, as Skerry ids are. */
export function tag(length = 8): string {
  return randomBytes(length).toString('hex').slice(0, length);
}

/** A random past day far from today, so the test's period holds only what the test seeded. */
export function randomPastDay(): string {
  const start = Date.UTC(2005, 0, 1);
  const days = Math.floor(Math.random() * 365 * 15);
  return new Date(start + days * 86_400_000).toISOString().slice(0, 10);
}

/** A moment inside the day: `i` spreads seeds over 01:00–22:59 UTC. */
export function momentIn(day: string, i: number): number {
  return Date.parse(`${day}T01:00:00.000Z`) + ((i * 7_919) % (22 * 3_600)) * 1000;
}

export async function insertLedger(db: Database, rows: LedgerSeed[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 2_000) {
    await db.insert(payments).values(
      rows.slice(i, i + 2_000).map((row) => ({
        id: row.paymentId,
        workflowId: `payment-${row.paymentId}`,
        provider: row.provider,
        status: row.status,
        reference: row.reference,
        captureMethod: row.captureMethod ?? 'automatic',
        currency: row.currency,
        amount: row.amount,
        amountAuthorized: row.amountCaptured,
        amountCaptured: row.amountCaptured,
        amountRefunded: row.amountRefunded ?? 0,
        providerReference: row.providerReference,
        revision: 0,
        createdAt: row.createdAt,
        updatedAt: row.createdAt,
      })),
    );
  }
}

export async function insertBookings(db: Database, rows: BookingSeed[], day: string): Promise<void> {
  const checkIn = day;
  const checkOut = new Date(Date.parse(`${day}T00:00:00Z`) + 2 * 86_400_000).toISOString().slice(0, 10);
  for (let i = 0; i < rows.length; i += 2_000) {
    await db.insert(reservations).values(
      rows.slice(i, i + 2_000).map((row) => ({
        id: row.reservationId,
        channel: 'direct',
        status: row.status ?? 'confirmed',
        checkIn,
        checkOut,
        rooms: 1,
        guestName: 'Reconciliation Test',
        totalAmount: row.amount,
        currency: row.currency,
        paymentId: row.paymentId,
        workflowId: `reservation-${row.reservationId}`,
      })),
    );
  }
}
