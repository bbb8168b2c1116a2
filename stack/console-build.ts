// Builds the operator's console (console/): its typed API client from the admin app's own OpenAPI
// document, a type check, then Vite. `npm start` calls it when the built assets are missing or older
// than their sources; `npm run console:build` forces it. The result lives in dist/console (not in git).
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'openapi-typescript';
import { buildAdminApp, type AdminApp } from '../api/app';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CONSOLE_SOURCE = join(ROOT, 'console');
export const CONSOLE_DIST = join(ROOT, 'dist', 'console');
const GENERATED = join(CONSOLE_SOURCE, 'src', 'generated', 'api.d.ts');
const STAMP = join(CONSOLE_DIST, '.source-hash');

/**
 * The admin app built without listening, as the OpenAPI document describes it. Its dependencies are
 * only needed by handlers, which never run here: every route registers, so every route is described.
 */
export async function adminAppWithoutDeps(): Promise<AdminApp> {
  // Fastify reads a plugin's options (prefix, logLevel) at registration: plain empty objects.
  const unused = {} as never;
  return buildAdminApp({
    payments: unused,
    inbox: unused,
    delivery: unused,
    access: { keys: unused, idempotency: unused, allowedHosts: ['127.0.0.1'] },
    bookings: { bookings: unused, pollAccounts: {} },
    airbnb: { oauth: unused, accounts: unused, connects: unused, callbackUrl: 'http://127.0.0.1/airbnb' },
    providers: unused,
    reconciliation: unused,
    paymentList: { list: unused },
    propertyCalendar: { bookings: unused, db: unused },
    ical: unused,
    codec: unused,
  });
}

/** The admin door's OpenAPI document, which the console's client is generated from. */
export async function adminOpenApiDocument(): Promise<unknown> {
  const app = await adminAppWithoutDeps();
  try {
    return app.swagger();
  } finally {
    await app.close();
  }
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = await Promise.all(
    entries.map(async (entry) => {
      const path = join(dir, entry.name);
      if (entry.name === 'generated' || entry.name === 'node_modules') return [];
      return entry.isDirectory() ? sourceFiles(path) : [path];
    }),
  );
  return files.flat().sort();
}

/** What the built assets depend on: the console's sources and the API document its client is typed from. */
async function sourceHash(document: string): Promise<string> {
  const hash = createHash('sha256').update(document);
  for (const file of await sourceFiles(CONSOLE_SOURCE)) hash.update(relative(CONSOLE_SOURCE, file)).update(await readFile(file));
  return hash.digest('hex');
}

export async function generateConsoleClient(): Promise<string> {
  const document = JSON.stringify(await adminOpenApiDocument());
  const types = astToString(await openapiTS(document));
  await mkdir(join(CONSOLE_SOURCE, 'src', 'generated'), { recursive: true });
  const header = '// Generated from the admin door\'s OpenAPI document by stack/console-build.ts. Do not edit.\n';
  const previous = await readFile(GENERATED, 'utf8').catch(() => '');
  if (previous !== header + types) await writeFile(GENERATED, header + types);
  return document;
}

/** Builds when the assets are missing or their sources changed; answers whether it built. */
export async function ensureConsoleBuilt(options: { force?: boolean; log?: (line: string) => void } = {}): Promise<boolean> {
  const document = await generateConsoleClient();
  const hash = await sourceHash(document);
  const built = await readFile(STAMP, 'utf8').catch(() => '');
  const indexExists = await stat(join(CONSOLE_DIST, 'index.html')).then(() => true, () => false);
  if (!options.force && indexExists && built === hash) return false;
  options.log?.('building the console (console/ → dist/console)…');
  // A type error in the console (an API change its pages do not follow) fails the build.
  await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(CONSOLE_SOURCE, 'tsconfig.json')], { cwd: ROOT }).catch(
    (err: { stdout?: string; message: string }) => {
      throw new Error(`the console does not type-check:\n${err.stdout ?? err.message}`);
    },
  );
  const { build } = await import('vite');
  await build({ configFile: join(CONSOLE_SOURCE, 'vite.config.mjs'), logLevel: 'warn' });
  await writeFile(STAMP, hash);
  return true;
}
