// Webhook registrations Skerry made at a provider through its API (`skerry mobilepay webhooks
// register`), with the signing secret the provider returned, sealed (security/sealing.ts). The
// webhook verifier accepts every stored secret of its provider: during a rotation two registrations
// exist, and both secrets verify until the old one is deleted.
import { index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const providerWebhooks = pgTable(
  'provider_webhooks',
  {
    /** The provider's id of the registration. */
    id: text('id').primaryKey(),
    provider: text('provider').notNull(),
    /** The account the registration belongs to (MobilePay: the merchant serial number). */
    account: text('account').notNull(),
    url: text('url').notNull(),
    events: jsonb('events').$type<string[]>().notNull(),
    /** The signing secret, sealed v2:<key id> for this row (store/provider-webhooks.ts). */
    secretEnc: text('secret_enc').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('provider_webhooks_provider_idx').on(table.provider, table.account)],
);
