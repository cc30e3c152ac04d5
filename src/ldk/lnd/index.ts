// The LND adapter of the Lightning port (hodl invoices over LND's gRPC API via the `lightning` package).

export { LndConnectionError, type LndStartupProblem } from './connect-lnd.ts';
export { LndBackend } from './lnd-backend.ts';
export {
  DEFAULT_HOLD_EXPIRY_DELTA,
  DEFAULT_MAX_FINAL_CLTV_DELTA,
  DEFAULT_MAX_PAYMENT_TIMELOCK_BLOCKS,
  LND_MIN_FINAL_CLTV_DELTA,
  type LndConfig,
  LndConfigError,
  type LndCredentialSources,
  type LndSettings,
  lndConfigFromEnv,
  lndConfigFromUrl,
  lndSettings,
  resolveLndCredentials,
} from './lnd-config.ts';
