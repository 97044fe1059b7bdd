/**
 * Connection options for a Temporal frontend from Label Loop's settings (TEMPORAL_ADDRESS,
 * TEMPORAL_TLS*, TEMPORAL_API_KEY; see worker/config.ts and README "Temporal Cloud / secured
 * clusters"). The result fits both `Connection.connect()` (@temporalio/client) and
 * `NativeConnection.connect()` (@temporalio/worker): both take `address`, `tls` and `apiKey`.
 *
 *   - No TLS setting and no API key: plaintext (a local or in-cluster server).
 *   - TEMPORAL_TLS_CERT + TEMPORAL_TLS_KEY: mTLS with that client certificate (Temporal Cloud's
 *     certificate auth, or a self-hosted cluster with `requireClientAuth`).
 *   - TEMPORAL_TLS_CA: trust this CA for the server's certificate (a private CA); otherwise the
 *     OS's roots are used, which is right for Temporal Cloud.
 *   - TEMPORAL_TLS_SERVER_NAME: verify the server's certificate against this name (SNI).
 *   - TEMPORAL_API_KEY: `Authorization: Bearer <key>` on every call; implies TLS unless
 *     TEMPORAL_TLS=false (the SDK does the same).
 *   - TEMPORAL_TLS=true: TLS with none of the above (server certificate from a public CA).
 */
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { ConfigError, type Config } from './config.js';

export interface TemporalConnectionOptions {
  address: string;
  /** Absent for plaintext. */
  tls?: TLSConfig | false;
  apiKey?: string;
}

/**
 * Pure apart from reading the certificate files, through `readFile` (injectable for tests).
 * Throws ConfigError naming the variable when a file cannot be read.
 */
export function temporalConnectionOptions(
  temporal: Pick<Config['temporal'], 'address' | 'tls' | 'apiKey'>,
  readFile: (path: string) => Buffer = (path) => readFileSync(path),
): TemporalConnectionOptions {
  if (!temporal.address) throw new ConfigError('TEMPORAL_ADDRESS is required to connect to a Temporal server');
  const { tls, apiKey } = temporal;
  const read = (variable: string, path: string): Buffer => {
    try {
      return readFile(path);
    } catch (err) {
      throw new ConfigError(`${variable}=${path}: cannot read the file (${(err as Error).message})`);
    }
  };

  const options: TemporalConnectionOptions = { address: temporal.address };
  if (apiKey) options.apiKey = apiKey;
  if (!!tls.certPath !== !!tls.keyPath) throw new ConfigError('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together');
  const wantsTls = tls.enabled ?? !!(tls.certPath || tls.caPath || tls.serverName || apiKey);
  if (!wantsTls) {
    // TEMPORAL_TLS=false with an API key (e.g. a plaintext proxy in a private network): the SDK
    // would otherwise switch TLS on because of the key.
    if (tls.enabled === false) options.tls = false;
    return options;
  }

  const config: TLSConfig = {};
  if (tls.certPath && tls.keyPath) {
    config.clientCertPair = { crt: read('TEMPORAL_TLS_CERT', tls.certPath), key: read('TEMPORAL_TLS_KEY', tls.keyPath) };
  }
  if (tls.caPath) config.serverRootCACertificate = read('TEMPORAL_TLS_CA', tls.caPath);
  if (tls.serverName) config.serverNameOverride = tls.serverName;
  options.tls = config;
  return options;
}

/** For log lines: the address and how it is secured, never key material. */
export function describeTemporalConnection(options: TemporalConnectionOptions): string {
  const how = [
    options.tls ? (options.tls.clientCertPair ? 'mTLS' : 'TLS') : 'plaintext',
    ...(options.tls && options.tls.serverRootCACertificate ? ['custom CA'] : []),
    ...(options.tls && options.tls.serverNameOverride ? [`server name ${options.tls.serverNameOverride}`] : []),
    ...(options.apiKey ? ['API key'] : []),
  ];
  return `${options.address} (${how.join(', ')})`;
}
