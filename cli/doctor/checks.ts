// `skerry doctor`'s checks: what a deployment needs before it takes money, each answered by the
// providers themselves where it can be (an authenticated read, the registered webhooks, the
// certificate's subject) rather than by re-reading the configuration that loadConfig already checked.
import { X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { enabledPaymentProviders, SANDBOX_DEFAULTS, CHANNEL_SANDBOX_DEFAULTS, type Config } from '../../config';
import { isLoopbackApi } from '../../config/sandbox-defaults';
import type { Database } from '../../db/client';
import type { ProviderName } from '../../domain/payments';
import { ProviderError } from '../../providers/errors';
import { createMobilePayApi, mobilePayConnection } from '../../providers/mobilepay/api';
import { createProviderRegistry } from '../../providers/registry';
import { isPkcs12, readPem } from '../../providers/swish/transport';
import { createChannelAccountStore } from '../../store/channel-accounts';

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface DoctorOptions {
  config: Config;
  /** Where the Airbnb hosts' tokens are kept; without it that check fails, naming the database. */
  database?: Database;
  now?: () => Date;
}

const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Loopback in development is what `npm start` uses; everything else must be reachable over https. */
function httpsCheck(name: string, variable: string, url: string, config: Config): DoctorCheck {
  const parsed = new URL(url);
  if (parsed.protocol === 'https:') return { name, ok: true, detail: `${variable} is https` };
  if (parsed.protocol !== 'http:') return { name, ok: true, detail: `${variable} is an app scheme (${parsed.protocol})` };
  if (config.appEnv === 'development' && isLoopbackApi(url)) return { name, ok: true, detail: `${variable} is loopback http (development only)` };
  return { name, ok: false, detail: `${variable} is ${url}: providers and browsers need https (loopback http only in development)` };
}

/** A published sandbox value is fine only while the provider's API is Skerry's sandbox on this machine. */
function secretCheck(name: string, variable: string, values: readonly string[], sandboxDefault: string, apiBase: string | undefined): DoctorCheck {
  if (values.length === 0 || values.some((value) => !value)) return { name, ok: false, detail: `${variable} is not set` };
  if (!values.includes(sandboxDefault)) return { name, ok: true, detail: `${variable} is set` };
  if (isLoopbackApi(apiBase)) return { name, ok: true, detail: `${variable} is the sandbox default (accepted only by the local sandbox at ${apiBase})` };
  return { name, ok: false, detail: `${variable} is the published sandbox default while calling ${apiBase}: anyone could forge these webhooks` };
}

async function credentialsCheck(provider: ProviderName, config: Config): Promise<DoctorCheck> {
  const name = `${provider}: credentials`;
  const client = createProviderRegistry(config).get(provider) as ReturnType<ReturnType<typeof createProviderRegistry>['get']> & { close?: () => Promise<void> };
  try {
    await client.healthCheck!();
    return { name, ok: true, detail: 'an authenticated read succeeded' };
  } catch (err) {
    // The probes read ids that cannot exist: a 404 is the answer of an API that accepted the credentials.
    if (err instanceof ProviderError && err.kind === 'not_found') return { name, ok: true, detail: 'an authenticated read was answered (404 for the probe id)' };
    const kind = err instanceof ProviderError ? `${err.kind}: ` : '';
    return { name, ok: false, detail: `${kind}${describe(err)}` };
  } finally {
    await client.close?.().catch(() => undefined);
  }
}

/** The subject of the merchant certificate, from PEM or from the PKCS#12 bundle Swish hands out. */
async function certificateSubject(config: Config): Promise<{ subject: string; serialNumber: string }> {
  const source = await readPem(config.swish.cert, 'certificate', 'doctor');
  if (isPkcs12(source)) {
    const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(forge.util.createBuffer(source.toString('binary'))), config.swish.passphrase ?? '');
    const certBag = forge.pki.oids.certBag as string;
    const certificates = (p12.getBags({ bagType: certBag })[certBag] ?? []).flatMap((bag) => (bag.cert ? [bag.cert] : []));
    // The merchant's own certificate is the one that is not a CA of the chain.
    const leaf = certificates.find((cert) => !(cert.getExtension('basicConstraints') as { cA?: boolean } | undefined)?.cA) ?? certificates[0];
    if (!leaf) throw new Error('the PKCS#12 file holds no certificate');
    return { subject: leaf.subject.attributes.map((attr: forge.pki.CertificateField) => `${attr.shortName ?? attr.name}=${String(attr.value)}`).join('\n'), serialNumber: leaf.serialNumber };
  }
  // The first PEM block is the merchant's own certificate; the chain follows it.
  const certificate = new X509Certificate(source);
  return { subject: certificate.subject, serialNumber: certificate.serialNumber };
}

async function swishCertificateCheck(config: Config): Promise<DoctorCheck> {
  const name = 'swish: certificate matches payee alias';
  try {
    const { subject, serialNumber } = await certificateSubject(config);
    const fields = subject.split('\n');
    const matches = fields.some((field) => /^(CN|serialNumber)=/i.test(field) && field.includes(config.swish.payeeAlias));
    const cn = fields.find((field) => field.startsWith('CN='))?.slice(3) ?? '(none)';
    return matches
      ? { name, ok: true, detail: `certificate CN ${cn} is for ${config.swish.payeeAlias}` }
      : { name, ok: false, detail: `certificate CN ${cn} (serial ${serialNumber}) is not for SWISH_PAYEE_ALIAS ${config.swish.payeeAlias}: Swish refuses it (PA01)` };
  } catch (err) {
    return { name, ok: false, detail: `cannot read SWISH_CERT: ${describe(err)}` };
  }
}

