// The adapter's and the wallet service's logging: pino's (fields, message) shape, silent by default. Nothing
// logged here carries a secret key, a preimage or the connection URI.
export interface NwcLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

const ignore = () => {};

export const silentLogger: NwcLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
