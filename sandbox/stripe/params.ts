// Reading Stripe's form-encoded parameters (already parsed by qs into nested objects of strings)
// with Stripe's own validation messages.
import { invalidParam } from './errors';

export type Params = Record<string, unknown>;

export function asParams(value: unknown): Params {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Params) : {};
}

/** Refuses parameters the endpoint does not know, as Stripe does (`parameter_unknown`). */
export function rejectUnknown(params: Params, allowed: readonly string[]): void {
  for (const key of Object.keys(params)) {
    if (!allowed.includes(key)) throw invalidParam(`Received unknown parameter: ${key}`, key, 'parameter_unknown');
  }
}

function scalar(params: Params, name: string): string | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw invalidParam(`Invalid ${name}: must be a string`, name, 'parameter_invalid_string');
}

export function readString(params: Params, name: string, options: { required?: boolean; maxLength?: number } = {}): string | undefined {
  const value = scalar(params, name);
  if (value === undefined || value === '') {
    if (options.required) throw invalidParam(`Missing required param: ${name}.`, name, 'parameter_missing');
    return undefined;
  }
  if (options.maxLength !== undefined && value.length > options.maxLength) {
    throw invalidParam(`Invalid ${name}: must be at most ${options.maxLength} characters`, name, 'parameter_invalid_string');
  }
  return value;
}

export function readInteger(params: Params, name: string, options: { required?: boolean; min?: number; max?: number } = {}): number | undefined {
  const raw = scalar(params, name);
  if (raw === undefined || raw === '') {
    if (options.required) throw invalidParam(`Missing required param: ${name}.`, name, 'parameter_missing');
    return undefined;
  }
  if (!/^-?\d+$/.test(raw)) throw invalidParam(`Invalid integer: ${raw}`, name, 'parameter_invalid_integer');
  const value = Number(raw);
  if (options.min !== undefined && value < options.min) {
    throw invalidParam(`This value must be greater than or equal to ${options.min}.`, name, 'parameter_invalid_integer');
  }
  if (options.max !== undefined && value > options.max) {
    throw invalidParam(`This value must be less than or equal to ${options.max}.`, name, 'parameter_invalid_integer');
  }
  return value;
}

export function readBoolean(params: Params, name: string): boolean | undefined {
  const raw = scalar(params, name);
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw invalidParam(`Invalid boolean: ${raw}`, name, 'parameter_invalid_string');
}

export function readEnum<T extends string>(params: Params, name: string, values: readonly T[]): T | undefined {
  const raw = scalar(params, name);
  if (raw === undefined || raw === '') return undefined;
  if (!(values as readonly string[]).includes(raw)) {
    const list = values.length > 1 ? `${values.slice(0, -1).join(', ')}, or ${values.at(-1)}` : values[0];
    throw invalidParam(`Invalid ${name}: must be one of ${list}`, name);
  }
  return raw as T;
}

export function readStringArray(params: Params, name: string): string[] | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  const items = Array.isArray(value) ? value : typeof value === 'object' && value !== null ? Object.values(value) : [value];
  return items.map((item, index) => {
    if (typeof item !== 'string') throw invalidParam(`Invalid array`, `${name}[${index}]`, 'parameter_invalid_string');
    return item;
  });
}

export function readObject(params: Params, name: string): Params | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidParam(`Invalid object`, name, 'parameter_invalid_string');
  }
  return value as Params;
}

/**
 * Metadata as Stripe takes it: up to 50 keys (≤ 40 chars) of string values (≤ 500 chars). On update,
 * an empty value unsets a key and `metadata=` (empty) unsets them all; `null` in the result means "unset".
 */
export function readMetadata(params: Params): Record<string, string | null> | null | undefined {
  const value = params.metadata;
  if (value === undefined) return undefined;
  if (value === '') return null;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidParam('Invalid metadata: metadata must be a set of key-value pairs', 'metadata');
  }
  const entries = Object.entries(value as Params);
  if (entries.length > 50) throw invalidParam('Invalid metadata: metadata can have at most 50 keys', 'metadata');
  const out: Record<string, string | null> = {};
  for (const [key, item] of entries) {
    if (key.length > 40) throw invalidParam(`Invalid metadata: keys can be at most 40 characters`, `metadata[${key}]`);
    if (typeof item !== 'string') throw invalidParam(`Invalid metadata: values must be strings`, `metadata[${key}]`);
    if (item.length > 500) throw invalidParam(`Invalid metadata: values can be at most 500 characters`, `metadata[${key}]`);
    out[key] = item === '' ? null : item;
  }
  return out;
}

export function applyMetadata(current: Record<string, string>, update: Record<string, string | null> | null | undefined): Record<string, string> {
  if (update === undefined) return current;
  if (update === null) return {};
  const next = { ...current };
  for (const [key, value] of Object.entries(update)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  return next;
}

export interface RangeFilter {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

/** `created=<ts>` or `created[gte|gt|lt|lte]=<ts>`. */
export function readRange(params: Params, name: string): RangeFilter | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'string') {
    const exact = readInteger(params, name);
    return exact === undefined ? undefined : { gte: exact, lte: exact };
  }
  const range = readObject(params, name) ?? {};
  const out: RangeFilter = {};
  for (const key of Object.keys(range)) {
    if (key !== 'gt' && key !== 'gte' && key !== 'lt' && key !== 'lte') {
      throw invalidParam(`Received unknown parameter: ${name}[${key}]`, `${name}[${key}]`, 'parameter_unknown');
    }
    const raw = range[key];
    if (typeof raw !== 'string' || !/^\d+$/.test(raw)) throw invalidParam(`Invalid integer: ${String(raw)}`, `${name}[${key}]`, 'parameter_invalid_integer');
    out[key] = Number(raw);
  }
  return out;
}

export function inRange(value: number, range: RangeFilter | undefined): boolean {
  if (!range) return true;
  if (range.gt !== undefined && !(value > range.gt)) return false;
  if (range.gte !== undefined && !(value >= range.gte)) return false;
  if (range.lt !== undefined && !(value < range.lt)) return false;
  if (range.lte !== undefined && !(value <= range.lte)) return false;
  return true;
}

export interface PageParams {
  limit: number;
  startingAfter?: string;
  endingBefore?: string;
}

export function readPage(params: Params): PageParams {
  const limit = readInteger(params, 'limit', { min: 1, max: 100 }) ?? 10;
  const startingAfter = readString(params, 'starting_after');
  const endingBefore = readString(params, 'ending_before');
  if (startingAfter && endingBefore) {
    throw invalidParam('You may only specify one of these parameters: ending_before, starting_after.', 'starting_after');
  }
  return { limit, startingAfter, endingBefore };
}

export const PAGE_PARAMS = ['limit', 'starting_after', 'ending_before', 'expand'] as const;
