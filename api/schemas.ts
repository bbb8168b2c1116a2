// Response shapes every route group shares.
import { z } from 'zod';

export const ErrorBody = z.object({ error: z.string(), message: z.string(), fields: z.array(z.object({ path: z.string(), message: z.string() })).optional() });

/** 503: a dependency (the database, Temporal) did not answer; Retry-After says when to try again. */
export const Unavailable = ErrorBody.extend({ dependency: z.string().optional().describe('postgres, temporal…') });

/**
 * A redirect answers no body. fastify-type-provider-zod documents z.undefined() as `type: null`, which
 * @fastify/swagger turns into a response with a description and no content.
 */
export const Redirect = z.undefined();
