// Configuration of the resilience mechanisms (providers/resilience, providers/oauth): the variables
// config/index.ts validates with the rest, and the settings each provider gets from them.
import { z } from 'zod';
import { secretList } from './fields';

const positive = (fallback: number) => z.coerce.number().positive().default(fallback);
const optionalRate = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value === undefined || value === '' ? undefined : Number(value)))
  .pipe(z.number().positive('must be a positive number of requests per second').optional());
const isoTime = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional()
  .pipe(z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time with a zone, e.g. 2026-12-01T12:00:00Z' }).optional());

export const RESILIENCE_ENV = {
  /** Shared response cache (and nothing else yet); unset: an in-process cache. */
  REDIS_URL: z
    .string()
    .trim()
    .transform((value) => (value === '' ? undefined : value))
    .optional()
    .pipe(z.url({ protocol: /^rediss?$/ }).optional()),
  RESPONSE_CACHE: z.enum(['auto', 'memory', 'redis', 'off']).default('auto'),
  RESPONSE_CACHE_TTL_SECONDS: z.coerce.number().int().positive().default(3_600),

  // Requests per second per provider: the task queue's server-side limit (all workers together) and
  // each process's client-side throttle. Defaults follow each provider's published limits.
  STRIPE_RATE_LIMIT_PER_SECOND: optionalRate,
  PAYPAL_RATE_LIMIT_PER_SECOND: optionalRate,
  SWISH_RATE_LIMIT_PER_SECOND: optionalRate,
  MOBILEPAY_RATE_LIMIT_PER_SECOND: optionalRate,
  BOOKING_COM_RATE_LIMIT_PER_SECOND: optionalRate,
  AIRBNB_RATE_LIMIT_PER_SECOND: optionalRate,
  /** Requests a quiet process may send at once before the throttle spaces them. */
  PROVIDER_THROTTLE_BURST: z.coerce.number().int().min(1).default(1),
  /** `shared`: every request takes the provider's next slot, shared by all workers through Postgres. */
  PROVIDER_RATE_PACING: z.enum(['shared', 'off']).default('shared'),
  /** The window over which calls are counted for GET /providers when a provider sends no quota headers. */
  PROVIDER_QUOTA_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),

  CIRCUIT_BREAKER_ENABLED: z.enum(['true', 'false', '1', '0']).default('true'),
  CIRCUIT_BREAKER_FAILURE_RATE: z.coerce.number().gt(0).max(1).default(0.5),
  CIRCUIT_BREAKER_MIN_CALLS: z.coerce.number().int().min(1).default(10),
  CIRCUIT_BREAKER_WINDOW_MS: positive(60_000),
  CIRCUIT_BREAKER_OPEN_MS: positive(30_000),
  CIRCUIT_BREAKER_MAX_OPEN_MS: positive(5 * 60_000),
  CIRCUIT_BREAKER_PROBE_LEASE_MS: positive(20_000),

  OAUTH_REFRESH_MARGIN_SECONDS: z.coerce.number().int().min(0).default(300),
  /**
   * Only when several deployments share one database (the test suite's stacks do): their circuit
   * breakers and quota counts are kept apart under this name. Unset in a normal deployment.
   */
  RESILIENCE_SCOPE: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === '' ? undefined : value)),

  // Webhook secret rotation: the previous secret is accepted until the given time, then refused.
  STRIPE_WEBHOOK_SECRET_PREVIOUS: secretList.pipe(z.array(z.string().startsWith('whsec_', 'each secret must start with whsec_'))),
  STRIPE_WEBHOOK_SECRET_PREVIOUS_UNTIL: isoTime,
  MOBILEPAY_WEBHOOK_SECRET_PREVIOUS: secretList,
  MOBILEPAY_WEBHOOK_SECRET_PREVIOUS_UNTIL: isoTime,
};

type ResilienceEnv = z.infer<z.ZodObject<typeof RESILIENCE_ENV>>;

/** Every provider and channel the mechanisms are configured for. */
export const RESILIENT_PROVIDERS = ['stripe', 'paypal', 'swish', 'mobilepay', 'booking_com', 'airbnb'] as const;
export type ResilientProvider = (typeof RESILIENT_PROVIDERS)[number];

/** A provider's circuit breaker (providers/resilience/circuit-breaker.ts). */
export interface BreakerSettings {
  /** Share of counted calls that failed (0-1) at which the breaker opens. */
  failureRateThreshold: number;
  /** Calls needed in the window before the rate means anything. */
  minimumCalls: number;
  windowMs: number;
  /** How long the breaker stays open before the first probe. */
  openMs: number;
  /** Longest open time after repeated failed probes (each doubles it). */
  maxOpenMs: number;
  /** How long a probe's claim holds before another process may take it over. */
  probeLeaseMs: number;
}

