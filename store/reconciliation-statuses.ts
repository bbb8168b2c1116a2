// The ledger's payment statuses as the reconciliation SQL groups them.
import { sql } from 'drizzle-orm';

/** The ledger has taken the money. */
export const SETTLED = ['succeeded', 'partially_refunded', 'refunded'] as const;
/** The ledger is still waiting for the payer or the provider: a provider that moved on explains it. */
export const IN_FLIGHT = ['created', 'requires_action', 'processing', 'requires_capture'] as const;

/** Values as SQL parameters, for `in (…)`. */
export const sqlList = (values: readonly string[]) => sql.join(values.map((value) => sql`${value}`), sql`, `);
