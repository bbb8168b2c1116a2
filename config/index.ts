// The only reader of the environment. Everything else receives a frozen Config.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

const durationMs = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const port = (fallback: number) => z.coerce.number().int().min(1).max(65_535).default(fallback);
const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();
const secretList = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean),
  );

const EnvSchema = z.object({
  APP_ENV: z.enum(['development', 'staging', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('127.0.0.1'),
  PORT: port(3000),
  PUBLIC_URL: optionalString.pipe(z.url().optional()),
  SANDBOX_PORT: port(4010),
  SANDBOX_URL: optionalString.pipe(z.url().optional()),
  DATA_DIR: z.string().default('.data'),

  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('skerry-payments'),
  TEMPORAL_UI_PORT: port(8233),
  TEMPORAL_CLI_PATH: optionalString,

  DATABASE_URL: optionalString.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
  EMBEDDED_PG_PORT: port(54329),

  STRIPE_SECRET_KEY: optionalString.pipe(z.string().regex(/^(sk|rk)_(test|live)_/, 'must start with sk_test_, sk_live_, rk_test_ or rk_live_').optional()),
  STRIPE_API_BASE: optionalString.pipe(z.url().optional()),
  STRIPE_WEBHOOK_SECRET: secretList.pipe(z.array(z.string().startsWith('whsec_', 'each secret must start with whsec_'))),
  STRIPE_WEBHOOK_TOLERANCE_SECONDS: z.coerce.number().int().positive().default(300),

  PAYMENT_CONFIRM_WINDOW_MS: durationMs(60_000),
  PAYMENT_EXPIRES_AFTER_MS: durationMs(30 * 60_000),
  PAYMENT_AUTHORIZATION_HOLD_MS: durationMs(7 * 24 * 3_600_000),
  PAYMENT_REFUND_WINDOW_MS: durationMs(180 * 24 * 3_600_000),

  WEBHOOK_DELIVERY_SWEEP_MS: durationMs(1_000),
  API_CREATE_WAIT_MS: durationMs(10_000),
});

/** Development runs against the sandboxes with these well-known, non-secret test values. */
export const SANDBOX_DEFAULTS = {
  stripeSecretKey: 'sk_test_skerry_sandbox',
  stripeWebhookSecret: 'whsec_skerry_sandbox_development',
} as const;

export interface Config {
  appEnv: 'development' | 'staging' | 'production';
  logLevel: string;
  host: string;
  port: number;
  publicUrl: string;
  sandbox: { port: number; url: string };
  dataDir: string;
  temporal: { address?: string; namespace: string; taskQueue: string; uiPort: number; cliPath?: string };
  database: { url?: string; embeddedPort: number };
  stripe: {
    secretKey: string;
    apiBase?: string;
    webhookSecrets: readonly string[];
    webhookToleranceSeconds: number;
    /** True when Stripe calls go to Skerry's own sandbox rather than api.stripe.com. */
    sandboxed: boolean;
  };
  payments: { confirmWindowMs: number; expiresAfterMs: number; authorizationHoldMs: number; refundWindowMs: number };
  webhooks: { deliverySweepMs: number };
  api: { createWaitMs: number };
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

  const stripeSandboxed = !e.STRIPE_SECRET_KEY;
  if (production && stripeSandboxed) {
    throw new ConfigError(`Invalid configuration:\n  STRIPE_SECRET_KEY: required when APP_ENV=${e.APP_ENV}`);
  }
  if (e.APP_ENV === 'production' && e.STRIPE_SECRET_KEY?.includes('_test_')) {
    throw new ConfigError('Invalid configuration:\n  STRIPE_SECRET_KEY: a test key cannot be used when APP_ENV=production');
  }
  if (production && e.STRIPE_WEBHOOK_SECRET.length === 0) {
    throw new ConfigError(`Invalid configuration:\n  STRIPE_WEBHOOK_SECRET: required when APP_ENV=${e.APP_ENV}`);
  }
  if (production && !e.TEMPORAL_ADDRESS) {
    throw new ConfigError(`Invalid configuration:\n  TEMPORAL_ADDRESS: required when APP_ENV=${e.APP_ENV}`);
  }
  if (production && !e.DATABASE_URL) {
    throw new ConfigError(`Invalid configuration:\n  DATABASE_URL: required when APP_ENV=${e.APP_ENV}`);
  }

  return Object.freeze({
    appEnv: e.APP_ENV,
    logLevel: e.LOG_LEVEL,
    host: e.HOST,
    port: e.PORT,
    publicUrl: e.PUBLIC_URL ?? `http://127.0.0.1:${e.PORT}`,
    sandbox: { port: e.SANDBOX_PORT, url: sandboxUrl },
    dataDir: resolve(e.DATA_DIR),
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      uiPort: e.TEMPORAL_UI_PORT,
      cliPath: e.TEMPORAL_CLI_PATH,
    },
    database: { url: e.DATABASE_URL, embeddedPort: e.EMBEDDED_PG_PORT },
    stripe: {
      secretKey: e.STRIPE_SECRET_KEY ?? SANDBOX_DEFAULTS.stripeSecretKey,
      apiBase: e.STRIPE_API_BASE ?? (stripeSandboxed ? `${sandboxUrl}/stripe` : undefined),
      webhookSecrets: e.STRIPE_WEBHOOK_SECRET.length > 0 ? e.STRIPE_WEBHOOK_SECRET : [SANDBOX_DEFAULTS.stripeWebhookSecret],
      webhookToleranceSeconds: e.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
      sandboxed: stripeSandboxed,
    },
    payments: {
      confirmWindowMs: e.PAYMENT_CONFIRM_WINDOW_MS,
      expiresAfterMs: e.PAYMENT_EXPIRES_AFTER_MS,
      authorizationHoldMs: e.PAYMENT_AUTHORIZATION_HOLD_MS,
      refundWindowMs: e.PAYMENT_REFUND_WINDOW_MS,
    },
    webhooks: { deliverySweepMs: e.WEBHOOK_DELIVERY_SWEEP_MS },
    api: { createWaitMs: e.API_CREATE_WAIT_MS },
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
