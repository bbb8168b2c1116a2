// Every environment variable Skerry reads, with its shape and default. loadConfig (config/index.ts)
// parses the environment with it once; the sections turn the parsed values into the Config.
import { z } from 'zod';
import { durationMs, optionalString, port, secretList } from './fields';
import { RESILIENCE_ENV } from './resilience';
import { LATE_SUCCESS_POLICIES } from '../domain/payments';

const encryptionKey = optionalString.pipe(
  z.string().regex(/^([0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=)$/, 'must be 32 bytes as 64 hex characters or base64').optional(),
);

export const EnvSchema = z.object({
  APP_ENV: z.enum(['development', 'staging', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('127.0.0.1'),
  PORT: port(3000),
  // The public door (webhooks, OAuth and payment return pages, /health): the one the internet reaches.
  // HOST/PORT are the admin door (the REST API, /docs, /metrics), on loopback by default.
  PUBLIC_HOST: z.string().default('127.0.0.1'),
  PUBLIC_PORT: port(3001),
  /** Host names the admin door answers to (a foreign Host header gets 421: DNS rebinding). */
  ADMIN_ALLOWED_HOSTS: secretList,
  /** Browser origins allowed to call the admin door (CORS); unset = none. */
  CORS_ORIGINS: secretList.pipe(z.array(z.url())),
  /** An API key (sk_…, all scopes) whose hash is stored at start when absent: the first key of a deployment. */
  SKERRY_BOOTSTRAP_API_KEY: optionalString.pipe(z.string().regex(/^sk_[A-Za-z0-9_-]{32,200}$/, 'must be sk_ followed by at least 32 characters of A-Z a-z 0-9 _ -').optional()),
  // Abuse limits of the public door: requests per minute per provider route and source address, and
  // PayPal's remote signature verification's own budget (a bounded queue, a timeout, a share of the rate).
  WEBHOOK_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(600),
  PUBLIC_PAGE_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(60),
  PAYPAL_VERIFY_CONCURRENCY: z.coerce.number().int().positive().default(4),
  PAYPAL_VERIFY_QUEUE_SIZE: z.coerce.number().int().min(0).default(32),
  PAYPAL_VERIFY_TIMEOUT_MS: durationMs(5_000),
  PAYPAL_VERIFY_RATE_SHARE: z.coerce.number().gt(0).max(1).default(0.2),
  PUBLIC_URL: optionalString.pipe(z.url().optional()),
  SANDBOX_PORT: port(4010),
  SANDBOX_URL: optionalString.pipe(z.url().optional()),
  SANDBOX_SWISH_PORT: port(4011),
  DATA_DIR: z.string().default('.data'),

  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: optionalString,
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('skerry-payments'),
  TEMPORAL_UI_PORT: port(8233),
  TEMPORAL_CLI_PATH: optionalString,
  // Temporal Cloud or a secured cluster, read through @temporalio/envconfig (see temporalConnection).
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_TLS: optionalString.pipe(z.enum(['true', 'false', '1', '0']).optional()),
  TEMPORAL_CONFIG_FILE: optionalString,
  TEMPORAL_PROFILE: optionalString,

  // Worker metrics: Skerry's own registry, and the Temporal SDK's (Core) exporter. `off` disables.
  WORKER_METRICS_HOST: z.string().default('127.0.0.1'),
  WORKER_METRICS_PORT: z.union([z.literal('off'), port(9464)]).default(9464),
  WORKER_TEMPORAL_METRICS_PORT: z.union([z.literal('off'), port(9465)]).default(9465),

  DATABASE_URL: optionalString.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
  EMBEDDED_PG_PORT: port(54329),

  STRIPE_SECRET_KEY: optionalString.pipe(z.string().regex(/^(sk|rk)_(test|live)_/, 'must start with sk_test_, sk_live_, rk_test_ or rk_live_').optional()),
  STRIPE_API_BASE: optionalString.pipe(z.url().optional()),
  STRIPE_WEBHOOK_SECRET: secretList.pipe(z.array(z.string().startsWith('whsec_', 'each secret must start with whsec_'))),
  STRIPE_WEBHOOK_TOLERANCE_SECONDS: z.coerce.number().int().positive().default(300),

  PAYPAL_CLIENT_ID: optionalString,
  PAYPAL_CLIENT_SECRET: optionalString,
  PAYPAL_API_BASE: optionalString.pipe(z.url().optional()),
  PAYPAL_WEBHOOK_ID: optionalString.pipe(z.string().regex(/^[A-Za-z0-9]+$/, 'must be the webhook id shown by PayPal (letters and digits)').optional()),

  MOBILEPAY_CLIENT_ID: optionalString,
  MOBILEPAY_CLIENT_SECRET: optionalString,
  MOBILEPAY_SUBSCRIPTION_KEY: optionalString,
  MOBILEPAY_MSN: optionalString.pipe(z.string().regex(/^\d{4,7}$/, 'must be the 4-7 digit merchant serial number').optional()),
  MOBILEPAY_API_BASE: optionalString.pipe(z.url().optional()),
  MOBILEPAY_WEBHOOK_SECRET: secretList,
  MOBILEPAY_WEBHOOK_TOLERANCE_SECONDS: z.coerce.number().int().positive().default(300),
  MOBILEPAY_RETURN_URL: optionalString.pipe(z.url().optional()),

  SWISH_API_BASE: optionalString.pipe(z.url().optional()),
  SWISH_PAYEE_ALIAS: optionalString.pipe(z.string().regex(/^123\d{7}$/, 'must be the merchant Swish number: 10 digits starting with 123').optional()),
  SWISH_CERT: optionalString,
  SWISH_KEY: optionalString,
  SWISH_CA: optionalString,
  SWISH_CERT_PASSPHRASE: optionalString,
  SWISH_CALLBACK_BASE_URL: optionalString.pipe(z.url().optional()),
  SWISH_SETTLEMENT_REPORT_URL: optionalString.pipe(z.url().optional()),

  PAYMENT_CONFIRM_WINDOW_MS: durationMs(60_000),
  PAYMENT_EXPIRES_AFTER_MS: durationMs(30 * 60_000),
  PAYMENT_AUTHORIZATION_HOLD_MS: durationMs(7 * 24 * 3_600_000),
  PAYMENT_REFUND_WINDOW_MS: durationMs(180 * 24 * 3_600_000),
  // Money a provider captured after Skerry closed the payment: refunded (the default: the booking
  // behind it was released and may be sold again) or kept by reopening the payment as succeeded.
  LATE_SUCCESS_POLICY: z.enum(LATE_SUCCESS_POLICIES, { error: `must be one of ${LATE_SUCCESS_POLICIES.join(', ')}` }).default('refund'),

  WEBHOOK_DELIVERY_SWEEP_MS: durationMs(1_000),
  // An inbox row whose delivery errored this many times is marked failed (kept, with its last error,
  // for a replay). At the back-off's 60 s ceiling 25 attempts ride out a Temporal outage of ~15 minutes.
  WEBHOOK_MAX_DELIVERY_ATTEMPTS: z.coerce.number().int().min(1).max(1_000).default(25),
  // A row waiting on what Skerry does not control (its payment not in the ledger, no workflow yet) is
  // parked after this long, kept for a replay, instead of being retried forever.
  WEBHOOK_PARK_AFTER_MS: durationMs(10 * 60_000),
  // Days a settled webhook inbox row or an acknowledged channel message is kept (the daily retention prune).
  WEBHOOK_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  API_CREATE_WAIT_MS: durationMs(10_000),

  // The master key of security/ (token sealing, payload codec), and the one being
  // rotated out: still read, never written (`npx skerry keys rotate-encryption` re-seals).
  TOKEN_ENCRYPTION_KEY: encryptionKey,
  TOKEN_ENCRYPTION_KEY_PREVIOUS: encryptionKey,
  // Channel manager (Booking.com, Airbnb). Unset credentials in development = Skerry's sandboxes;
  // outside development a channel without credentials is off.
  BOOKING_COM_USERNAME: optionalString,
  BOOKING_COM_PASSWORD: optionalString,
  BOOKING_COM_API_BASE: optionalString.pipe(z.url().optional()),
  BOOKING_COM_SECURE_API_BASE: optionalString.pipe(z.url().optional()),
  BOOKING_COM_POLL_INTERVAL_MS: durationMs(20_000),
  AIRBNB_CLIENT_ID: optionalString,
  AIRBNB_CLIENT_SECRET: optionalString,
  AIRBNB_API_BASE: optionalString.pipe(z.url().optional()),
  AIRBNB_WEBHOOK_SECRET: secretList,
  AIRBNB_WEBHOOK_TOLERANCE_SECONDS: z.coerce.number().int().positive().default(300),
  // Channex (a connectivity provider): `user-api-key`, and the secret header its webhooks are configured to send.
  CHANNEX_API_KEY: optionalString,
  CHANNEX_API_BASE: optionalString.pipe(z.url().optional()),
  CHANNEX_WEBHOOK_HEADER: z.string().regex(/^[a-z0-9-]+$/, 'a lower-case HTTP header name').default('x-skerry-channex-secret'),
  CHANNEX_WEBHOOK_SECRET: secretList,
  CHANNEX_POLL_INTERVAL_MS: durationMs(30_000),
  // Channex's limit is per minute (10 availability + 10 restriction requests per property); only tests shorten the window.
  CHANNEX_RATE_WINDOW_SECONDS: z.coerce.number().int().positive().default(60),
  CHANNEL_SYNC_QUIET_MS: durationMs(2_000),
  CHANNEL_SYNC_MAX_DELAY_MS: durationMs(15_000),
  CHANNEL_SYNC_MAX_PUSHES_PER_MINUTE: z.coerce.number().int().positive().default(10),
  RESERVATION_IDLE_CLOSE_MS: durationMs(10 * 60_000),
  // iCal feeds (#18): defaults for each import feed (each can override them), the size cap, the export's horizon and rate.
  ICAL_POLL_INTERVAL_MS: durationMs(600_000),
  ICAL_GRACE_MS: durationMs(1_800_000),
  ICAL_STALE_AFTER_MS: durationMs(1_800_000),
  ICAL_MAX_BYTES: z.coerce.number().int().positive().default(2 * 1024 * 1024),
  ICAL_EXPORT_DAYS: z.coerce.number().int().min(1).max(1_100).default(365),
  ICAL_FEED_RATE_PER_MINUTE: z.coerce.number().int().positive().default(60),
  // The import's URL policy (providers/ical/url-policy.ts): `host` or `host:port` entries whose private
  // addresses may be fetched (none by default; `npm start` lists its own sandbox), whether plain http is
  // refused (unset: refused outside APP_ENV=development), and how many redirects are followed.
  ICAL_IMPORT_ALLOWED_HOSTS: secretList,
  ICAL_IMPORT_REQUIRE_HTTPS: optionalString.pipe(z.enum(['true', 'false', '1', '0']).optional()),
  ICAL_IMPORT_MAX_REDIRECTS: z.coerce.number().int().min(0).max(10).default(3),
  CHANNEL_RESYNC_HOUR: z.union([z.literal('off'), z.coerce.number().int().min(0).max(23)]).default(3),
  // Transaction reconciliation: the nightly run's hour (UTC, 0-23) for the previous day, or `off`.
  RECONCILIATION_SCHEDULE_HOUR: z.union([z.literal('off'), z.coerce.number().int().min(0).max(23)]).default(4),

  // Rate limits, circuit breakers, OAuth, response cache, webhook secret rotation (config/resilience.ts).
  ...RESILIENCE_ENV,
});

export type Env = z.infer<typeof EnvSchema>;
