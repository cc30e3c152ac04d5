// The NWC adapter of the Lightning port (NIP-47 with the hold-invoice methods).

export { REQUIRED_METHODS, REQUIRED_NOTIFICATIONS } from './nip47.ts';
export { NwcBackend, type NwcBackendOptions } from './nwc-backend.ts';
export type { WalletDescription } from './nwc-context.ts';
export { type NwcLogger, silentLogger } from './nwc-log.ts';
export { formatNwcUri, type NwcConnection, NwcUriError, parseNwcUri, redactNwcUri } from './nwc-uri.ts';
export { NwcStartupError } from './wallet-capabilities.ts';
