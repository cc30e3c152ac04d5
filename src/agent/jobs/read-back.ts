// The read-back: the agent's events are its public record (anyone verifies a task from relay history alone), so a
// relay that lost them (its database deleted, a retention policy, a relay that lies) must not shrink that record
// in silence. On start, every `intervalMs` and soon after a relay (re)connects, each write relay is asked for the
// ids of what it said OK to (one cheap `{"ids":[...]}` REQ per batch):
//   - the last `eventsPerCheck` outbox events it took, newest first;
//   - the agent's current profile, relay list and announcement;
//   - a page of the tasks' published heads (the chain heads), walking through every task over successive checks;
//   - for a task whose event is missing there, that task's other events (its chain), within the same budget.
// A relay holds an event only if it returns it unchanged (same id, signature and fields). What it lost is made
// pending again for that relay in the outbox (the outbox rows hold the signed events), and the outbox publisher
// sends it; one WARN line per check names the relay and the number of events restored.
//
// Bounded work: at most `eventsPerCheck` events restored per relay per check, `batch` ids per REQ. A relay that
// does not answer (not connected, CLOSED, no EOSE in time) is skipped, never taken to have lost everything. A relay
// that loses again what the previous check restored (a relay that answers "I have none" forever) is checked at a
// doubling interval (up to `maxBackoffMs`), so it cannot make the agent resend its history every few minutes.
//
// Superseded replaceable events (an older profile), expired events (NIP-40) and gift-wrapped private notices (a
// relay may hand those to their recipient only) are not expected back.
//
// The relays are reached structurally (the pool's fetch() and status()): jobs know no transport.

import type { AgentContext } from '../../engine/context.ts';
import type { OutboxEntry, SignedEvent } from '../../store/index.ts';

export interface ReadBackSource {
  fetch(
    relay: string,
    filters: Array<{ ids: string[]; limit: number }>,
    options: { limit: number; timeoutMs: number },
  ): Promise<
    | { ok: true; events: Array<{ id: string; value: Record<string, unknown> }>; cut: boolean }
    | { ok: false; reason: string }
  >;
  status(): Array<{ url: string; write: boolean; connected: boolean }>;
}

export interface ReadBackOptions {
  /** Between two checks of a relay. */
  intervalMs: number;
  /** After a relay (re)connects, its check runs this much later (not before its backoff ends). */
  afterConnectMs: number;
  /** K: recent events checked per relay per check, and the most restored per relay per check. */
  eventsPerCheck: number;
  /** Ids per REQ. */
  batch: number;
  /** How long one REQ waits for its EOSE before the relay is skipped this time. */
  fetchTimeoutMs: number;
  /** The longest interval for a relay that keeps losing what was restored. */
  maxBackoffMs: number;
  /** The ids of the agent's current profile, relay list and announcement. */
  ownEventIds(): readonly string[];
  /** Deliveries were made pending again (wakes the outbox publisher). */
  onRestored?(): void;
}

export const READ_BACK_DEFAULTS = {
  intervalMs: 10 * 60_000,
  afterConnectMs: 5_000,
  eventsPerCheck: 500,
  batch: 100,
  fetchTimeoutMs: 10_000,
  maxBackoffMs: 24 * 3_600_000,
} as const;

export interface ReadBackReport {
  relay: string;
  outcome: 'held' | 'restored' | 'skipped';
  /** Events asked for. */
  checked: number;
  /** Events found missing (or changed) at the relay. */
  missing: number;
  /** Deliveries made pending again. */
  restored: number;
  /** Why the relay was skipped. */
  reason?: string;
}

export interface ReadBack {
  /** Checks one relay now (its backoff aside) and resolves with what it found. */
  check(relay: string): Promise<ReadBackReport>;
  /** A relay's connection opened: check it soon. */
  connected(relay: string): void;
  stop(): Promise<void>;
}

interface RelayState {
  nextCheckAt: number;
  /** The check after a check that restored events the previous one had restored too (a relay that loses them). */
  relapses: number;
  /** What the last check restored. */
  lastRestored: Set<string>;
  /** Where the next page of published heads starts. */
  headCursor: string | null;
}

const REASON = 'missing at the relay (read-back)';

