// Every combination of environment, API base (Skerry's sandbox or the provider's real one), webhook
// secret present or not, and credentials (live, test or none) either starts with the expected
// verifier secret or stops naming the variable. Whatever starts, no provider that calls a real API
// verifies its webhooks with a value published in the repository.
import { describe, expect, it } from 'vitest';
import { CHANNEL_SANDBOX_DEFAULTS, ConfigError, SANDBOX_DEFAULTS, loadConfig, type Config } from '../../config';

const ENVIRONMENTS = ['development', 'staging', 'production'] as const;
type AppEnv = (typeof ENVIRONMENTS)[number];
const BASES = ['sandbox', 'real'] as const;
const SANDBOX = 'http://127.0.0.1:4010';

const PUBLISHED = new Set<string>([...Object.values(SANDBOX_DEFAULTS), ...Object.values(CHANNEL_SANDBOX_DEFAULTS)]);

/** What every environment needs besides the provider under test (and a key for real OAuth tokens). */
function around(appEnv: AppEnv): Record<string, string> {
  const env: Record<string, string> = { APP_ENV: appEnv, TOKEN_ENCRYPTION_KEY: 'cd'.repeat(32) };
  if (appEnv !== 'development') Object.assign(env, { TEMPORAL_ADDRESS: 'temporal:7233', DATABASE_URL: 'postgres://u@db:5432/skerry' });
  return env;
}

/** A payment provider that makes the start possible outside development, when the one under test is off. */
const OTHER_PAYMENTS: Record<AppEnv, Record<string, string>> = {
  development: {},
  staging: { STRIPE_SECRET_KEY: 'sk_test_other', STRIPE_WEBHOOK_SECRET: 'whsec_other' },
  production: { STRIPE_SECRET_KEY: 'sk_live_other', STRIPE_WEBHOOK_SECRET: 'whsec_other' },
};

type Outcome = { starts: true; verifiedWith: string | readonly string[] | 'off' } | { starts: false; variable: string };

function attempt(env: Record<string, string>, read: (config: Config) => string | readonly string[] | 'off'): Outcome & { config?: Config } {
  try {
    const config = loadConfig(env);
    return { starts: true, verifiedWith: read(config), config };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { starts: false, variable: err.message };
  }
}

function expectOutcome(actual: Outcome, expected: Outcome, label: string): void {
  if (expected.starts) {
    expect(actual, label).toEqual(expected);
  } else {
    expect(actual.starts, `${label}: ${JSON.stringify(actual)}`).toBe(false);
    expect((actual as { variable: string }).variable, label).toMatch(new RegExp(`\\b${expected.variable}\\b`));
  }
}

/** Enabled providers calling a non-loopback API, with the secret or id that verifies their webhooks. */
function realApiVerifiers(config: Config): Array<{ provider: string; secrets: readonly string[] }> {
  const loopback = (base: string | undefined) => base !== undefined && ['127.0.0.1', 'localhost'].includes(new URL(base).hostname);
  const providers = [
    { provider: 'stripe', enabled: config.stripe.enabled, base: config.stripe.apiBase, secrets: config.stripe.webhookSecrets },
    { provider: 'paypal', enabled: config.paypal.enabled, base: config.paypal.apiBase, secrets: [config.paypal.webhookId] },
    { provider: 'mobilepay', enabled: config.mobilepay.enabled, base: config.mobilepay.apiBase, secrets: config.mobilepay.webhookSecrets },
    { provider: 'airbnb', enabled: config.channels.airbnb.enabled, base: config.channels.airbnb.apiBase, secrets: config.channels.airbnb.webhookSecrets },
  ];
  return providers.filter((p) => p.enabled && !loopback(p.base));
}

const started: Config[] = [];
const record = (outcome: { config?: Config }) => outcome.config && started.push(outcome.config);

describe('Stripe: environment × API base × webhook secret × key', () => {
  const KEYS = ['live', 'test', 'none'] as const;
  for (const appEnv of ENVIRONMENTS)
    for (const base of BASES)
      for (const secret of [true, false])
        for (const key of KEYS) {
          const label = `${appEnv}, ${base} API, ${secret ? 'with' : 'without'} STRIPE_WEBHOOK_SECRET, ${key} key`;
          it(label, () => {
            const env = {
              ...around(appEnv),
              STRIPE_API_BASE: base === 'sandbox' ? `${SANDBOX}/stripe` : 'https://api.stripe.com',
              ...(secret ? { STRIPE_WEBHOOK_SECRET: 'whsec_own' } : {}),
              ...(key === 'none' ? {} : { STRIPE_SECRET_KEY: `sk_${key}_own` }),
            };
            const expected = ((): Outcome => {
              if (key === 'live' && appEnv !== 'production') return { starts: false, variable: 'STRIPE_SECRET_KEY' };
              if (key === 'test' && appEnv === 'production') return { starts: false, variable: 'STRIPE_SECRET_KEY' };
              if (key === 'none' && appEnv !== 'development') return { starts: false, variable: 'STRIPE_SECRET_KEY' }; // no provider at all
              if (key === 'none' && base === 'real') return { starts: false, variable: 'STRIPE_SECRET_KEY' };
              if (!secret && (appEnv !== 'development' || base === 'real')) return { starts: false, variable: 'STRIPE_WEBHOOK_SECRET' };
              return { starts: true, verifiedWith: secret ? ['whsec_own'] : [SANDBOX_DEFAULTS.stripeWebhookSecret] };
            })();
            const actual = attempt(env, (config) => config.stripe.webhookSecrets);
            record(actual);
            const { config: _config, ...outcome } = actual;
            expectOutcome(outcome, expected, label);
          });
        }
});

