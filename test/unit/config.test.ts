import { describe, expect, it } from 'vitest';
import { ConfigError, enabledPaymentProviders, loadConfig } from '../../config';

describe('loadConfig', () => {
  it('runs development on the sandboxes with defaults', () => {
    const config = loadConfig({});
    expect(config.appEnv).toBe('development');
    expect(config.port).toBe(3000);
    expect(config.sandbox.port).toBe(4010);
    expect(config.stripe.sandboxed).toBe(true);
    expect(config.stripe.apiBase).toBe('http://127.0.0.1:4010/stripe');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names the variable that is invalid', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ APP_ENV: 'prod' })).toThrow(/APP_ENV/);
    expect(() => loadConfig({ STRIPE_SECRET_KEY: 'pk_live_123' })).toThrow(/STRIPE_SECRET_KEY/);
    expect(() => loadConfig({ STRIPE_WEBHOOK_SECRET: 'whsec_a,nope' })).toThrow(/STRIPE_WEBHOOK_SECRET/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
  });

  it('requires real services outside development, and offers only the providers that have credentials', () => {
    expect(() => loadConfig({ APP_ENV: 'production' })).toThrow(ConfigError);
    const base = {
      APP_ENV: 'production',
      TEMPORAL_ADDRESS: 'temporal:7233',
      DATABASE_URL: 'postgres://u@db:5432/skerry',
      STRIPE_WEBHOOK_SECRET: 'whsec_live',
      TOKEN_ENCRYPTION_KEY: 'ef'.repeat(32),
    };
    expect(() => loadConfig(base)).toThrow(/at least one payment provider/);
    expect(() => loadConfig({ ...base, STRIPE_SECRET_KEY: 'sk_test_abc' })).toThrow(/test key/);
    expect(() => loadConfig({ ...base, STRIPE_SECRET_KEY: 'sk_live_abc', STRIPE_WEBHOOK_SECRET: '' })).toThrow(/STRIPE_WEBHOOK_SECRET/);
    const config = loadConfig({ ...base, STRIPE_SECRET_KEY: 'sk_live_abc' });
    expect(config.stripe).toMatchObject({ enabled: true, sandboxed: false });
    expect(config.stripe.apiBase).toBeUndefined();
    expect(enabledPaymentProviders(config)).toEqual(['stripe']);
    expect(config.paypal).toMatchObject({ enabled: false, sandboxed: false });
    expect(() => loadConfig({ ...base, STRIPE_SECRET_KEY: 'sk_live_abc', PAYPAL_CLIENT_ID: 'id' })).toThrow(/PAYPAL_CLIENT_SECRET/);
    expect(() => loadConfig({ ...base, STRIPE_SECRET_KEY: 'sk_live_abc', PAYPAL_CLIENT_ID: 'id', PAYPAL_CLIENT_SECRET: 's' })).toThrow(/PAYPAL_WEBHOOK_ID/);
  });

  it('offers every provider through its sandbox in development', () => {
    expect(enabledPaymentProviders(loadConfig({}))).toEqual(['stripe', 'paypal', 'swish', 'mobilepay']);
  });

  it('reads several webhook secrets for a rotation', () => {
    const config = loadConfig({ STRIPE_WEBHOOK_SECRET: 'whsec_old, whsec_new' });
    expect(config.stripe.webhookSecrets).toEqual(['whsec_old', 'whsec_new']);
  });
});
