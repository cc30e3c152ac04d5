// Rate-limits log lines by key (e.g. one relay): up to `burst` lines per key in each `windowMs`, then silence,
// and when the key next logs after the window, one summary line first: "suppressed N similar in the last M s".
// A relay that floods the agent with garbage then costs a bounded number of log lines. In memory, bounded in keys.

export interface LogLimiter {
  /**
   * Calls `emit` unless `key` is over its budget in the current window (then it only counts). When a new window
   * starts for a key that had lines suppressed, `summary(count, seconds)` is called first.
   */
  log(key: string, emit: () => void, summary: (suppressed: number, seconds: number) => void): boolean;
  /** Emits the pending summaries of every key (e.g. at shutdown), then forgets them. */
  flush(summary: (key: string, suppressed: number, seconds: number) => void): void;
}

export function createLogLimiter(
  options: { burst?: number; windowMs?: number; maxKeys?: number; now?: () => number } = {},
): LogLimiter {
  const burst = options.burst ?? 10;
  const windowMs = options.windowMs ?? 60_000;
  const maxKeys = options.maxKeys ?? 1000;
  const now = options.now ?? Date.now;
  const windows = new Map<string, { start: number; lines: number; suppressed: number }>();
  const seconds = (since: number) => Math.max(1, Math.round((now() - since) / 1000));
  return {
    log(key, emit, summary) {
      const at = now();
      let window = windows.get(key);
      if (!window || at - window.start >= windowMs) {
        if (window && window.suppressed > 0) summary(window.suppressed, seconds(window.start));
        window = { start: at, lines: 0, suppressed: 0 };
      }
      windows.delete(key);
      windows.set(key, window);
      // Forget the least recently seen keys first (their pending counts are lost, not their lines).
      if (windows.size > maxKeys) windows.delete(windows.keys().next().value as string);
      if (window.lines < burst) {
        window.lines += 1;
        emit();
        return true;
      }
      window.suppressed += 1;
      return false;
    },
    flush(summary) {
      for (const [key, window] of windows) {
        if (window.suppressed > 0) summary(key, window.suppressed, seconds(window.start));
      }
      windows.clear();
    },
  };
}
