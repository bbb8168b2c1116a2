// Every admin route says what it answers (#19): the console's client is generated from the OpenAPI
// document (stack/console-build.ts), so a route without a response schema would leave its pages typed
// by hand, free to drift from the server. Walks the admin app's own routes and its OpenAPI document.
import Fastify from 'fastify';
import swagger from '@fastify/swagger';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminApp } from '../../api/app';
import { adminAppWithoutDeps } from '../../stack/console-build';
import { readinessRoutes } from '../../api/routes/health';

interface Operation {
  parameters?: unknown[];
  requestBody?: unknown;
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Record<string, unknown> }> }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
}

/** Served as something other than JSON, on purpose: Prometheus's text exposition. */
const NOT_JSON = new Set(['GET /metrics']);

const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** What is wrong with each operation's answers, as sentences; empty when every answer is described. */
export function undescribedAnswers(document: Document): string[] {
  const problems: string[] = [];
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const name = `${method.toUpperCase()} ${path}`;
      // A route that declares no response still gets a bare "200: Default Response" from @fastify/swagger.
      const responses = Object.entries(operation.responses ?? {});
      if (!responses.some(([status]) => /^[23]\d\d$/.test(status))) problems.push(`${name}: declares no success`);
      for (const [status, response] of responses) {
        if (/^3\d\d$/.test(status) || status === '204') continue;
        const schema = response.content?.['application/json']?.schema;
        // z.unknown() becomes {}: an answer typed as anything is not described.
        if (!schema || Object.keys(schema).length === 0) problems.push(`${name}: ${status} has no schema`);
      }
      if ((operation.parameters?.length || operation.requestBody) && !operation.responses?.['400']) problems.push(`${name}: validates its input but does not declare 400`);
    }
  }
  return problems;
}

describe('every admin route describes its answers', () => {
  let app: AdminApp;
  let document: Document;
  beforeAll(async () => {
    app = await adminAppWithoutDeps();
    document = app.swagger() as unknown as Document;
  });
  afterAll(async () => app?.close());

  it('has a response schema for its success and for every status it declares', () => {
    expect(undescribedAnswers(document)).toEqual([]);
  });

  it('is in the OpenAPI document, unless it is not an API route (docs, console, liveness) or not JSON', () => {
    const documented = new Set(Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`)));
    const keyed = app
      .adminRoutes()
      .filter((route) => route.access.scope !== 'none' && route.method !== 'HEAD' && !NOT_JSON.has(`${route.method} ${route.url}`))
      .map((route) => `${route.method} ${openApiPath(route.url)}`);
    expect(keyed.length).toBeGreaterThan(40);
    expect(keyed.filter((route) => !documented.has(route))).toEqual([]);
  });

  it('documents the answers the access layer gives every keyed route: 401, 403 and 503, and 422 where an Idempotency-Key is honoured', () => {
    const capture = document.paths['/payments/{id}/capture']?.post;
    expect(Object.keys(capture?.responses ?? {})).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404', '409', '415', '422', '502', '503']));
    const accounts = document.paths['/channels/airbnb/accounts']?.get;
    expect(Object.keys(accounts?.responses ?? {}).sort()).toEqual(['200', '401', '403', '503']);
  });
});

describe('the hidden probe route', () => {
  it('answers its readiness report through its schema, up and down', async () => {
    const app = Fastify();
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    let postgresUp = true;
    await app.register(readinessRoutes, { checks: { postgres: async () => (postgresUp ? 'ok' : Promise.reject(new Error('connection refused'))), temporal: async () => 'ok' } });
    try {
      const up = await app.inject({ method: 'GET', url: '/ready' });
      expect([up.statusCode, up.json()]).toEqual([200, { ready: true, checks: { postgres: 'up', temporal: 'up' }, down: [] }]);
      postgresUp = false;
      const down = await app.inject({ method: 'GET', url: '/ready' });
      expect([down.statusCode, down.json()]).toEqual([503, { ready: false, checks: { postgres: { down: 'connection refused' }, temporal: 'up' }, down: ['postgres'] }]);
    } finally {
      await app.close();
    }
  });
});

describe('the check itself', () => {
  it('names a route without a response schema, one answering z.unknown(), and one that validates input without a 400', async () => {
    const app = Fastify().withTypeProvider<ZodTypeProvider>();
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    await app.register(swagger, { openapi: { info: { title: 't', version: '0' } }, transform: jsonSchemaTransform });
    app.get('/bare', async () => ({ ok: true }));
    app.get('/anything', { schema: { response: { 200: z.unknown() } } }, async () => ({ ok: true }));
    app.get('/things/:id', { schema: { params: z.object({ id: z.string() }), response: { 200: z.object({ id: z.string() }) } } }, async (request) => ({ id: request.params.id }));
    app.get('/fine', { schema: { response: { 200: z.object({ ok: z.boolean() }) } } }, async () => ({ ok: true }));
    await app.ready();
    try {
      expect(undescribedAnswers(app.swagger() as unknown as Document)).toEqual([
        'GET /bare: 200 has no schema',
        'GET /anything: 200 has no schema',
        'GET /things/{id}: validates its input but does not declare 400',
      ]);
    } finally {
      await app.close();
    }
  });
});