export function startReadBack(
  getContext: () => AgentContext,
  source: ReadBackSource,
  options: ReadBackOptions,
  clock: { nowMs(): number } = { nowMs: Date.now },
): ReadBack {
  const relays = new Map<string, RelayState>();
  for (const relay of source.status().filter((one) => one.write)) {
    relays.set(relay.url, {
      nextCheckAt: clock.nowMs() + options.afterConnectMs,
      relapses: 0,
      lastRestored: new Set(),
      headCursor: null,
    });
  }
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  const tick = setInterval(() => void due(), Math.max(50, Math.min(1000, options.afterConnectMs)));
  tick.unref();

  /** Runs the checks that are due, one relay at a time. */
  function due(): Promise<unknown> {
    running = running.then(async () => {
      const connected = new Set(
        source
          .status()
          .filter((one) => one.connected)
          .map((one) => one.url),
      );
      for (const [relay, state] of relays) {
        if (stopped) return;
        if (state.nextCheckAt > clock.nowMs() || !connected.has(relay)) continue;
        await check(relay).catch((error) =>
          getContext().log.warn({ err: error, relay }, 'read-back check failed'),
        );
      }
    });
    return running;
  }

  async function check(relay: string): Promise<ReadBackReport> {
    const ctx = getContext();
    const state = relays.get(relay);
    if (!state)
      return { relay, outcome: 'skipped', checked: 0, missing: 0, restored: 0, reason: 'not a write relay' };
    const report = await inspect(ctx, relay, state);
    ctx.metrics.readBackChecks.inc({ relay, outcome: report.outcome });
    let interval = options.intervalMs;
    if (report.outcome === 'skipped') {
      ctx.log.debug({ relay, reason: report.reason }, 'read-back skipped a relay that did not answer');
    } else if (report.outcome === 'restored') {
      ctx.metrics.readBackRestored.inc({ relay }, report.restored);
      interval = Math.min(options.maxBackoffMs, options.intervalMs * 2 ** state.relapses);
      ctx.log.warn(
        {
          relay,
          restored: report.restored,
          missing: report.missing,
          checked: report.checked,
          ...(state.relapses > 0
            ? { relapses: state.relapses, nextCheckSeconds: Math.round(interval / 1000) }
            : {}),
        },
        state.relapses > 0
          ? 'a relay lost agent events again after they were restored: sending them again, checking it less often'
          : 'a relay had lost agent events: sending them to it again',
      );
    } else {
      state.relapses = 0;
    }
    state.nextCheckAt = clock.nowMs() + interval;
    return report;
  }

  async function inspect(ctx: AgentContext, relay: string, state: RelayState): Promise<ReadBackReport> {
    const K = options.eventsPerCheck;
    const nowSeconds = ctx.now();
    const current = new Set(options.ownEventIds());
    const expected = new Map<string, OutboxEntry>();
    const add = (entry: OutboxEntry) => {
      if (expected.has(entry.eventId) || !expectedBack(entry.event, current, nowSeconds)) return;
      expected.set(entry.eventId, entry);
    };
    await ctx.store.read(async (reader) => {
      for (const entry of await reader.outbox.sentTo(relay, K)) add(entry);
      for (const eventId of current) {
        const delivered = (await reader.outbox.deliveries(eventId)).find((one) => one.relay === relay);
        const event = delivered?.status === 'ok' ? await reader.outbox.event(eventId) : null;
        if (event) add({ eventId, taskId: null, event });
      }
      const heads = await reader.outbox.headsSentTo(relay, state.headCursor, K);
      for (const head of heads) add(head);
      state.headCursor = heads.length < K ? null : (heads.at(-1)?.taskId ?? null);
    });

    const held = new Set<string>();
    const asked = new Set<string>();
    const ask = async (ids: string[]): Promise<string | null> => {
      for (let start = 0; start < ids.length; start += options.batch) {
        const chunk = ids.slice(start, start + options.batch);
        const answer = await source.fetch(relay, [{ ids: chunk, limit: chunk.length }], {
          limit: chunk.length,
          timeoutMs: options.fetchTimeoutMs,
        });
        if (!answer.ok) return answer.reason;
        for (const id of chunk) asked.add(id);
        for (const found of answer.events) {
          const ours = expected.get(found.id);
          if (ours && asked.has(found.id) && sameEvent(ours.event, found.value)) held.add(found.id);
        }
      }
      return null;
    };

    const skipped = (reason: string): ReadBackReport => ({
      relay,
      outcome: 'skipped',
      checked: asked.size,
      missing: 0,
      restored: 0,
      reason,
    });
    let failure = await ask([...expected.keys()]);
    if (failure) return skipped(failure);

    // A task with an event missing there may have lost its whole chain: look at the rest of it, within budget.
    const lostTasks = new Set(
      [...expected.values()]
        .filter((entry) => entry.taskId !== null && !held.has(entry.eventId))
        .map((entry) => entry.taskId as string),
    );
    if (lostTasks.size > 0) {
      const more: string[] = [];
      await ctx.store.read(async (reader) => {
        for (const taskId of lostTasks) {
          if (more.length >= K) break;
          for (const entry of await reader.outbox.taskEventsSentTo(relay, taskId, K)) {
            if (more.length >= K) break;
            if (expected.has(entry.eventId)) continue;
            const before = expected.size;
            add(entry);
            if (expected.size > before) more.push(entry.eventId);
          }
        }
      });
      failure = await ask(more);
      if (failure) return skipped(failure);
    }

    const missing = [...expected.keys()].filter((id) => !held.has(id));
    if (missing.length === 0) {
      state.lastRestored = new Set();
      return { relay, outcome: 'held', checked: asked.size, missing: 0, restored: 0 };
    }
    const chosen = missing.slice(0, K);
    const restored = await ctx.store.transaction((tx) => tx.outbox.resend(relay, chosen, REASON));
    // The same events lost again after the last check restored them: this relay does not keep what it takes.
    if (chosen.some((id) => state.lastRestored.has(id))) state.relapses += 1;
    else state.relapses = 0;
    state.lastRestored = new Set(chosen);
    if (restored > 0) options.onRestored?.();
    return {
      relay,
      outcome: restored > 0 ? 'restored' : 'held',
      checked: asked.size,
      missing: missing.length,
      restored,
    };
  }

  return {
    check: (relay) => {
      const job = running.then(() => check(relay));
      running = job.catch(() => undefined);
      return job;
    },
    connected(relay) {
      const state = relays.get(relay);
      if (!state || stopped) return;
      // Soon, but not before a relay that keeps losing events has waited out its backoff.
      const soon = clock.nowMs() + options.afterConnectMs;
      if (state.relapses === 0 || state.nextCheckAt < soon) state.nextCheckAt = soon;
    },
    async stop() {
      stopped = true;
      clearInterval(tick);
      await running.catch(() => undefined);
    },
  };
}

