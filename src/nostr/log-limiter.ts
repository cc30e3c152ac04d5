// A rate limit for log lines that a remote party can cause (a relay's NOTICE and CLOSED messages, refused events):
// per key, at most `perWindow` lines in each window of `windowMs`; past that, lines are only counted, and when the
// window ends one summary line says how many were suppressed ("suppressed N similar in the last M s"). The
// summary comes from an unref'd timer, so a flood that stops is still reported, and nothing keeps the process up.
// Keys are bounded too (`maxKeys`, the oldest forgotten first), so a flood of distinct keys cannot grow the map.
import type { PoolLogger } from './pool-types.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogLimiterOptions {
  /** Lines per key per window. Default 5. */
  perWindow?: number;
  /** Default 60 000. */
  windowMs?: number;
  /** Keys tracked at once. Default 1000. */
  maxKeys?: number;
  /** Milliseconds. Default Date.now. */
  now?: () => number;
}

interface KeyState {
  windowStart: number;
  emitted: number;
  suppressed: number;
  level: LogLevel;
  fields: object;
  message: string;
  timer: NodeJS.Timeout | undefined;
}

export class LogLimiter {
  private readonly keys = new Map<string, KeyState>();
  private readonly perWindow: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  /** Lines suppressed over the limiter's life. */
  suppressedTotal = 0;

  constructor(
    private readonly logger: PoolLogger,
    options: LogLimiterOptions = {},
  ) {
    this.perWindow = Math.max(1, options.perWindow ?? 5);
    this.windowMs = Math.max(1, options.windowMs ?? 60_000);
    this.maxKeys = Math.max(1, options.maxKeys ?? 1000);
    this.now = options.now ?? Date.now;
  }

  /** Logs the line unless `key` has had its lines for this window; returns whether it was logged. */
  log(key: string, level: LogLevel, fields: object, message: string): boolean {
    const now = this.now();
    let state = this.keys.get(key);
    if (state && now - state.windowStart >= this.windowMs) {
      this.summarise(key, state);
      state = undefined;
    }
    if (!state) {
      if (this.keys.size >= this.maxKeys) this.forgetOldest();
      state = { windowStart: now, emitted: 0, suppressed: 0, level, fields, message, timer: undefined };
      this.keys.set(key, state);
    }
    if (state.emitted < this.perWindow) {
      state.emitted += 1;
      this.emit(level, fields, message);
      return true;
    }
    state.suppressed += 1;
    this.suppressedTotal += 1;
    state.level = level;
    state.fields = fields;
    state.message = message;
    if (!state.timer) {
      const current = state;
      current.timer = setTimeout(
        () => {
          current.timer = undefined;
          if (this.keys.get(key) === current) {
            this.keys.delete(key);
            this.summarise(key, current);
          }
        },
        Math.max(0, current.windowStart + this.windowMs - now),
      );
      current.timer.unref?.();
    }
    return false;
  }

  /** Emits the pending summaries at once and forgets every key (for a stop()). */
  flush(): void {
    for (const [key, state] of [...this.keys]) {
      this.keys.delete(key);
      this.summarise(key, state);
    }
  }

  private forgetOldest(): void {
    const oldest = this.keys.keys().next();
    if (oldest.done) return;
    const state = this.keys.get(oldest.value);
    this.keys.delete(oldest.value);
    if (state) this.summarise(oldest.value, state);
  }

  private summarise(key: string, state: KeyState): void {
    clearTimeout(state.timer);
    state.timer = undefined;
    if (state.suppressed === 0) return;
    const seconds = Math.max(1, Math.round((this.now() - state.windowStart) / 1000));
    this.emit(
      state.level,
      { ...state.fields, key, suppressed: state.suppressed },
      `${state.message} (suppressed ${state.suppressed} similar in the last ${seconds} s)`,
    );
    state.suppressed = 0;
  }

  private emit(level: LogLevel, fields: object, message: string): void {
    try {
      this.logger[level](fields, message);
    } catch {
      // A failing logger must not take the caller down.
    }
  }
}
