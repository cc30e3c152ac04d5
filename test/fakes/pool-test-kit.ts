// Small tools the relay-pool suites share: a logger that keeps what the pool logs, and polling until a condition
// holds (the pool works on timers and sockets, so tests wait for its state rather than for a fixed time).
import type { PoolLogger } from '../../src/nostr/pool-types.ts';

export interface CapturedLine {
  level: string;
  details: object;
  message: string;
}

export function captureLogger(): { logger: PoolLogger; lines: CapturedLine[] } {
  const lines: CapturedLine[] = [];
  const at =
    (level: string) =>
    (details: object, message: string): void => {
      lines.push({ level, details, message });
    };
  const logger: PoolLogger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, lines };
}

export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
