// Which dependency an error says is unavailable, so the API answers 503 with Retry-After (the
// client may try again) instead of 500 (something is wrong with the request or with us). An
// outage of Temporal or Postgres is not a bug, and a deadline that passed is an answer, not a hang.
import { isGrpcServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { QueueFullError } from '../db/batch';

export type UnavailableDependency = 'temporal' | 'postgres';

export interface Unavailable {
  dependency: UnavailableDependency;
  /** Seconds the client should wait before retrying (the Retry-After header). */
  retryAfterSeconds: number;
}

/** gRPC status codes that mean the Temporal server was unreachable or did not answer in time. */
const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_CANCELLED = 1;

/** postgres.js's own codes for a connection that could not be made or was lost, and the socket's. */
const POSTGRES_CONNECTION_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ETIMEDOUT',
  'EPIPE',
]);

/**
 * SQLSTATEs of a server that is going away or overloaded, and of a statement cancelled by
 * statement_timeout: connection exceptions (08…), admin/crash shutdown and "starting up" (57P0…),
 * query cancelled (57014), too many connections (53300).
 */
const isUnavailableSqlState = (code: string) => code.startsWith('08') || code.startsWith('57P0') || code === '57014' || code === '53300';

function classifyOne(err: unknown): Unavailable | undefined {
  if (err instanceof QueueFullError) return { dependency: 'postgres', retryAfterSeconds: 2 };
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return { dependency: 'temporal', retryAfterSeconds: 5 };
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (isGrpcServiceError(err) && [GRPC_UNAVAILABLE, GRPC_DEADLINE_EXCEEDED, GRPC_CANCELLED].includes(err.code)) {
    return { dependency: 'temporal', retryAfterSeconds: 5 };
  }
  if (typeof code === 'string' && (POSTGRES_CONNECTION_CODES.has(code) || (/^[0-9A-Z]{5}$/.test(code) && isUnavailableSqlState(code)))) {
    return { dependency: 'postgres', retryAfterSeconds: 5 };
  }
  return undefined;
}

/** The unavailable dependency behind an error, looking through its causes (drizzle and the Temporal SDK wrap them). */
export function unavailableDependency(err: unknown): Unavailable | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 8 && current; depth += 1) {
    const found = classifyOne(current);
    if (found) return found;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
