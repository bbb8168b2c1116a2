// The only reader of the environment. Everything else receives a frozen Config.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { durationMs, optionalString, port, secretList } from './fields';
import type { TLSConfig } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { ProviderName } from '../domain/payments';
import { RESILIENCE_ENV, ResilienceConfigError, resilienceConfig, type PreviousWebhookSecrets, type ResilienceConfig } from './resilience';

const encryptionKey = optionalString.pipe(
  z.string().regex(/^([0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=)$/, 'must be 32 bytes as 64 hex characters or base64').optional(),
);

const EnvSchema = z.object({
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

  WEBHOOK_DELIVERY_SWEEP_MS: durationMs(1_000),
  API_CREATE_WAIT_MS: durationMs(10_000),

  // The master key of security/ (token sealing, OAuth state, payload codec), and the one being
  // rotated out: still read, never written (`npx skerry keys rotate-encryption` re-seals).
  TOKEN_ENCRYPTION_KEY: encryptionKey,
  TOKEN_ENCRYPTION_KEY_PREVIOUS: encryptionKey,
  // Channel manager (Booking.com, Airbnb). Unset credentials in development = Skerry's sandboxes;
  // outside development a channel without credentials is off.
  BOOKING_COM_USERNAME: optionalString,
  BOOKING_COM_PASSWORD: optionalString,
  BOOKING_COM_API_BASE: optionalString.pipe(z.url().optional()),
  BOOKING_COM_POLL_INTERVAL_MS: durationMs(20_000),
  AIRBNB_CLIENT_ID: optionalString,
  AIRBNB_CLIENT_SECRET: optionalString,
  AIRBNB_API_BASE: optionalString.pipe(z.url().optional()),
  AIRBNB_WEBHOOK_SECRET: secretList,
  AIRBNB_WEBHOOK_TOLERANCE_SECONDS: z.coerce.number().int().positive().default(300),
  CHANNEL_SYNC_QUIET_MS: durationMs(2_000),
  CHANNEL_SYNC_MAX_DELAY_MS: durationMs(15_000),
  CHANNEL_SYNC_MAX_PUSHES_PER_MINUTE: z.coerce.number().int().positive().default(10),
  RESERVATION_IDLE_CLOSE_MS: durationMs(10 * 60_000),
  CHANNEL_RESYNC_HOUR: z.union([z.literal('off'), z.coerce.number().int().min(0).max(23)]).default(3),
  // Transaction reconciliation: the nightly run's hour (UTC, 0-23) for the previous day, or `off`.
  RECONCILIATION_SCHEDULE_HOUR: z.union([z.literal('off'), z.coerce.number().int().min(0).max(23)]).default(4),

  // Rate limits, circuit breakers, OAuth, response cache, webhook secret rotation (config/resilience.ts).
  ...RESILIENCE_ENV,
});

/** Development runs against the sandboxes with these well-known, non-secret test values. */
export const SANDBOX_DEFAULTS = {
  stripeSecretKey: 'sk_test_skerry_sandbox',
  stripeWebhookSecret: 'whsec_skerry_sandbox_development',
  paypalClientId: 'skerry-sandbox-paypal-client-id',
  paypalClientSecret: 'skerry-sandbox-paypal-client-secret',
  paypalWebhookId: 'SKERRYSANDBOXWEBHOOK01',
  /** Swish's own test merchant number (Merchant Swish Simulator), the sandbox certificate's CN. */
  swishPayeeAlias: '1234679304',
  mobilepayClientId: 'skerry-sandbox-client-id',
  mobilepayClientSecret: 'skerry-sandbox-client-secret',
  mobilepaySubscriptionKey: 'skerry-sandbox-subscription-key',
  mobilepayMsn: '123456',
  mobilepayWebhookSecret: 'skerry-sandbox-mobilepay-webhook-secret',
} as const;

export interface Config {
  appEnv: 'development' | 'staging' | 'production';
  logLevel: string;
  host: string;
  port: number;
  /** Where providers and browsers reach the public door (webhooks, return pages). */
  publicUrl: string;
  publicDoor: { host: string; port: number };
  adminDoor: { allowedHosts: readonly string[]; corsOrigins: readonly string[] };
  apiKeys: { bootstrapKey?: string };
  publicLimits: {
    webhookRatePerMinute: number;
    pageRatePerMinute: number;
    paypalVerify: { concurrency: number; queueSize: number; timeoutMs: number; ratePerSecond: number };
  };
  sandbox: { port: number; url: string; swishPort: number };
  dataDir: string;
  temporal: {
    address?: string;
    namespace: string;
    taskQueue: string;
    uiPort: number;
    cliPath?: string;
    /** API key, TLS and gRPC metadata from @temporalio/envconfig; spread into every connection's options. */
    connection: TemporalConnectionOptions;
  };
  metrics: { workerHost: string; workerPort?: number; workerTemporalPort?: number };
  database: { url?: string; embeddedPort: number };
  stripe: {
    secretKey: string;
    apiBase?: string;
    webhookSecrets: readonly string[];
    /** The secret being rotated out, accepted alongside until its overlap ends. */
    previousWebhookSecrets?: PreviousWebhookSecrets;
    webhookToleranceSeconds: number;
    /** True when Stripe calls go to Skerry's own sandbox rather than api.stripe.com. */
    /** Credentials are configured, or (development only) the sandbox stands in. */
    enabled: boolean;
    sandboxed: boolean;
  };
  paypal: {
    clientId: string;
    clientSecret: string;
    /** Skerry's sandbox, https://api-m.sandbox.paypal.com (staging, development with keys) or https://api-m.paypal.com (production). */
    apiBase: string;
    /** The id PayPal gave the webhook endpoint; verify-webhook-signature checks transmissions against it. */
    webhookId: string;
    /** True when PayPal calls go to Skerry's own sandbox. */
    /** Credentials are configured, or (development only) the sandbox stands in. */
    enabled: boolean;
    sandboxed: boolean;
  };
  mobilepay: {
    clientId: string;
    clientSecret: string;
    subscriptionKey: string;
    merchantSerialNumber: string;
    /** Skerry's sandbox, https://apitest.vipps.no (staging, development with real keys) or https://api.vipps.no (production). */
    apiBase: string;
    /** Where the payer returns from the app; `{paymentId}` and `{reference}` are filled in. */
    returnUrl: string;
    webhookSecrets: readonly string[];
    /** The secret being rotated out, accepted alongside until its overlap ends. */
    previousWebhookSecrets?: PreviousWebhookSecrets;
    webhookToleranceSeconds: number;
    /** True when MobilePay calls go to Skerry's own sandbox. */
    /** Credentials are configured, or (development only) the sandbox stands in. */
    enabled: boolean;
    sandboxed: boolean;
  };
  swish: {
    /** Up to `/swish-cpcapi`: Skerry's sandbox, the simulator (MSS) or cpc.getswish.net. */
    apiBase: string;
    /** The merchant's Swish number. */
    payeeAlias: string;
    /** Merchant client certificate (with chain) and key, and an optional CA: each PEM text or a file path. */
    cert: string;
    key: string;
    ca?: string;
    passphrase?: string;
    /** Where Swish posts callbacks. */
    callbackUrl: string;
    /** True when Swish calls go to Skerry's own sandbox (development without SWISH_CERT). */
    /** Credentials are configured, or (development only) the sandbox stands in. */
    enabled: boolean;
    sandboxed: boolean;
    /** Where the sandbox keeps its generated test CA and merchant certificate. */
    sandboxCertDir: string;
    /** The bank's Swish settlement report (Swish itself lists no transactions); unset: not reconciled. */
    settlementReportUrl?: string;
  };
  reconciliation: {
    /** Hour (0-23, UTC) of the nightly reconciliation of the previous day; undefined = no schedule. */
    scheduleHour?: number;
  };
  payments: { confirmWindowMs: number; expiresAfterMs: number; authorizationHoldMs: number; refundWindowMs: number };
  webhooks: { deliverySweepMs: number };
  api: { createWaitMs: number };
  channels: ChannelsConfig;
  /** Rate limits, circuit breakers, OAuth token refresh, the response cache. */
  resilience: ResilienceConfig;
}

/**
 * The master key (TOKEN_ENCRYPTION_KEY, base64) from which security/ derives one subkey per use:
 * sealing OAuth tokens at rest, signing OAuth states, encrypting workflow payloads.
 */
export interface TokenEncryptionKeys {
  /** Seals, signs and encrypts everything new. */
  current: string;
  /** TOKEN_ENCRYPTION_KEY_PREVIOUS during a rotation: still opens what it sealed, never seals. */
  previous?: string;
}

export interface ChannelsConfig {
  /**
   * Every key security/ uses, not only the channels': PayPal's and MobilePay's tokens and workflow
   * payloads too. In development, with every OAuth provider on Skerry's sandbox, a published key.
   */
  tokenEncryptionKey: TokenEncryptionKeys;
  bookingCom: { enabled: boolean; sandboxed: boolean; username: string; password: string; apiBase: string; pollIntervalMs: number };
  airbnb: {
    enabled: boolean;
    sandboxed: boolean;
    clientId: string;
    clientSecret: string;
    apiBase: string;
    webhookSecrets: readonly string[];
    webhookToleranceSeconds: number;
  };
  sync: { quietMs: number; maxDelayMs: number; maxPushesPerMinute: number };
  reservationIdleCloseMs: number;
  /** Hour (0-23, server time) of the nightly full resync; undefined = no schedule. */
  resyncHour?: number;
}

/** Development-only values; outside development the real ones are required. */
export const CHANNEL_SANDBOX_DEFAULTS = {
  // sha256("skerry development token key"): public, so never for real tokens.
  tokenEncryptionKey: 'ZkHKoPubu/KO7S0Io3wktyB1E3dexgkOyn7XmyAtCWE=',
  bookingComUsername: 'skerry-machine-account',
  bookingComPassword: 'skerry-sandbox-password',
  airbnbClientId: 'skerry-sandbox-airbnb-client',
  airbnbClientSecret: 'skerry-sandbox-airbnb-secret',
  airbnbWebhookSecret: 'skerry-sandbox-airbnb-webhook-secret',
} as const;

const base64Key = (key: string) => (/^[0-9a-fA-F]{64}$/.test(key) ? Buffer.from(key, 'hex').toString('base64') : key);

/**
 * A token from a real API is a working bearer token: sealing it with the published development key
 * would hand it to anyone holding a database dump. So the development key stands in only while every
 * OAuth provider in use talks to Skerry's own sandbox; otherwise TOKEN_ENCRYPTION_KEY is required.
 */
function tokenEncryptionKeys(e: z.infer<typeof EnvSchema>, oauthAgainstRealApis: readonly string[]): TokenEncryptionKeys {
  if (!e.TOKEN_ENCRYPTION_KEY && oauthAgainstRealApis.length > 0) {
    throw new ConfigError(
      `Invalid configuration:\n  TOKEN_ENCRYPTION_KEY: required when an OAuth provider calls a real API (${oauthAgainstRealApis.join(', ')}): it seals their tokens at rest, and the development key is published`,
    );
  }
  if (e.TOKEN_ENCRYPTION_KEY_PREVIOUS && !e.TOKEN_ENCRYPTION_KEY) {
    throw new ConfigError('Invalid configuration:\n  TOKEN_ENCRYPTION_KEY_PREVIOUS: the key being rotated out needs the new one in TOKEN_ENCRYPTION_KEY');
  }
  const current = base64Key(e.TOKEN_ENCRYPTION_KEY ?? CHANNEL_SANDBOX_DEFAULTS.tokenEncryptionKey);
  const previous = e.TOKEN_ENCRYPTION_KEY_PREVIOUS ? base64Key(e.TOKEN_ENCRYPTION_KEY_PREVIOUS) : undefined;
  return previous && previous !== current ? { current, previous } : { current };
}

/** `paymentOAuthAgainstRealApis`: PayPal and MobilePay, when enabled away from Skerry's sandbox. */
function channelsConfig(e: z.infer<typeof EnvSchema>, sandboxUrl: string, paymentOAuthAgainstRealApis: readonly string[]): ChannelsConfig {
  const development = e.APP_ENV === 'development';
  const bookingSandboxed = development && !e.BOOKING_COM_USERNAME;
  if (e.BOOKING_COM_USERNAME && !e.BOOKING_COM_PASSWORD) {
    throw new ConfigError('Invalid configuration:\n  BOOKING_COM_PASSWORD: required with BOOKING_COM_USERNAME');
  }
  const airbnbSandboxed = development && !e.AIRBNB_CLIENT_ID;
  if (e.AIRBNB_CLIENT_ID && !e.AIRBNB_CLIENT_SECRET) {
    throw new ConfigError('Invalid configuration:\n  AIRBNB_CLIENT_SECRET: required with AIRBNB_CLIENT_ID');
  }
  if (!development && e.AIRBNB_CLIENT_ID && e.AIRBNB_WEBHOOK_SECRET.length === 0) {
    throw new ConfigError(`Invalid configuration:\n  AIRBNB_WEBHOOK_SECRET: required with AIRBNB_CLIENT_ID when APP_ENV=${e.APP_ENV}`);
  }
  const airbnbEnabled = Boolean(e.AIRBNB_CLIENT_ID) || airbnbSandboxed;
  const airbnbApiBase = e.AIRBNB_API_BASE ?? (airbnbSandboxed ? `${sandboxUrl}/airbnb` : 'https://api.airbnb.com');
  const airbnbAgainstRealApi = airbnbEnabled && !airbnbApiBase.startsWith(`${sandboxUrl}/`);
  return {
    tokenEncryptionKey: tokenEncryptionKeys(e, [...paymentOAuthAgainstRealApis, ...(airbnbAgainstRealApi ? [`Airbnb at ${airbnbApiBase}`] : [])]),
    bookingCom: {
      enabled: Boolean(e.BOOKING_COM_USERNAME) || bookingSandboxed,
      sandboxed: bookingSandboxed,
      username: e.BOOKING_COM_USERNAME ?? CHANNEL_SANDBOX_DEFAULTS.bookingComUsername,
      password: e.BOOKING_COM_PASSWORD ?? CHANNEL_SANDBOX_DEFAULTS.bookingComPassword,
      apiBase: e.BOOKING_COM_API_BASE ?? (bookingSandboxed ? `${sandboxUrl}/booking-com` : 'https://supply-xml.booking.com'),
      pollIntervalMs: e.BOOKING_COM_POLL_INTERVAL_MS,
    },
    airbnb: {
      enabled: airbnbEnabled,
      sandboxed: airbnbSandboxed,
      clientId: e.AIRBNB_CLIENT_ID ?? CHANNEL_SANDBOX_DEFAULTS.airbnbClientId,
      clientSecret: e.AIRBNB_CLIENT_SECRET ?? CHANNEL_SANDBOX_DEFAULTS.airbnbClientSecret,
      apiBase: airbnbApiBase,
      webhookSecrets: e.AIRBNB_WEBHOOK_SECRET.length > 0 ? e.AIRBNB_WEBHOOK_SECRET : [CHANNEL_SANDBOX_DEFAULTS.airbnbWebhookSecret],
      webhookToleranceSeconds: e.AIRBNB_WEBHOOK_TOLERANCE_SECONDS,
    },
    sync: { quietMs: e.CHANNEL_SYNC_QUIET_MS, maxDelayMs: e.CHANNEL_SYNC_MAX_DELAY_MS, maxPushesPerMinute: e.CHANNEL_SYNC_MAX_PUSHES_PER_MINUTE },
    reservationIdleCloseMs: e.RESERVATION_IDLE_CLOSE_MS,
    resyncHour: e.CHANNEL_RESYNC_HOUR === 'off' ? undefined : e.CHANNEL_RESYNC_HOUR,
  };
}

export interface TemporalConnectionOptions {
  apiKey?: string;
  tls?: boolean | TLSConfig;
  metadata?: Record<string, string>;
}

const TEMPORAL_TLS_VARIABLES = /^TEMPORAL_(TLS|TLS_.+|GRPC_META_.+|API_KEY|CONFIG_FILE|PROFILE)$/;

/**
 * Where Temporal is and how to authenticate. Plain TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE are enough
 * for the dev server or an unsecured cluster. As soon as an API key, TLS settings, gRPC metadata or
 * a temporal.toml profile (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE) is given, the connection is built
 * by @temporalio/envconfig, the same rules the Temporal CLI follows: a profile from the file, then
 * TEMPORAL_* variables over it; an API key turns TLS on.
 */
function temporalConnection(e: z.infer<typeof EnvSchema>, env: NodeJS.ProcessEnv): {
  address?: string;
  namespace: string;
  connection: TemporalConnectionOptions;
} {
  const given = Object.entries(env).filter(([name, value]) => TEMPORAL_TLS_VARIABLES.test(name) && value !== undefined && value.trim() !== '');
  if (given.length === 0) return { address: e.TEMPORAL_ADDRESS, namespace: e.TEMPORAL_NAMESPACE ?? 'default', connection: {} };
  const useFile = Boolean(e.TEMPORAL_CONFIG_FILE || e.TEMPORAL_PROFILE);
  // Only non-empty TEMPORAL_* variables (an empty line copied from .env.example means unset).
  const overrideEnvVars: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '' && (name.startsWith('TEMPORAL_') || name === 'HOME' || name === 'XDG_CONFIG_HOME')) {
      overrideEnvVars[name] = value.trim();
    }
  }
  let loaded;
  try {
    loaded = loadClientConnectConfig({ profile: e.TEMPORAL_PROFILE, disableFile: !useFile, overrideEnvVars });
  } catch (err) {
    throw new ConfigError(
      `Invalid configuration:\n  ${useFile ? 'TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE' : 'TEMPORAL_TLS_*'}: ${(err as Error).message}`,
    );
  }
  const { address, apiKey, tls, metadata } = loaded.connectionOptions;
  const connection: TemporalConnectionOptions = {};
  if (typeof apiKey === 'string') connection.apiKey = apiKey;
  if (typeof tls === 'boolean') connection.tls = tls;
  else if (tls) {
    // envconfig reads files into Uint8Arrays; the connection options are typed (and bridged) as Buffers.
    const buffer = (data: Uint8Array | undefined) => (data ? Buffer.from(data) : undefined);
    connection.tls = {
      serverNameOverride: tls.serverNameOverride,
      serverRootCACertificate: buffer(tls.serverRootCACertificate),
      clientCertPair: tls.clientCertPair ? { crt: Buffer.from(tls.clientCertPair.crt), key: Buffer.from(tls.clientCertPair.key) } : undefined,
    };
  }
  if (metadata && Object.keys(metadata).length > 0) connection.metadata = metadata as Record<string, string>;
  return { address: address || undefined, namespace: loaded.namespace || 'default', connection };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const production = e.APP_ENV !== 'development';
  const sandboxUrl = e.SANDBOX_URL ?? `http://127.0.0.1:${e.SANDBOX_PORT}`;

  // A provider without credentials is simply not offered outside development; in development its
  // sandbox stands in.
  const stripeSandboxed = !production && !e.STRIPE_SECRET_KEY;
  if (e.APP_ENV === 'production' && e.STRIPE_SECRET_KEY?.includes('_test_')) {
    throw new ConfigError('Invalid configuration:\n  STRIPE_SECRET_KEY: a test key cannot be used when APP_ENV=production');
  }
  if (production && e.STRIPE_SECRET_KEY && e.STRIPE_WEBHOOK_SECRET.length === 0) {
    throw new ConfigError(`Invalid configuration:\n  STRIPE_WEBHOOK_SECRET: required when APP_ENV=${e.APP_ENV}`);
  }
  const paypalSandboxed = !production && !e.PAYPAL_CLIENT_ID;
  if (e.PAYPAL_CLIENT_ID && !e.PAYPAL_CLIENT_SECRET) {
    throw new ConfigError('Invalid configuration:\n  PAYPAL_CLIENT_SECRET: required with PAYPAL_CLIENT_ID');
  }
  const paypalApiBase =
    e.PAYPAL_API_BASE ??
    (paypalSandboxed ? `${sandboxUrl}/paypal` : e.APP_ENV === 'production' ? 'https://api-m.paypal.com' : 'https://api-m.sandbox.paypal.com');
  if (e.APP_ENV === 'production' && new URL(paypalApiBase).hostname === 'api-m.sandbox.paypal.com') {
    throw new ConfigError('Invalid configuration:\n  PAYPAL_API_BASE: the PayPal sandbox cannot be used when APP_ENV=production');
  }
  if (production && e.PAYPAL_CLIENT_ID && !e.PAYPAL_WEBHOOK_ID) {
    throw new ConfigError(`Invalid configuration:\n  PAYPAL_WEBHOOK_ID: required when APP_ENV=${e.APP_ENV}`);
  }
  const mobilepaySandboxed = !production && !e.MOBILEPAY_CLIENT_ID;
  if (e.MOBILEPAY_CLIENT_ID) {
    for (const name of ['MOBILEPAY_CLIENT_SECRET', 'MOBILEPAY_SUBSCRIPTION_KEY', 'MOBILEPAY_MSN'] as const) {
      if (!e[name]) throw new ConfigError(`Invalid configuration:\n  ${name}: required with MOBILEPAY_CLIENT_ID`);
    }
  }
  const mobilepayApiBase =
    e.MOBILEPAY_API_BASE ??
    (mobilepaySandboxed ? `${sandboxUrl}/mobilepay` : e.APP_ENV === 'production' ? 'https://api.vipps.no' : 'https://apitest.vipps.no');
  if (e.APP_ENV === 'production' && new URL(mobilepayApiBase).hostname === 'apitest.vipps.no') {
    throw new ConfigError('Invalid configuration:\n  MOBILEPAY_API_BASE: the test environment cannot be used when APP_ENV=production');
  }
  if (production && e.MOBILEPAY_CLIENT_ID && e.MOBILEPAY_WEBHOOK_SECRET.length === 0) {
    throw new ConfigError(`Invalid configuration:\n  MOBILEPAY_WEBHOOK_SECRET: required when APP_ENV=${e.APP_ENV}`);
  }
  if (production && e.MOBILEPAY_CLIENT_ID && !e.MOBILEPAY_RETURN_URL) {
    throw new ConfigError(`Invalid configuration:\n  MOBILEPAY_RETURN_URL: required when APP_ENV=${e.APP_ENV}`);
  }
  const swishSandboxed = !production && !e.SWISH_CERT;
  if (e.SWISH_CERT) {
    for (const name of ['SWISH_KEY', 'SWISH_PAYEE_ALIAS'] as const) {
      if (!e[name]) throw new ConfigError(`Invalid configuration:\n  ${name}: required with SWISH_CERT`);
    }
  }
  for (const name of ['SWISH_CERT', 'SWISH_KEY', 'SWISH_CA'] as const) {
    const value = e[name];
    if (value && !value.includes('-----BEGIN') && !existsSync(resolve(value))) {
      throw new ConfigError(`Invalid configuration:\n  ${name}: no file at ${value} (give a PEM file path or the PEM text)`);
    }
  }
  const swishApiBase =
    e.SWISH_API_BASE ??
    (swishSandboxed
      ? `https://127.0.0.1:${e.SANDBOX_SWISH_PORT}/swish-cpcapi`
      : e.APP_ENV === 'production'
        ? 'https://cpc.getswish.net/swish-cpcapi'
        : 'https://mss.cpc.getswish.net/swish-cpcapi');
  if (e.APP_ENV === 'production' && new URL(swishApiBase).hostname === 'mss.cpc.getswish.net') {
    throw new ConfigError('Invalid configuration:\n  SWISH_API_BASE: the Merchant Swish Simulator cannot be used when APP_ENV=production');
  }
  const swishCallbackBase = (e.SWISH_CALLBACK_BASE_URL ?? e.PUBLIC_URL ?? `http://127.0.0.1:${e.PUBLIC_PORT}`).replace(/\/+$/, '');
  if (e.APP_ENV === 'production' && e.SWISH_CERT && !swishCallbackBase.startsWith('https://')) {
    throw new ConfigError('Invalid configuration:\n  SWISH_CALLBACK_BASE_URL: Swish only calls back over https when APP_ENV=production');
  }
  const swishSandboxCertDir = resolve(e.DATA_DIR, 'swish-sandbox');
  const temporal = temporalConnection(e, env);
  if (production && !temporal.address) {
    throw new ConfigError(`Invalid configuration:\n  TEMPORAL_ADDRESS: required when APP_ENV=${e.APP_ENV} (or a temporal.toml profile with an address)`);
  }
  if (production && !e.DATABASE_URL) {
    throw new ConfigError(`Invalid configuration:\n  DATABASE_URL: required when APP_ENV=${e.APP_ENV}`);
  }
  if (production && !e.STRIPE_SECRET_KEY && !e.PAYPAL_CLIENT_ID && !e.MOBILEPAY_CLIENT_ID && !e.SWISH_CERT) {
    throw new ConfigError(
      `Invalid configuration:\n  STRIPE_SECRET_KEY, PAYPAL_CLIENT_ID, MOBILEPAY_CLIENT_ID or SWISH_CERT: at least one payment provider is required when APP_ENV=${e.APP_ENV}`,
    );
  }

  let resilience;
  try {
    resilience = resilienceConfig(e, { stripeLive: Boolean(e.STRIPE_SECRET_KEY?.includes('_live_')) });
  } catch (err) {
    if (err instanceof ResilienceConfigError) throw new ConfigError(`Invalid configuration:\n  ${err.message}`);
    throw err;
  }
  const stripeApiBase = e.STRIPE_API_BASE ?? (stripeSandboxed ? `${sandboxUrl}/stripe` : undefined);
  // Calls go to Skerry's own sandbox (which then also sends the webhooks) without keys in
  // development, or when the API base points at it.
  const atSandbox = (base: string | undefined) => base !== undefined && base.startsWith(`${sandboxUrl}/`);

  return Object.freeze({
    appEnv: e.APP_ENV,
    logLevel: e.LOG_LEVEL,
    host: e.HOST,
    port: e.PORT,
    publicUrl: e.PUBLIC_URL ?? `http://127.0.0.1:${e.PUBLIC_PORT}`,
    publicDoor: { host: e.PUBLIC_HOST, port: e.PUBLIC_PORT },
    adminDoor: {
      allowedHosts: e.ADMIN_ALLOWED_HOSTS.length > 0 ? e.ADMIN_ALLOWED_HOSTS : ['localhost', '127.0.0.1', '::1', ...(['0.0.0.0', '::', 'localhost', '127.0.0.1', '::1'].includes(e.HOST) ? [] : [e.HOST])],
      corsOrigins: e.CORS_ORIGINS,
    },
    apiKeys: { bootstrapKey: e.SKERRY_BOOTSTRAP_API_KEY },
    publicLimits: {
      webhookRatePerMinute: e.WEBHOOK_RATE_LIMIT_PER_MINUTE,
      pageRatePerMinute: e.PUBLIC_PAGE_RATE_LIMIT_PER_MINUTE,
      paypalVerify: {
        concurrency: e.PAYPAL_VERIFY_CONCURRENCY,
        queueSize: e.PAYPAL_VERIFY_QUEUE_SIZE,
        timeoutMs: e.PAYPAL_VERIFY_TIMEOUT_MS,
        ratePerSecond: e.PAYPAL_VERIFY_RATE_SHARE * resilience.resilience.rateLimits.paypal,
      },
    },
    sandbox: { port: e.SANDBOX_PORT, url: sandboxUrl, swishPort: e.SANDBOX_SWISH_PORT },
    dataDir: resolve(e.DATA_DIR),
    temporal: {
      address: temporal.address,
      namespace: temporal.namespace,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      uiPort: e.TEMPORAL_UI_PORT,
      cliPath: e.TEMPORAL_CLI_PATH,
      connection: temporal.connection,
    },
    metrics: {
      workerHost: e.WORKER_METRICS_HOST,
      workerPort: e.WORKER_METRICS_PORT === 'off' ? undefined : e.WORKER_METRICS_PORT,
      workerTemporalPort: e.WORKER_TEMPORAL_METRICS_PORT === 'off' ? undefined : e.WORKER_TEMPORAL_METRICS_PORT,
    },
    database: { url: e.DATABASE_URL, embeddedPort: e.EMBEDDED_PG_PORT },
    stripe: {
      secretKey: e.STRIPE_SECRET_KEY ?? SANDBOX_DEFAULTS.stripeSecretKey,
      apiBase: stripeApiBase,
      webhookSecrets: e.STRIPE_WEBHOOK_SECRET.length > 0 ? e.STRIPE_WEBHOOK_SECRET : [SANDBOX_DEFAULTS.stripeWebhookSecret],
      previousWebhookSecrets: resilience.stripePreviousWebhookSecrets,
      webhookToleranceSeconds: e.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
      enabled: Boolean(e.STRIPE_SECRET_KEY) || stripeSandboxed,
      sandboxed: stripeSandboxed || atSandbox(stripeApiBase),
    },
    paypal: {
      clientId: e.PAYPAL_CLIENT_ID ?? SANDBOX_DEFAULTS.paypalClientId,
      clientSecret: e.PAYPAL_CLIENT_SECRET ?? SANDBOX_DEFAULTS.paypalClientSecret,
      apiBase: paypalApiBase,
      webhookId: e.PAYPAL_WEBHOOK_ID ?? SANDBOX_DEFAULTS.paypalWebhookId,
      enabled: Boolean(e.PAYPAL_CLIENT_ID) || paypalSandboxed,
      sandboxed: paypalSandboxed || atSandbox(paypalApiBase),
    },
    mobilepay: {
      clientId: e.MOBILEPAY_CLIENT_ID ?? SANDBOX_DEFAULTS.mobilepayClientId,
      clientSecret: e.MOBILEPAY_CLIENT_SECRET ?? SANDBOX_DEFAULTS.mobilepayClientSecret,
      subscriptionKey: e.MOBILEPAY_SUBSCRIPTION_KEY ?? SANDBOX_DEFAULTS.mobilepaySubscriptionKey,
      merchantSerialNumber: e.MOBILEPAY_MSN ?? SANDBOX_DEFAULTS.mobilepayMsn,
      apiBase: mobilepayApiBase,
      returnUrl: e.MOBILEPAY_RETURN_URL ?? `${e.PUBLIC_URL ?? `http://127.0.0.1:${e.PUBLIC_PORT}`}/payments/{paymentId}/return`,
      webhookSecrets: e.MOBILEPAY_WEBHOOK_SECRET.length > 0 ? e.MOBILEPAY_WEBHOOK_SECRET : [SANDBOX_DEFAULTS.mobilepayWebhookSecret],
      previousWebhookSecrets: resilience.mobilepayPreviousWebhookSecrets,
      webhookToleranceSeconds: e.MOBILEPAY_WEBHOOK_TOLERANCE_SECONDS,
      enabled: Boolean(e.MOBILEPAY_CLIENT_ID) || mobilepaySandboxed,
      sandboxed: mobilepaySandboxed || atSandbox(mobilepayApiBase),
    },
    swish: {
      apiBase: swishApiBase,
      payeeAlias: e.SWISH_PAYEE_ALIAS ?? SANDBOX_DEFAULTS.swishPayeeAlias,
      // In the sandbox: the files sandbox/swish/certs.ts writes (ca.pem, client.pem, client-key.pem).
      cert: e.SWISH_CERT ?? resolve(swishSandboxCertDir, 'client.pem'),
      key: e.SWISH_KEY ?? resolve(swishSandboxCertDir, 'client-key.pem'),
      ca: e.SWISH_CA ?? (swishSandboxed ? resolve(swishSandboxCertDir, 'ca.pem') : undefined),
      passphrase: e.SWISH_CERT_PASSPHRASE,
      callbackUrl: `${swishCallbackBase}/webhooks/swish`,
      enabled: Boolean(e.SWISH_CERT) || swishSandboxed,
      sandboxed: swishSandboxed,
      sandboxCertDir: swishSandboxCertDir,
      settlementReportUrl: e.SWISH_SETTLEMENT_REPORT_URL ?? (swishSandboxed ? `${sandboxUrl}/swish/bank` : undefined),
    },
    payments: {
      confirmWindowMs: e.PAYMENT_CONFIRM_WINDOW_MS,
      expiresAfterMs: e.PAYMENT_EXPIRES_AFTER_MS,
      authorizationHoldMs: e.PAYMENT_AUTHORIZATION_HOLD_MS,
      refundWindowMs: e.PAYMENT_REFUND_WINDOW_MS,
    },
    webhooks: { deliverySweepMs: e.WEBHOOK_DELIVERY_SWEEP_MS },
    api: { createWaitMs: e.API_CREATE_WAIT_MS },
    channels: channelsConfig(
      e,
      sandboxUrl,
      [
        { name: 'PayPal', enabled: Boolean(e.PAYPAL_CLIENT_ID) || paypalSandboxed, apiBase: paypalApiBase },
        { name: 'MobilePay', enabled: Boolean(e.MOBILEPAY_CLIENT_ID) || mobilepaySandboxed, apiBase: mobilepayApiBase },
      ]
        .filter((provider) => provider.enabled && !atSandbox(provider.apiBase))
        .map((provider) => `${provider.name} at ${provider.apiBase}`),
    ),
    reconciliation: { scheduleHour: e.RECONCILIATION_SCHEDULE_HOUR === 'off' ? undefined : e.RECONCILIATION_SCHEDULE_HOUR },
    resilience: resilience.resilience,
  });
}

/**
 * Secrets differ per environment: `.env.<APP_ENV>` (then `.env`) is read when present, without
 * overriding variables already set by the process manager. Entry points call this once.
 */
export function loadEnvFiles(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): void {
  const appEnv = env.APP_ENV ?? 'development';
  for (const file of [`.env.${appEnv}`, '.env']) {
    const path = resolve(cwd, file);
    if (existsSync(path)) process.loadEnvFile(path);
  }
}

/** The payment providers this deployment offers: configured ones, or every sandbox in development. */
export function enabledPaymentProviders(config: Config): ProviderName[] {
  return (['stripe', 'paypal', 'swish', 'mobilepay'] as const).filter((name) => config[name].enabled);
}
