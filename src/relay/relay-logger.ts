// The relay logs through whatever the application uses (a pino logger fits this shape); silent when none is given.
import type { Logger } from '@nostr-relay/common';

export interface RelayLogger {
  debug(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

const ignore = (): void => {};

export const silentLogger: RelayLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };

/** @nostr-relay/core's logger interface (message first, then details), forwarded to ours. */
export function toCoreLogger(logger: RelayLogger): Logger {
  return {
    setLogLevel: ignore,
    debug: (message: string, ...details: unknown[]) => logger.debug({ details }, message),
    info: (message: string, ...details: unknown[]) => logger.info({ details }, message),
    warn: (message: string, ...details: unknown[]) => logger.warn({ details }, message),
    error: (message: string, ...details: unknown[]) => logger.error({ details }, message),
  };
}
