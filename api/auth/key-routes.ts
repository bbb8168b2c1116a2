// API keys over the admin API (scope ops:admin): list, create, revoke. The first key comes from the
// environment (SKERRY_BOOTSTRAP_API_KEY) or from `npx skerry keys create` against the database.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { API_SCOPES } from '../../db/schema';
import { ApiKeyError, type ApiKeyRecord, type ApiKeyStore } from '../../store/api-keys';
import { ErrorBody } from '../schemas';
import { principalOf } from './access';

export function apiKeyView(record: ApiKeyRecord) {
  return {
    id: record.id,
    name: record.name,
    prefix: record.prefix,
    scopes: record.scopes,
    createdAt: record.createdAt.toISOString(),
    lastUsedAt: record.lastUsedAt?.toISOString() ?? null,
    revoked: record.revoked,
    revokedAt: record.revokedAt?.toISOString() ?? null,
  };
}

const KeyView = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  scopes: z.array(z.enum(API_SCOPES)),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revoked: z.boolean(),
  revokedAt: z.string().nullable(),
});

export async function apiKeyRoutes(app: FastifyInstance, deps: { keys: ApiKeyStore }): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get('/api-keys', { schema: { summary: 'API keys (never their values)', tags: ['access'], response: { 200: z.object({ keys: z.array(KeyView) }) } } }, async () => ({
    keys: (await deps.keys.list()).map(apiKeyView),
  }));

  // Any key may ask what it is allowed: the console hides the actions a key cannot take.
  api.get(
    '/api-keys/self',
    { schema: { summary: 'The API key of this request: its name and scopes (never its value)', tags: ['access'], response: { 200: KeyView } } },
    async (request) => apiKeyView(principalOf(request)!),
  );

  api.post(
    '/api-keys',
    {
      schema: {
        summary: 'Create an API key; its value is shown in this answer only',
        tags: ['access'],
        body: z.strictObject({ name: z.string().min(1).max(100), scopes: z.array(z.enum(API_SCOPES)).min(1) }),
        response: { 201: KeyView.extend({ key: z.string() }), 400: ErrorBody },
      },
    },
    async (request, reply) => {
      try {
        const { key, record } = await deps.keys.create(request.body);
        return reply.code(201).send({ ...apiKeyView(record), key });
      } catch (err) {
        if (err instanceof ApiKeyError) return reply.code(400).send({ error: 'invalid_request', message: err.message });
        throw err;
      }
    },
  );

  api.post(
    '/api-keys/:id/revoke',
    {
      schema: {
        summary: 'Revoke an API key: refused from its next request on',
        tags: ['access'],
        params: z.object({ id: z.string().regex(/^key_[a-z0-9]{6,40}$/, 'must be a key id (key_…)') }),
        response: { 200: KeyView, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const record = await deps.keys.revoke(request.params.id);
      if (!record) return reply.code(404).send({ error: 'not_found', message: `no API key ${request.params.id}` });
      return apiKeyView(record);
    },
  );
}
