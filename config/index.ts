// The only reader of the environment. Everything else receives a frozen Config. The variables are
// declared in config/env-schema.ts; each section (payments, channels, Temporal, resilience) has its
// own module, and loadConfig assembles them in the order their checks should speak.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { LateSuccessPolicy, ProviderName } from '../domain/payments';
import { channelsConfig, type ChannelsConfig } from './channels';
import { EnvSchema } from './env-schema';
import { ConfigError, invalid } from './errors';
import {
  mobilepayConfig,
  paymentOAuthAgainstRealApis,
  paypalConfig,
  stripeConfig,
  swishConfig,
  type MobilePayConfig,
  type PayPalConfig,
  type SectionContext,
  type StripeConfig,
  type SwishConfig,
} from './payments';
import { ResilienceConfigError, resilienceConfig, type ResilienceConfig } from './resilience';
import { temporalConnection, type TemporalConnectionOptions } from './temporal';

export { ConfigError } from './errors';
export { CHANNEL_SANDBOX_DEFAULTS, SANDBOX_DEFAULTS } from './sandbox-defaults';
export type { ChannelsConfig, TokenEncryptionKeys } from './channels';
export type { MobilePayConfig, PayPalConfig, StripeConfig, SwishConfig } from './payments';
export type { TemporalConnectionOptions } from './temporal';

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
  stripe: StripeConfig;
  paypal: PayPalConfig;
  mobilepay: MobilePayConfig;
  swish: SwishConfig;
  reconciliation: {
    /** Hour (0-23, UTC) of the nightly reconciliation of the previous day; undefined = no schedule. */
    scheduleHour?: number;
  };
  payments: { confirmWindowMs: number; expiresAfterMs: number; authorizationHoldMs: number; refundWindowMs: number };
  /** What happens to money captured for a payment Skerry had closed (LATE_SUCCESS_POLICY). */
  lateSuccessPolicy: LateSuccessPolicy;
  webhooks: {
    deliverySweepMs: number;
    /** Deliveries that errored this many times mark the row failed (WEBHOOK_MAX_DELIVERY_ATTEMPTS). */
    maxDeliveryAttempts: number;
    /** A row waiting on something outside Skerry this long is parked (WEBHOOK_PARK_AFTER_MS). */
    parkAfterMs: number;
    /** Days settled inbox rows and acknowledged channel messages are kept before the daily prune deletes them. */
    retentionDays: number;
  };
  api: { createWaitMs: number };
  channels: ChannelsConfig;
  /** Rate limits, circuit breakers, OAuth token refresh, the response cache. */
  resilience: ResilienceConfig;
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
  // Calls go to Skerry's own sandbox (which then also sends the webhooks) without keys in
  // development, or when the API base points at it.
  const ctx: SectionContext = { sandboxUrl, atSandbox: (base) => base !== undefined && base.startsWith(`${sandboxUrl}/`) };

  const stripe = stripeConfig(e, ctx);
  const paypal = paypalConfig(e, ctx);
  const mobilepay = mobilepayConfig(e, ctx);
  const swish = swishConfig(e, ctx);
  const temporal = temporalConnection(e, env);
  if (production && !temporal.address) {
    throw invalid('TEMPORAL_ADDRESS', `required when APP_ENV=${e.APP_ENV} (or a temporal.toml profile with an address)`);
  }
  if (production && !e.DATABASE_URL) throw invalid('DATABASE_URL', `required when APP_ENV=${e.APP_ENV}`);
  if (production && !e.STRIPE_SECRET_KEY && !e.PAYPAL_CLIENT_ID && !e.MOBILEPAY_CLIENT_ID && !e.SWISH_CERT) {
    throw invalid('STRIPE_SECRET_KEY, PAYPAL_CLIENT_ID, MOBILEPAY_CLIENT_ID or SWISH_CERT', `at least one payment provider is required when APP_ENV=${e.APP_ENV}`);
  }

  let resilience;
  try {
    resilience = resilienceConfig(e, { stripeLive: Boolean(e.STRIPE_SECRET_KEY?.includes('_live_')) });
  } catch (err) {
    if (err instanceof ResilienceConfigError) throw new ConfigError(`Invalid configuration:\n  ${err.message}`);
    throw err;
  }

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
    stripe: { ...stripe, previousWebhookSecrets: resilience.stripePreviousWebhookSecrets },
    paypal,
    mobilepay: { ...mobilepay, previousWebhookSecrets: resilience.mobilepayPreviousWebhookSecrets },
    swish,
    payments: {
      confirmWindowMs: e.PAYMENT_CONFIRM_WINDOW_MS,
      expiresAfterMs: e.PAYMENT_EXPIRES_AFTER_MS,
      authorizationHoldMs: e.PAYMENT_AUTHORIZATION_HOLD_MS,
      refundWindowMs: e.PAYMENT_REFUND_WINDOW_MS,
    },
    lateSuccessPolicy: e.LATE_SUCCESS_POLICY,
    webhooks: {
      deliverySweepMs: e.WEBHOOK_DELIVERY_SWEEP_MS,
      maxDeliveryAttempts: e.WEBHOOK_MAX_DELIVERY_ATTEMPTS,
      parkAfterMs: e.WEBHOOK_PARK_AFTER_MS,
      retentionDays: e.WEBHOOK_RETENTION_DAYS,
    },
    api: { createWaitMs: e.API_CREATE_WAIT_MS },
    channels: channelsConfig(e, sandboxUrl, paymentOAuthAgainstRealApis(paypal, mobilepay, ctx)),
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
