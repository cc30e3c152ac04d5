// How the runbook operations write what they found: amounts, ages, times, the node's view of a hold, and the
// arguments they take (checked here, so a bad one is refused with what to change before anything runs).
import type { HoldInvoice } from '../ldk/port.ts';
import { OpsInputError } from './ops-deps.ts';

export function sats(msat: bigint): string {
  const whole = msat / 1000n;
  const rest = msat % 1000n;
  return rest === 0n ? `${whole} sat` : `${msat} msat`;
}

export function age(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const days = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return minutes > 0 ? `${hours} h ${minutes} min` : `${hours} h`;
  if (minutes > 0) return `${minutes} min`;
  return `${s} s`;
}

export function isoTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** The node's view of a hold in a few words: its state, what it holds and until which block. */
export function nodeView(hold: HoldInvoice | null, height: number): string {
  if (hold === null) return 'node: no such invoice';
  const reason = hold.state === 'CANCELED' && hold.cancelReason ? ` (${hold.cancelReason})` : '';
  const parts = [`node: ${hold.state}${reason}`];
  if (hold.receivedMsat > 0n) parts.push(sats(hold.receivedMsat));
  if (hold.state === 'ACCEPTED' && hold.claimDeadlineHeight !== null) {
    const left = hold.claimDeadlineHeight - height;
    parts.push(
      `HTLC expiry ${hold.htlcExpiryHeight}, claim deadline ${hold.claimDeadlineHeight} (${left >= 0 ? `${left} blocks from now, at ${height}` : `passed, now at ${height}`})`,
    );
  }
  return parts.join(', ');
}

/** The node's view as JSON. */
export function nodeJson(hold: HoldInvoice | null): unknown {
  if (hold === null) return null;
  return {
    state: hold.state,
    receivedMsat: hold.receivedMsat.toString(),
    htlcExpiryHeight: hold.htlcExpiryHeight,
    claimDeadlineHeight: hold.claimDeadlineHeight,
    cancelReason: hold.cancelReason,
  };
}

// ---- arguments (from the command line's flags, or a control socket request's args) ----

const KNOWN = new Set(['execute', 'olderThan', 'relay', 'since', 'reason']);

/** Refuses an argument the operation does not take. */
export function onlyArgs(command: string, args: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(args)) {
    if (!allowed.includes(key)) {
      const flag = KNOWN.has(key) ? `--${kebab(key)}` : `"${key}"`;
      throw new OpsInputError(
        `${command} takes no ${flag}${allowed.length > 0 ? `; it takes ${allowed.map((one) => `--${kebab(one)}`).join(', ')}` : ''}`,
      );
    }
  }
}

export function flagArg(command: string, args: Record<string, unknown>, name: string): boolean {
  const value = args[name];
  if (value === undefined || value === false) return false;
  if (value === true) return true;
  throw new OpsInputError(`${command}: --${kebab(name)} takes no value`);
}

/** A whole number of seconds (plain digits). */
export function secondsArg(
  command: string,
  args: Record<string, unknown>,
  name: string,
  fallback: number,
): number {
  const value = args[name];
  if (value === undefined) return fallback;
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\d{1,9}$/.test(text)) {
    throw new OpsInputError(
      `${command}: --${kebab(name)} must be a whole number of seconds (0 to 999999999), e.g. --${kebab(name)} 3600; got ${JSON.stringify(value)}`,
    );
  }
  return Number(text);
}

/**
 * A point in time: a duration back from now (`90s`, `30m`, `1h`, `2d`) or a unix time (10 digits, e.g.
 * 1767225600). Returns unix seconds.
 */
export function sinceArg(
  command: string,
  args: Record<string, unknown>,
  now: number,
  fallback: number | null,
): number | null {
  const value = args.since;
  if (value === undefined) return fallback;
  const text = typeof value === 'number' ? String(value) : value;
  const bad = () =>
    new OpsInputError(
      `${command}: --since must be a duration back from now (90s, 30m, 1h, 2d) or a unix time in seconds (e.g. 1767225600); got ${JSON.stringify(value)}`,
    );
  if (typeof text !== 'string') throw bad();
  const duration = /^(\d{1,6})([smhd])$/.exec(text);
  if (duration) {
    const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[duration[2] as 's' | 'm' | 'h' | 'd'];
    return now - Number(duration[1]) * unit;
  }
  if (/^\d{10}$/.test(text)) return Number(text);
  throw bad();
}

export function stringArg(command: string, args: Record<string, unknown>, name: string): string | null {
  const value = args[name];
  if (value === undefined) return null;
  if (typeof value !== 'string' || value.length === 0 || value.length > 2000) {
    throw new OpsInputError(`${command}: --${kebab(name)} must be a non-empty text`);
  }
  return value;
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}
