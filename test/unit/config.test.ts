import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config';

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

  it('requires real services and keys outside development', () => {
    expect(() => loadConfig({ APP_ENV: 'production' })).toThrow(ConfigError);
    const base = {
      APP_ENV: 'production',
      TEMPORAL_ADDRESS: 'temporal:7233',
      DATABASE_URL: 'postgres://u@db:5432/skerry',
      STRIPE_WEBHOOK_SECRET: 'whsec_live',
    };
    expect(() => loadConfig({ ...base, STRIPE_SECRET_KEY: 'sk_test_abc' })).toThrow(/test key/);
    const config = loadConfig({ ...base, STRIPE_SECRET_KEY: 'sk_live_abc' });
    expect(config.stripe.sandboxed).toBe(false);
    expect(config.stripe.apiBase).toBeUndefined();
  });

  it('reads several webhook secrets for a rotation', () => {
    const config = loadConfig({ STRIPE_WEBHOOK_SECRET: 'whsec_old, whsec_new' });
    expect(config.stripe.webhookSecrets).toEqual(['whsec_old', 'whsec_new']);
  });
});
