// The official PayPal SDK's own response schemas (@paypal/paypal-server-sdk ships them with its models
// and validates every answer with them), as a drift check for Skerry's PayPal sandbox. The package
// exports only its client, so the model files are loaded from the package's own directory.
//
// A response drifts when (1) the SDK's validator refuses it (a type: a number where PayPal sends a
// string, an object for a list), (2) it carries a field the SDK's model does not know (a renamed or
// invented field: the SDK drops it when mapping, so it is absent after mapping and unmapping back),
// (3) the round trip changes a value's JSON type (the validator coerces "true" to a boolean), or
// (4) a status or intent is outside the SDK's enum (the SDK's enum schemas let unknown values pass).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AuthorizationStatus, CaptureStatus, CheckoutPaymentIntent, OrderStatus, RefundStatus } from '@paypal/paypal-server-sdk';

interface ValidationResult {
  errors: false | { path: (string | number)[]; message?: string; value: unknown }[];
  result?: unknown;
}
type Schema = unknown;

export interface PayPalSdkSchemas {
  oAuthToken: Schema;
  order: Schema;
  capturedPayment: Schema;
  paymentAuthorization: Schema;
  refund: Schema;
  searchResponse: Schema;
}

const MODEL_FILES: Record<keyof PayPalSdkSchemas, [file: string, exported: string]> = {
  oAuthToken: ['oAuthToken.js', 'oAuthTokenSchema'],
  order: ['order.js', 'orderSchema'],
  capturedPayment: ['capturedPayment.js', 'capturedPaymentSchema'],
  paymentAuthorization: ['paymentAuthorization.js', 'paymentAuthorizationSchema'],
  refund: ['refund.js', 'refundSchema'],
  searchResponse: ['searchResponse.js', 'searchResponseSchema'],
};

let validators: { validateAndMap: (value: unknown, schema: Schema) => ValidationResult; validateAndUnmap: (value: unknown, schema: Schema) => ValidationResult } | undefined;

/** The SDK's schemas and its validator, from the installed package (a missing file fails, it does not skip). */
export async function loadPayPalSdkSchemas(): Promise<PayPalSdkSchemas> {
  const require = createRequire(import.meta.url);
  // The CommonJS entry resolves through the exports map; the ES build sits beside it.
  const esm = join(dirname(require.resolve('@paypal/paypal-server-sdk')), '..', 'esm');
  validators = await import(pathToFileURL(join(esm, 'schema.js')).href);
  const entries = await Promise.all(
    Object.entries(MODEL_FILES).map(async ([name, [file, exported]]) => {
      const module = (await import(pathToFileURL(join(esm, 'models', file)).href)) as Record<string, Schema>;
      if (!module[exported]) throw new Error(`@paypal/paypal-server-sdk: ${file} has no ${exported}`);
      return [name, module[exported]] as const;
    }),
  );
  return Object.fromEntries(entries) as unknown as PayPalSdkSchemas;
}

const ENUMS: Record<string, readonly string[]> = {
  order: Object.values(OrderStatus),
  capture: Object.values(CaptureStatus),
  authorization: Object.values(AuthorizationStatus),
  refund: Object.values(RefundStatus),
  intent: Object.values(CheckoutPaymentIntent),
};

/**
 * Paths present in `original` and missing from `roundTripped` (fields the model does not know), and
 * values whose JSON type the round trip changed (the SDK coerces "true" to true and "5" to 5 when it
 * maps: a string where PayPal sends a boolean passes its validator, not this).
 */
function unmodelled(original: unknown, roundTripped: unknown, path: string, found: string[], coerced: string[]): void {
  if (Array.isArray(original)) {
    original.forEach((item, index) => unmodelled(item, Array.isArray(roundTripped) ? roundTripped[index] : undefined, `${path}[${index}]`, found, coerced));
    return;
  }
  if (typeof original !== 'object' || original === null) {
    // A bigint is how the SDK holds a JSON integer (expires_in): the same JSON number.
    const sameJsonType = typeof roundTripped === typeof original || (typeof original === 'number' && typeof roundTripped === 'bigint');
    if (roundTripped !== undefined && !sameJsonType) coerced.push(`${path}: ${JSON.stringify(original)} is a ${typeof original} where the SDK's model has a ${typeof roundTripped}`);
    return;
  }
  const other = (typeof roundTripped === 'object' && roundTripped !== null ? roundTripped : {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(original)) {
    if (!(key in other)) found.push(`${path}.${key}`);
    else unmodelled(value, other[key], `${path}.${key}`, found, coerced);
  }
}

const LIST_KINDS: Record<string, keyof typeof ENUMS> = { captures: 'capture', authorizations: 'authorization', refunds: 'refund' };

/** Statuses of nested payments and intents outside the SDK's enums. */
function offEnum(value: unknown, path: string, found: string[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => offEnum(item, `${path}[${index}]`, found));
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const [key, child] of Object.entries(value)) {
    const at = `${path}.${key}`;
    const listKind = LIST_KINDS[key];
    if (listKind && Array.isArray(child)) {
      child.forEach((item: { status?: unknown }, index) => {
        if (typeof item?.status === 'string' && !ENUMS[listKind]!.includes(item.status)) found.push(`${at}[${index}].status=${item.status} (not a ${listKind} status)`);
      });
    }
    if (key === 'intent' && typeof child === 'string' && !ENUMS.intent!.includes(child)) found.push(`${at}=${child} (not an intent)`);
    offEnum(child, at, found);
  }
}

/**
 * Every way `body` differs from the SDK's model `schema` (empty: it conforms). `kind` is the
 * resource's own status enum (order, capture, authorization, refund); `documentedExtras` are paths
 * PayPal's documentation shows in the answer that the SDK's model leaves out.
 */
export function driftFrom(schema: Schema, body: unknown, kind?: keyof typeof ENUMS, documentedExtras: readonly string[] = []): string[] {
  if (!validators) throw new Error('loadPayPalSdkSchemas() first');
  const mapped = validators.validateAndMap(body, schema);
  if (mapped.errors) return mapped.errors.map((error) => `${['$', ...error.path].join('.')}: ${JSON.stringify(error.value)} ${error.message ?? 'refused by the SDK schema'}`);
  const back = validators.validateAndUnmap(mapped.result, schema);
  if (back.errors) return back.errors.map((error) => `${['$', ...error.path].join('.')}: does not map back (${error.message ?? 'refused'})`);
  const found: string[] = [];
  const coerced: string[] = [];
  unmodelled(body, back.result, '$', found, coerced);
  const unknownFields = found.filter((path) => !documentedExtras.includes(path)).map((path) => `${path}: not in the SDK's model`);
  const enums: string[] = [];
  if (kind && typeof body === 'object' && body !== null) {
    const status = (body as { status?: unknown }).status;
    if (typeof status === 'string' && !ENUMS[kind]!.includes(status)) enums.push(`$.status=${status} (not a ${kind} status)`);
  }
  offEnum(body, '$', enums);
  return [...unknownFields, ...coerced, ...enums];
}
