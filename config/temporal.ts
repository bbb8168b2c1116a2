// Where Temporal is and how Skerry authenticates to it.
import type { TLSConfig } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { Env } from './env-schema';
import { ConfigError } from './errors';

export interface TemporalConnectionOptions {
  apiKey?: string;
  tls?: boolean | TLSConfig;
  metadata?: Record<string, string>;
}

const TEMPORAL_TLS_VARIABLES = /^TEMPORAL_(TLS|TLS_.+|GRPC_META_.+|API_KEY|CONFIG_FILE|PROFILE)$/;

/**
 * Where Temporal is and how to authenticate. Plain TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE are enough
 * for the dev server or an unsecured cluster. As soon as an API key, TLS settings, gRPC metadata or
 * a temporal.toml profile (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE) is given, the connection is built
 * by @temporalio/envconfig, the same rules the Temporal CLI follows: a profile from the file, then
 * TEMPORAL_* variables over it; an API key turns TLS on.
 */
export function temporalConnection(e: Env, env: NodeJS.ProcessEnv): {
  address?: string;
  namespace: string;
  connection: TemporalConnectionOptions;
} {
  const given = Object.entries(env).filter(([name, value]) => TEMPORAL_TLS_VARIABLES.test(name) && value !== undefined && value.trim() !== '');
  if (given.length === 0) return { address: e.TEMPORAL_ADDRESS, namespace: e.TEMPORAL_NAMESPACE ?? 'default', connection: {} };
  const useFile = Boolean(e.TEMPORAL_CONFIG_FILE || e.TEMPORAL_PROFILE);
  // Only non-empty TEMPORAL_* variables (an empty line copied from .env.example means unset).
  const overrideEnvVars: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '' && (name.startsWith('TEMPORAL_') || name === 'HOME' || name === 'XDG_CONFIG_HOME')) {
      overrideEnvVars[name] = value.trim();
    }
  }
  let loaded;
  try {
    loaded = loadClientConnectConfig({ profile: e.TEMPORAL_PROFILE, disableFile: !useFile, overrideEnvVars });
  } catch (err) {
    throw new ConfigError(
      `Invalid configuration:\n  ${useFile ? 'TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE' : 'TEMPORAL_TLS_*'}: ${(err as Error).message}`,
    );
  }
  const { address, apiKey, tls, metadata } = loaded.connectionOptions;
  const connection: TemporalConnectionOptions = {};
  if (typeof apiKey === 'string') connection.apiKey = apiKey;
  if (typeof tls === 'boolean') connection.tls = tls;
  else if (tls) {
    // envconfig reads files into Uint8Arrays; the connection options are typed (and bridged) as Buffers.
    const buffer = (data: Uint8Array | undefined) => (data ? Buffer.from(data) : undefined);
    connection.tls = {
      serverNameOverride: tls.serverNameOverride,
      serverRootCACertificate: buffer(tls.serverRootCACertificate),
      clientCertPair: tls.clientCertPair ? { crt: Buffer.from(tls.clientCertPair.crt), key: Buffer.from(tls.clientCertPair.key) } : undefined,
    };
  }
  if (metadata && Object.keys(metadata).length > 0) connection.metadata = metadata as Record<string, string>;
  return { address: address || undefined, namespace: loaded.namespace || 'default', connection };
}