export interface ResilienceConfig {
  redisUrl?: string;
  responseCache: 'memory' | 'redis' | 'off';
  responseCacheTtlSeconds: number;
  /** Requests per second, per provider. */
  rateLimits: Record<ResilientProvider, number>;
  throttleBurst: number;
  /** Counted calls are reported per window of this many seconds (aligned to the clock). */
  quotaWindowSeconds: number;
  /** Requests take the provider's next slot shared by every process (Postgres), so no second exceeds the rate. */
  sharedPacing: boolean;
  /** undefined: no circuit breakers. */
  breaker?: BreakerSettings;
  oauthRefreshMarginMs: number;
  /** Separates the shared breaker and quota state of deployments that share a database. */
  scope?: string;
}

/** The stored name of a provider's shared state (breaker, quota): `<provider>@<scope>` under a scope. */
export const scopedProvider = (config: Pick<ResilienceConfig, 'scope'>, provider: string) => (config.scope ? `${provider}@${config.scope}` : provider);

/** A webhook secret being rotated out: accepted alongside the current ones until `until`. */
export interface PreviousWebhookSecrets {
  secrets: readonly string[];
  until: string;
}

export class ResilienceConfigError extends Error {}

function previous(secrets: string[], until: string | undefined, name: string): PreviousWebhookSecrets | undefined {
  if (secrets.length === 0) return undefined;
  // An overlap without an end would accept the old secret forever.
  if (!until) throw new ResilienceConfigError(`${name}_UNTIL: required with ${name} (when the old secret stops being accepted)`);
  return { secrets, until: new Date(until).toISOString() };
}

export function resilienceConfig(e: ResilienceEnv, context: { stripeLive: boolean }) {
  const rateLimits: Record<ResilientProvider, number> = {
    // Stripe: 100 operations per second in live mode, 25 in test mode.
    stripe: e.STRIPE_RATE_LIMIT_PER_SECOND ?? (context.stripeLive ? 100 : 25),
    // PayPal and Vipps MobilePay publish no fixed figure; these stay well inside what they accept.
    paypal: e.PAYPAL_RATE_LIMIT_PER_SECOND ?? 30,
    mobilepay: e.MOBILEPAY_RATE_LIMIT_PER_SECOND ?? 20,
    swish: e.SWISH_RATE_LIMIT_PER_SECOND ?? 10,
    booking_com: e.BOOKING_COM_RATE_LIMIT_PER_SECOND ?? 5,
    airbnb: e.AIRBNB_RATE_LIMIT_PER_SECOND ?? 5,
  };
  const breakerOn = e.CIRCUIT_BREAKER_ENABLED === 'true' || e.CIRCUIT_BREAKER_ENABLED === '1';
  const resilience: ResilienceConfig = {
    redisUrl: e.REDIS_URL,
    responseCache: e.RESPONSE_CACHE === 'auto' ? (e.REDIS_URL ? 'redis' : 'memory') : e.RESPONSE_CACHE,
    responseCacheTtlSeconds: e.RESPONSE_CACHE_TTL_SECONDS,
    rateLimits,
    throttleBurst: e.PROVIDER_THROTTLE_BURST,
    quotaWindowSeconds: e.PROVIDER_QUOTA_WINDOW_SECONDS,
    sharedPacing: e.PROVIDER_RATE_PACING === 'shared',
    breaker: breakerOn
      ? {
          failureRateThreshold: e.CIRCUIT_BREAKER_FAILURE_RATE,
          minimumCalls: e.CIRCUIT_BREAKER_MIN_CALLS,
          windowMs: e.CIRCUIT_BREAKER_WINDOW_MS,
          openMs: e.CIRCUIT_BREAKER_OPEN_MS,
          maxOpenMs: Math.max(e.CIRCUIT_BREAKER_MAX_OPEN_MS, e.CIRCUIT_BREAKER_OPEN_MS),
          probeLeaseMs: e.CIRCUIT_BREAKER_PROBE_LEASE_MS,
        }
      : undefined,
    oauthRefreshMarginMs: e.OAUTH_REFRESH_MARGIN_SECONDS * 1000,
    scope: e.RESILIENCE_SCOPE,
  };
  if (e.RESPONSE_CACHE === 'redis' && !e.REDIS_URL) throw new ResilienceConfigError('RESPONSE_CACHE: redis needs REDIS_URL');
  return {
    resilience,
    stripePreviousWebhookSecrets: previous(e.STRIPE_WEBHOOK_SECRET_PREVIOUS, e.STRIPE_WEBHOOK_SECRET_PREVIOUS_UNTIL, 'STRIPE_WEBHOOK_SECRET_PREVIOUS'),
    mobilepayPreviousWebhookSecrets: previous(e.MOBILEPAY_WEBHOOK_SECRET_PREVIOUS, e.MOBILEPAY_WEBHOOK_SECRET_PREVIOUS_UNTIL, 'MOBILEPAY_WEBHOOK_SECRET_PREVIOUS'),
  };
}

/** The secrets a webhook may be signed with at `now`: the current ones, and the previous until the overlap ends. */
export function acceptedWebhookSecrets(current: readonly string[], previousSecrets: PreviousWebhookSecrets | undefined, now: Date = new Date()): readonly string[] {
  if (!previousSecrets || now.getTime() >= Date.parse(previousSecrets.until)) return current;
  return [...current, ...previousSecrets.secrets.filter((secret) => !current.includes(secret))];
}
