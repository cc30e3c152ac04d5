// Makes relay trouble loud, once per change: a WARN line when no read relay has been connected for longer than
// `deafAfterSeconds` (the agent hears no task and no action), and one when fewer write relays than the publish
// quorum take events for as long (nothing the agent publishes reaches the quorum); an INFO line when either
// ends. The relay pool's own retries stay at DEBUG: this is the one line an operator sees.
//
// The relays are read structurally (the pool's status() and watch()): jobs know no transport.

import type { AgentContext } from '../../engine/context.ts';

export interface WatchedRelayStatus {
  url: string;
  read: boolean;
  write: boolean;
  connected: boolean;
}

export interface RelayStatusSource {
  status(): WatchedRelayStatus[];
  /** Calls the listener whenever a relay's status changes; returns the function that stops it. */
  watch(listener: () => void): () => void;
}

export interface RelayWatch {
  /** A publish answer from a relay (the outbox publisher's): a relay that refuses writes as such
   * (`restricted:`, `auth-required:`, `blocked:`) counts as not taking events until its next OK or reconnect. */
  recordPublish(relay: string, ok: boolean, message: string): void;
  /** Runs the check now (tests; the timer runs it every second). */
  check(): void;
  /** What the last check saw (for /health): the read relays connected, the write relays taking events. */
  reach(): RelayReach;
  stop(): void;
}

export interface RelayReach {
  /** Read relays connected, of those listed. */
  reading: string[];
  readRelays: number;
  /** Write relays connected and not refusing the agent's events. */
  taking: string[];
  writeRelays: number;
  quorum: number;
  /** A read relay is connected (or none is listed), and the quorum of write relays takes events. */
  ok: boolean;
}

/** OK false messages that say the relay takes no events from us, whatever the event. */
const REFUSES_WRITES = /^(restricted|auth-required|blocked):/;

export function startRelayWatch(
  getContext: () => AgentContext,
  source: RelayStatusSource,
  options: { deafAfterSeconds: number; quorum: number; nowMs?: () => number },
): RelayWatch {
  const nowMs = options.nowMs ?? Date.now;
  const graceMs = options.deafAfterSeconds * 1000;
  const started = nowMs();
  /** Relays whose last publish answer refused writes as such, on their current connection. */
  const refusing = new Set<string>();
  const wasConnected = new Map<string, boolean>();
  let reach: RelayReach = {
    reading: [],
    readRelays: 0,
    taking: [],
    writeRelays: 0,
    quorum: options.quorum,
    ok: false,
  };
  const trouble = {
    deaf: { since: null as number | null, reported: false },
    quorum: { since: null as number | null, reported: false },
  };

  function check(): void {
    const ctx = getContext();
    const relays = source.status();
    for (const relay of relays) {
      // A new connection starts with a clean slate: the relay may take events again.
      if (relay.connected && wasConnected.get(relay.url) === false) refusing.delete(relay.url);
      wasConnected.set(relay.url, relay.connected);
    }
    const now = nowMs();
    const reads = relays.filter((relay) => relay.read);
    const hearing = reads.filter((relay) => relay.connected);
    if (reads.length > 0) {
      track(
        'deaf',
        hearing.length === 0,
        now,
        () =>
          ctx.log.warn(
            {
              relays: reads.map((relay) => relay.url),
              seconds: Math.round((now - sinceOf('deaf', now)) / 1000),
            },
            'no read relay connected: the agent hears no task and no action (check the relay list and the network)',
          ),
        () =>
          ctx.log.info(
            { relays: hearing.map((relay) => relay.url) },
            'a read relay is connected again: the agent hears tasks and actions',
          ),
      );
    }
    const writes = relays.filter((relay) => relay.write);
    const taking = writes.filter((relay) => relay.connected && !refusing.has(relay.url));
    const quorumReached = writes.length === 0 || taking.length >= options.quorum;
    reach = {
      reading: hearing.map((relay) => relay.url),
      readRelays: reads.length,
      taking: taking.map((relay) => relay.url),
      writeRelays: writes.length,
      quorum: options.quorum,
      ok: (reads.length === 0 || hearing.length > 0) && quorumReached,
    };
    ctx.metrics.publishQuorumReachable.set(quorumReached ? 1 : 0);
    if (writes.length > 0 && options.quorum > 0) {
      track(
        'quorum',
        taking.length < options.quorum,
        now,
        () =>
          ctx.log.warn(
            {
              accepting: taking.map((relay) => relay.url),
              down: writes.filter((relay) => !taking.includes(relay)).map((relay) => relay.url),
              quorum: options.quorum,
            },
            'fewer write relays than the publish quorum take events: agent events are not published',
          ),
        () =>
          ctx.log.info(
            { accepting: taking.map((relay) => relay.url), quorum: options.quorum },
            'write relays take events again: the publish quorum can be reached',
          ),
      );
    }
  }

  function sinceOf(kind: keyof typeof trouble, now: number): number {
    return trouble[kind].since ?? now;
  }

  function track(
    kind: keyof typeof trouble,
    bad: boolean,
    now: number,
    warn: () => void,
    recovered: () => void,
  ) {
    const state = trouble[kind];
    if (!bad) {
      if (state.reported) recovered();
      state.since = null;
      state.reported = false;
      return;
    }
    state.since ??= now;
    if (!state.reported && now - state.since >= graceMs) {
      state.reported = true;
      getContext().metrics.relayTroubleEpisodes.inc({ kind: kind === 'deaf' ? 'deaf' : 'below_quorum' });
      warn();
    }
  }

  // The grace counts from the start: a relay list that never connects is reported too.
  trouble.deaf.since = started;
  trouble.quorum.since = started;
  const unwatch = source.watch(() => check());
  const timer = setInterval(check, Math.max(50, Math.min(1000, graceMs / 4)));
  timer.unref();

  return {
    recordPublish(relay, ok, message) {
      if (ok) refusing.delete(relay);
      else if (REFUSES_WRITES.test(message)) refusing.add(relay);
      else return;
      check();
    },
    check,
    reach: () => reach,
    stop() {
      clearInterval(timer);
      unwatch();
    },
  };
}
