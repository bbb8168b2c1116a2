// Secrets that can change without a restart. Workflows never hold a key: provider clients read the
// current configuration from a ConfigSource each time they are used (providers/registry.ts), and
// webhook verifiers ask it for the accepted secrets at every request. `reload()` re-reads the
// `.env.<APP_ENV>` file (on SIGHUP, see installSighupReload): a rotated outbound key is used from
// the next provider call on, by running workflows too.
//
// Reload keeps the start's precedence: variables set in the process environment win over the file,
// so rotate through the file (or restart with new variables).
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError, loadConfig, type Config } from './index';

export interface ConfigSource {
  current(): Config;
}

export interface ReloadableConfig extends ConfigSource {
  /** Re-reads the env files; on an invalid result the current configuration stays. */
  reload(): { ok: true; changed: string[] } | { ok: false; error: string };
  /** Called after every successful reload that changed something. */
  onReload(listener: (config: Config, changed: string[]) => void): () => void;
}

export const staticConfig = (config: Config): ConfigSource => ({ current: () => config });

/** The variables in `.env.<APP_ENV>` and `.env`, the first file winning (as loadEnvFiles). */
export function readEnvFiles(appEnv: string, cwd: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const file of [`.env.${appEnv}`, '.env']) {
    const path = resolve(cwd, file);
    if (!existsSync(path)) continue;
    const parsed = parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
    for (const [name, value] of Object.entries(parsed)) if (!(name in values)) values[name] = value;
  }
  return values;
}

/** Names of variables whose values differ (values are never reported: they may be secrets). */
function changedVariables(before: Record<string, string | undefined>, after: Record<string, string | undefined>): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((name) => before[name] !== after[name]).sort();
}

export function createReloadableConfig(options: {
  /** The process environment as the process manager set it, before any env file was loaded. */
  processEnv: Record<string, string | undefined>;
  cwd?: string;
  /** Reads the env files (tests pass their own). */
  readFiles?: (appEnv: string) => Record<string, string>;
}): ReloadableConfig {
  const cwd = options.cwd ?? process.cwd();
  const readFiles = options.readFiles ?? ((appEnv: string) => readEnvFiles(appEnv, cwd));
  const compose = () => {
    const appEnv = options.processEnv.APP_ENV ?? 'development';
    return { ...readFiles(appEnv), ...options.processEnv } as Record<string, string | undefined>;
  };
  let env = compose();
  let config = loadConfig(env);
  const listeners = new Set<(config: Config, changed: string[]) => void>();
  return {
    current: () => config,
    reload() {
      let nextEnv: Record<string, string | undefined>;
      let next: Config;
      try {
        nextEnv = compose();
        next = loadConfig(nextEnv);
      } catch (err) {
        return { ok: false, error: err instanceof ConfigError ? err.message : (err as Error).message };
      }
      const changed = changedVariables(env, nextEnv);
      env = nextEnv;
      config = next;
      if (changed.length > 0) for (const listener of listeners) listener(config, changed);
      return { ok: true, changed };
    },
    onReload(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** Reloads on SIGHUP, logging which variables changed (names only). Returns the uninstaller. */
/** The two lines a reload writes; config/ sits below observability/, so it takes any pino-like logger. */
interface ReloadLogger {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export function installSighupReload(source: ReloadableConfig, logger: ReloadLogger): () => void {
  const handler = () => {
    const result = source.reload();
    if (result.ok) logger.info({ changed: result.changed }, result.changed.length ? 'configuration reloaded' : 'configuration reloaded; nothing changed');
    else logger.error({ err: result.error }, 'configuration reload refused; the previous configuration stays');
  };
  process.on('SIGHUP', handler);
  return () => process.off('SIGHUP', handler);
}
