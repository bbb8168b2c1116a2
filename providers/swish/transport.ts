// Swish's HTTPS answers and failures as ProviderErrors: TLS and certificate failures told apart from
// outages, Swish's error codes classified, and the merchant certificate read from PEM text or a file.
import { ProviderError, classifyTransportError, parseRetryAfter } from '../errors';
import { parseSwishErrors, kindOfSwishError } from './protocol';
import { readFile } from 'node:fs/promises';

/** PEM text, or the path of a PEM or PKCS#12 file (told apart by `-----BEGIN`). */
export type PemSource = string | Buffer;

/**
 * Whether the merchant certificate is a PKCS#12 bundle (certificate, chain and key in one file, as
 * Swish's Certificate Management and the MSS test package hand them out): a `.p12`/`.pfx` path, or
 * bytes that are not PEM.
 */
export function isPkcs12(source: PemSource): boolean {
  if (Buffer.isBuffer(source)) return !source.subarray(0, 64).toString('latin1').includes('-----BEGIN');
  return !source.includes('-----BEGIN') && /\.(p12|pfx)$/i.test(source.trim());
}

export interface SwishResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

const TLS_CODE = /^(ERR_SSL_|ERR_TLS_|ERR_OSSL_)|CERT|SELF_SIGNED|_SIGNATURE$|^HOSTNAME_MISMATCH$/;

function errorCodes(err: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}

/**
 * A failure below HTTP. A refused or unverifiable certificate is configuration, not a passing fault:
 * it is `authentication` (not retried), everything else the shared transport classification.
 */
export function classifySwishTransportError(operation: string, err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const tlsCode = errorCodes(err).find((code) => TLS_CODE.test(code));
  if (tlsCode) {
    const message = err instanceof Error ? err.message : String(err);
    return new ProviderError('swish', operation, 'authentication', `TLS handshake with Swish failed (${tlsCode}): ${message}`, { code: tlsCode, cause: err });
  }
  return classifyTransportError('swish', operation, err);
}

export function header(headers: SwishResponse['headers'], name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The setting behind a refusal that no retry can cure: Swish names the field, the operator needs
 * the variable. RP03 is what MSS and production answer to an http callback URL.
 */
const CONFIGURATION_HINTS: Record<string, string> = {
  RP03: 'check SWISH_CALLBACK_BASE_URL (or PUBLIC_URL): Swish calls back only to an https URL',
  RP01: 'check SWISH_PAYEE_ALIAS: the merchant Swish number is missing or wrong',
  ACMT07: 'check SWISH_PAYEE_ALIAS: this Swish number is not enrolled as a merchant',
  PA01: 'check SWISH_PAYEE_ALIAS: it must be the Swish number of the certificate in SWISH_CERT',
};
const CERTIFICATE_HINT = 'check SWISH_CERT and SWISH_PAYEE_ALIAS: the certificate must be the one issued for this Swish number';

export function errorFromResponse(operation: string, response: SwishResponse): ProviderError {
  const entries = parseSwishErrors(response.text);
  const codes = entries.map((entry) => entry.errorCode);
  const kind = kindOfSwishError(response.status, codes);
  const described = entries.map((entry) => [entry.errorCode, entry.errorMessage, entry.additionalInformation].filter(Boolean).join(' ')).join('; ');
  const hint =
    codes.map((code) => CONFIGURATION_HINTS[code]).find(Boolean) ?? (response.status === 401 || response.status === 403 ? CERTIFICATE_HINT : undefined);
  const answer = described || `HTTP ${response.status}${response.text ? `: ${response.text.slice(0, 300)}` : ''}`;
  const message = hint ? `${answer} (${hint})` : answer;
  return new ProviderError('swish', operation, kind, message, {
    httpStatus: response.status,
    code: codes[0],
    retryAfterMs: parseRetryAfter(header(response.headers, 'retry-after')),
  });
}

export async function readPem(source: PemSource, what: string, operation: string): Promise<Buffer> {
  if (Buffer.isBuffer(source)) return source;
  if (source.includes('-----BEGIN')) return Buffer.from(source.replace(/\\n/g, '\n'));
  try {
    return await readFile(source);
  } catch (err) {
    throw new ProviderError('swish', operation, 'authentication', `cannot read the Swish ${what} at ${source}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