interface OAuthCase {
  provider: string;
  /** Variables of real credentials (besides the webhook secret or id). */
  credentials: Record<string, string>;
  credentialVariable: string;
  baseVariable: string;
  sandboxBase: string;
  realBase: (appEnv: AppEnv) => string;
  secretVariable: string;
  secretValue: string;
  published: string;
  read: (config: Config) => string | readonly string[] | 'off';
  /** The secret as the verifier holds it. */
  own: string | readonly string[];
  extra?: Record<string, string>;
  /** The secret may instead come from a registration Skerry stored (MobilePay): none at a real API, never the published one. */
  secretOptional?: boolean;
}

const OAUTH: OAuthCase[] = [
  {
    provider: 'PayPal',
    credentials: { PAYPAL_CLIENT_ID: 'own-client', PAYPAL_CLIENT_SECRET: 'own-secret' },
    credentialVariable: 'PAYPAL_CLIENT_ID',
    baseVariable: 'PAYPAL_API_BASE',
    sandboxBase: `${SANDBOX}/paypal`,
    realBase: (appEnv) => (appEnv === 'production' ? 'https://api-m.paypal.com' : 'https://api-m.sandbox.paypal.com'),
    secretVariable: 'PAYPAL_WEBHOOK_ID',
    secretValue: 'OWNWEBHOOK01',
    published: SANDBOX_DEFAULTS.paypalWebhookId,
    read: (config) => (config.paypal.enabled ? config.paypal.webhookId : 'off'),
    own: 'OWNWEBHOOK01',
  },
  {
    provider: 'MobilePay',
    credentials: { MOBILEPAY_CLIENT_ID: 'own-client', MOBILEPAY_CLIENT_SECRET: 'own-secret', MOBILEPAY_SUBSCRIPTION_KEY: 'own-sub', MOBILEPAY_MSN: '654321' },
    credentialVariable: 'MOBILEPAY_CLIENT_ID',
    baseVariable: 'MOBILEPAY_API_BASE',
    sandboxBase: `${SANDBOX}/mobilepay`,
    realBase: (appEnv) => (appEnv === 'production' ? 'https://api.vipps.no' : 'https://apitest.vipps.no'),
    secretVariable: 'MOBILEPAY_WEBHOOK_SECRET',
    secretValue: 'own-mobilepay-hook',
    published: SANDBOX_DEFAULTS.mobilepayWebhookSecret,
    read: (config) => (config.mobilepay.enabled ? config.mobilepay.webhookSecrets : 'off'),
    own: ['own-mobilepay-hook'],
    extra: { MOBILEPAY_RETURN_URL: 'https://shop.example/return' },
    secretOptional: true,
  },
  {
    provider: 'Airbnb',
    credentials: { AIRBNB_CLIENT_ID: 'own-client', AIRBNB_CLIENT_SECRET: 'own-secret' },
    credentialVariable: 'AIRBNB_CLIENT_ID',
    baseVariable: 'AIRBNB_API_BASE',
    sandboxBase: `${SANDBOX}/airbnb`,
    realBase: () => 'https://api.airbnb.com',
    secretVariable: 'AIRBNB_WEBHOOK_SECRET',
    secretValue: 'own-airbnb-hook',
    published: CHANNEL_SANDBOX_DEFAULTS.airbnbWebhookSecret,
    read: (config) => (config.channels.airbnb.enabled ? config.channels.airbnb.webhookSecrets : 'off'),
    own: ['own-airbnb-hook'],
  },
];

