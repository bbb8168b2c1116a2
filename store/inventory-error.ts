// How the inventory repositories tell their callers (the bookings client, the API) what went wrong,
// and which Postgres errors behind drizzle's mean a refusal rather than a fault.

export class InventoryError extends Error {
  override readonly name = 'InventoryError';
  constructor(
    message: string,
    readonly code: 'not_found' | 'invalid' | 'conflict',
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The Postgres error behind a drizzle error (drizzle wraps it as `cause`). */
function pgError(err: unknown): { code?: string; constraint_name?: string; detail?: string } | undefined {
  for (let current: unknown = err; current; current = (current as { cause?: unknown }).cause) {
    if (typeof (current as { code?: unknown }).code === 'string') return current as { code: string; constraint_name?: string };
  }
  return undefined;
}

/** One of the calendar's CHECK constraints refused the write (booked ≤ allotment above all). */
export function isOverbookingViolation(err: unknown): boolean {
  const pg = pgError(err);
  return pg?.code === '23514' && (pg.constraint_name ?? '').startsWith('calendar_days_');
}

export function isUniqueViolation(err: unknown): boolean {
  return pgError(err)?.code === '23505';
}