async function mobilepayWebhookCheck(config: Config): Promise<DoctorCheck> {
  const name = 'mobilepay: webhook registered';
  const expected = `${config.publicUrl.replace(/\/+$/, '')}/webhooks/mobilepay`;
  const api = createMobilePayApi(mobilePayConnection(config.mobilepay));
  try {
    const { webhooks } = await api.listWebhooks();
    const found = webhooks.find((webhook) => webhook.url === expected);
    if (found) return { name, ok: true, detail: `${found.id} delivers ${found.events.length} event type(s) to ${expected}` };
    // npm start's sandbox is started with its door's webhook (sandbox/start.ts), which the API does not list.
    if (config.mobilepay.sandboxed && isLoopbackApi(expected)) return { name, ok: true, detail: `the local sandbox delivers to ${expected} without registration` };
    return { name, ok: false, detail: `none of the ${webhooks.length} registered webhook(s) goes to ${expected} (register one with the Webhooks API)` };
  } catch (err) {
    return { name, ok: false, detail: `cannot list webhooks: ${describe(err)}` };
  }
}

function bookingHostsCheck(config: Config): DoctorCheck {
  const name = 'booking.com: hosts';
  const { apiBase: supply, secureApiBase: secure } = config.channels.bookingCom;
  const insecure = [
    ...(new URL(supply).protocol !== 'https:' && !isLoopbackApi(supply) ? [`${supply} (BOOKING_COM_API_BASE)`] : []),
    ...(new URL(secure).protocol !== 'https:' && !isLoopbackApi(secure) ? [`${secure} (BOOKING_COM_SECURE_API_BASE)`] : []),
  ];
  if (insecure.length > 0) return { name, ok: false, detail: `not https: ${insecure.join(', ')}` };
  return { name, ok: true, detail: `ARI to ${supply}, reservations to ${secure}` };
}

async function airbnbTokensCheck(config: Config, database: Database | undefined, now: Date): Promise<DoctorCheck> {
  const name = 'airbnb: host tokens';
  if (!database) return { name, ok: false, detail: 'no database to read the token store from (set DATABASE_URL)' };
  try {
    const accounts = await createChannelAccountStore(database, config.channels.tokenEncryptionKey).list('airbnb');
    const revoked = accounts.filter((account) => account.status !== 'active');
    const connected = accounts.filter((account) => account.status === 'active');
    if (revoked.length > 0) {
      return { name, ok: false, detail: `${revoked.length} host(s) must reconnect: ${revoked.map((account) => `${account.externalAccountId} (${account.status})`).join(', ')}` };
    }
    if (connected.length === 0) return { name, ok: true, detail: 'no host connected yet' };
    const soonest = connected.map((account) => account.accessTokenExpiresAt).sort()[0]!;
    const state = new Date(soonest) > now ? `next access token expires ${soonest}` : `an access token expired ${soonest} (refreshed at the next call)`;
    return { name, ok: true, detail: `${connected.length} host(s) connected; ${state}` };
  } catch (err) {
    return { name, ok: false, detail: `cannot read the token store: ${describe(err)}` };
  }
}

/** Every check for every enabled provider, in the order an operator fixes them. */
export async function runDoctorChecks(options: DoctorOptions): Promise<DoctorCheck[]> {
  const { config } = options;
  const now = options.now?.() ?? new Date();
  const checks: DoctorCheck[] = [httpsCheck('public URL', 'PUBLIC_URL', config.publicUrl, config)];
  const enabled = enabledPaymentProviders(config);
  for (const provider of enabled) {
    checks.push(await credentialsCheck(provider, config));
    if (provider === 'stripe') {
      checks.push(secretCheck('stripe: webhook secret', 'STRIPE_WEBHOOK_SECRET', config.stripe.webhookSecrets, SANDBOX_DEFAULTS.stripeWebhookSecret, config.stripe.apiBase));
    }
    if (provider === 'paypal') {
      checks.push(secretCheck('paypal: webhook id', 'PAYPAL_WEBHOOK_ID', [config.paypal.webhookId], SANDBOX_DEFAULTS.paypalWebhookId, config.paypal.apiBase));
    }
    if (provider === 'mobilepay') {
      checks.push(
        config.mobilepay.webhookSecrets.length === 0
          ? { name: 'mobilepay: webhook secret', ok: true, detail: 'MOBILEPAY_WEBHOOK_SECRET is not set: the secrets `skerry mobilepay webhooks register` stored verify' }
          : secretCheck('mobilepay: webhook secret', 'MOBILEPAY_WEBHOOK_SECRET', config.mobilepay.webhookSecrets, SANDBOX_DEFAULTS.mobilepayWebhookSecret, config.mobilepay.apiBase),
      );
      checks.push(httpsCheck('mobilepay: return URL', 'MOBILEPAY_RETURN_URL', config.mobilepay.returnUrl, config));
      checks.push(await mobilepayWebhookCheck(config));
    }
    if (provider === 'swish') {
      checks.push(httpsCheck('swish: callback URL', 'SWISH_CALLBACK_BASE_URL', config.swish.callbackUrl, config));
      checks.push(await swishCertificateCheck(config));
    }
  }
  if (config.channels.bookingCom.enabled) checks.push(bookingHostsCheck(config));
  if (config.channels.airbnb.enabled) {
    checks.push(
      secretCheck('airbnb: webhook secret', 'AIRBNB_WEBHOOK_SECRET', config.channels.airbnb.webhookSecrets, CHANNEL_SANDBOX_DEFAULTS.airbnbWebhookSecret, config.channels.airbnb.apiBase),
    );
    checks.push(await airbnbTokensCheck(config, options.database, now));
  }
  return checks;
}