const GIFT_WRAP_KIND = 1059;

/** Replaceable kinds (NIP-01): a relay keeps only the newest of each. */
function isReplaceable(kind: number): boolean {
  return kind === 0 || kind === 3 || (kind >= 10_000 && kind < 20_000) || (kind >= 30_000 && kind < 40_000);
}

/** Whether a relay that took the event should still return it: not superseded, not ephemeral, not expired. */
function expectedBack(event: SignedEvent, current: ReadonlySet<string>, nowSeconds: number): boolean {
  if (current.has(event.id)) return true;
  if (isReplaceable(event.kind) || (event.kind >= 20_000 && event.kind < 30_000)) return false;
  // Gift-wrapped private notices (NIP-59): relays may serve them to their recipient only (NIP-17, AUTH).
  if (event.kind === GIFT_WRAP_KIND) return false;
  const expiration = event.tags.find((tag) => tag[0] === 'expiration')?.[1];
  return expiration === undefined || !(Number(expiration) <= nowSeconds + 60);
}

/** The relay's copy is the event the agent signed, field by field. */
function sameEvent(ours: SignedEvent, theirs: Record<string, unknown>): boolean {
  return (
    theirs.id === ours.id &&
    theirs.sig === ours.sig &&
    theirs.pubkey === ours.pubkey &&
    theirs.kind === ours.kind &&
    theirs.created_at === ours.created_at &&
    theirs.content === ours.content &&
    JSON.stringify(theirs.tags) === JSON.stringify(ours.tags)
  );
}