for (const c of OAUTH) {
  describe(`${c.provider}: environment × API base × ${c.secretVariable} × credentials`, () => {
    for (const appEnv of ENVIRONMENTS)
      for (const base of BASES)
        for (const secret of [true, false])
          for (const credentials of [true, false]) {
            const label = `${appEnv}, ${base} API, ${secret ? 'with' : 'without'} ${c.secretVariable}, ${credentials ? 'own' : 'no'} credentials`;
            it(label, () => {
              const env = {
                ...around(appEnv),
                ...OTHER_PAYMENTS[appEnv],
                ...(c.extra ?? {}),
                [c.baseVariable]: base === 'sandbox' ? c.sandboxBase : c.realBase(appEnv),
                ...(secret ? { [c.secretVariable]: c.secretValue } : {}),
                ...(credentials ? c.credentials : {}),
              };
              const expected = ((): Outcome => {
                // Without credentials a provider is off outside development; in development the sandbox stands in.
                if (!credentials && appEnv !== 'development') return { starts: true, verifiedWith: 'off' };
                if (!credentials && base === 'real') return { starts: false, variable: c.credentialVariable };
                if (!secret && (appEnv !== 'development' || base === 'real')) {
                  if (c.secretOptional) return { starts: true, verifiedWith: base === 'real' ? [] : [c.published] };
                  return { starts: false, variable: c.secretVariable };
                }
                return { starts: true, verifiedWith: secret ? c.own : c.provider === 'PayPal' ? c.published : [c.published] };
              })();
              const actual = attempt(env, c.read);
              record(actual);
              const { config: _config, ...outcome } = actual;
              expectOutcome(outcome, expected, label);
            });
          }
  });
}

describe('Swish and Booking.com: credentials only with their own API', () => {
  const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
  for (const appEnv of ENVIRONMENTS)
    for (const base of BASES)
      for (const credentials of [true, false]) {
        it(`Swish: ${appEnv}, ${base} API, ${credentials ? 'own' : 'no'} certificate`, () => {
          const env = {
            ...around(appEnv),
            ...OTHER_PAYMENTS[appEnv],
            SWISH_CALLBACK_BASE_URL: 'https://shop.example',
            SWISH_API_BASE:
              base === 'sandbox' ? 'https://127.0.0.1:4011/swish-cpcapi' : appEnv === 'production' ? 'https://cpc.getswish.net/swish-cpcapi' : 'https://mss.cpc.getswish.net/swish-cpcapi',
            ...(credentials ? { SWISH_CERT: PEM, SWISH_KEY: PEM, SWISH_PAYEE_ALIAS: '1231181189' } : {}),
          };
          const actual = attempt(env, (config) => (config.swish.enabled ? config.swish.cert : 'off'));
          if (credentials) expect(actual).toMatchObject({ starts: true, verifiedWith: PEM });
          else if (appEnv !== 'development') expect(actual).toMatchObject({ starts: true, verifiedWith: 'off' });
          else if (base === 'real') expect(actual).toMatchObject({ starts: false, variable: expect.stringMatching(/\bSWISH_CERT\b/) });
          else expect(actual).toMatchObject({ starts: true, verifiedWith: expect.stringMatching(/swish-sandbox\/client\.pem$/) });
        });

        it(`Booking.com: ${appEnv}, ${base} API, ${credentials ? 'own' : 'no'} credentials`, () => {
          const env = {
            ...around(appEnv),
            ...OTHER_PAYMENTS[appEnv],
            ...(base === 'sandbox' ? { BOOKING_COM_API_BASE: `${SANDBOX}/booking-com` } : { BOOKING_COM_API_BASE: 'https://supply-xml.booking.com' }),
            ...(credentials ? { BOOKING_COM_USERNAME: 'own-user', BOOKING_COM_PASSWORD: 'own-password' } : {}),
          };
          const actual = attempt(env, (config) => (config.channels.bookingCom.enabled ? config.channels.bookingCom.password : 'off'));
          if (credentials) expect(actual).toMatchObject({ starts: true, verifiedWith: 'own-password' });
          else if (appEnv !== 'development') expect(actual).toMatchObject({ starts: true, verifiedWith: 'off' });
          else if (base === 'real') expect(actual).toMatchObject({ starts: false, variable: expect.stringMatching(/\bBOOKING_COM_USERNAME\b/) });
          else expect(actual).toMatchObject({ starts: true, verifiedWith: CHANNEL_SANDBOX_DEFAULTS.bookingComPassword });
        });
      }
});

describe('a sandbox that is not on this machine', () => {
  it('gets no published secret either: SANDBOX_URL off loopback stops the start', () => {
    expect(() => loadConfig({ SANDBOX_URL: 'http://sandbox.internal:4010' })).toThrow(/STRIPE_SECRET_KEY: required when Stripe calls http:\/\/sandbox\.internal:4010\/stripe/);
  });
});

describe('across the whole table', () => {
  it('no configuration that started verifies real API traffic with a published secret', () => {
    // Runs after the tables above (vitest keeps file order), over every configuration that started.
    expect(started.length).toBeGreaterThan(50);
    for (const config of started) {
      for (const { provider, secrets } of realApiVerifiers(config)) {
        for (const secret of secrets) expect(PUBLISHED.has(secret), `${config.appEnv} ${provider} verifies with a published secret`).toBe(false);
      }
      // MobilePay may configure none: the secrets of its stored registrations (provider_webhooks) verify,
      // and with none stored every webhook is refused.
      for (const verifier of realApiVerifiers(config)) if (verifier.provider !== 'mobilepay') expect(verifier.secrets.length, verifier.provider).toBeGreaterThan(0);
    }
  });
});
