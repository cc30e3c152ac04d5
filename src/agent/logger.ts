// The one place a pino logger is made (start, runAgent's silent default, the CLI's helpers). Every logger gets
// loggerOptions' redaction (src/agent/redact.ts): secret fields censored, every string masked. The redaction runs
// on the log object inside pino, before any formatting, so the pretty output shows exactly what the JSON line
// holds: pino writes its JSON line, and only then is that line made pretty.
//
// Format: JSON lines by default (for a log collector); pretty and coloured (pino-pretty) when `format` is
// "pretty", or "auto" and the destination is a terminal (`escrow-agent start --pretty`, agent.log_format).
import pino, { type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';
import type { LogFormat } from './config.ts';
import { loggerOptions } from './redact.ts';

/** Where lines go: a stream or anything with write(line). Default: standard output. */
export interface LogDestination {
  write(line: string): unknown;
  isTTY?: boolean;
}

export interface LoggerSettings {
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  level: string;
  /** "auto" (default): pretty on a terminal, JSON otherwise. */
  format?: LogFormat;
  destination?: LogDestination;
  /** Colours in pretty output (default: when the destination is a terminal). */
  colorize?: boolean;
}

/** A logger with the agent's redaction, writing JSON lines or pretty text. */
export function createLogger(settings: LoggerSettings): Logger {
  const options = loggerOptions(settings.level);
  const format = settings.format ?? 'auto';
  const terminal = settings.destination ? settings.destination.isTTY === true : process.stdout.isTTY === true;
  const pretty = format === 'pretty' || (format === 'auto' && terminal);
  if (settings.level === 'silent' || !pretty) {
    return settings.destination
      ? pino(options, settings.destination as pino.DestinationStream)
      : pino(options);
  }
  const prettify = prettyFactory({
    colorize: settings.colorize ?? terminal,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: false,
  });
  const out = settings.destination ?? process.stdout;
  // pino hands over its finished (already redacted) JSON line; it is reformatted, never re-read from the object.
  return pino(options, { write: (line: string) => out.write(prettify(line)) });
}
