// Prometheus metrics (prom-client), one registry per agent so tests can run several agents in one process.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** How many (event, code) pairs the refusal counter remembers, so a copy is not counted again. */
const COUNTED_CAPACITY = 50_000;

/** What the relay client says of one relay (src/nostr's RelayHealth, read structurally: engine knows no transport). */
export interface RelayHealthReading {
  url: string;
  misbehaviour: string | null;
  reqsSent: number;
  eventsReceived: number;
  droppedByReason: Record<string, number>;
  eventsOverBudget: number;
  unexpectedFrames: number;
  notices: number;
  eventsBuffered: number;
  bytesBuffered: number;
}

export function createMetrics() {
  const registry = new Registry();
  // Read from the relay pool at scrape time (watchRelays), so the pool keeps one set of counters.
  let readRelays: () => readonly RelayHealthReading[] = () => [];
  const relayGauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    values: (relay: RelayHealthReading) => Array<[Record<L, string>, number]>,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['relay', ...labelNames],
      registers: [registry],
      collect() {
        this.reset();
        for (const relay of readRelays()) {
          for (const [labels, value] of values(relay)) this.set({ relay: relay.url, ...labels }, value);
        }
      },
    });
  relayGauge(
    'escrow_relay_misbehaving',
    'Whether a relay is breaking the paging rules (ignores until or limit, replays): 1 while it does',
    [],
    (relay) => [[{}, relay.misbehaviour === null ? 0 : 1]],
  );
  relayGauge('escrow_relay_reqs_sent', 'REQs the agent sent to a relay since start', [], (relay) => [
    [{}, relay.reqsSent],
  ]);
  relayGauge('escrow_relay_events_received', 'Readable events a relay sent since start', [], (relay) => [
    [{}, relay.eventsReceived],
  ]);
  relayGauge(
    'escrow_relay_frames_dropped',
    'Frames from a relay dropped one by one since start (too large, too deep, not JSON, ...), by reason',
    ['reason'],
    (relay) => Object.entries(relay.droppedByReason).map(([reason, count]) => [{ reason }, count]),
  );
  relayGauge(
    'escrow_relay_events_over_budget',
    'Events from a relay not taken since start (past a page limit, or its buffer full)',
    [],
    (relay) => [[{}, relay.eventsOverBudget]],
  );
  relayGauge(
    'escrow_relay_unexpected_frames',
    'EOSE, OK, AUTH, CLOSED or EVENT frames from a relay that nothing waited for, since start',
    [],
    (relay) => [[{}, relay.unexpectedFrames]],
  );
  relayGauge('escrow_relay_notices', 'NOTICE messages from a relay since start', [], (relay) => [
    [{}, relay.notices],
  ]);
  relayGauge('escrow_relay_buffered_events', 'Events from a relay held, not yet handled', [], (relay) => [
    [{}, relay.eventsBuffered],
  ]);
  relayGauge(
    'escrow_relay_buffered_bytes',
    'Bytes of events from a relay held, not yet handled',
    [],
    (relay) => [[{}, relay.bytesBuffered]],
  );
  const rejections = new Counter({
    name: 'escrow_rejections_total',
    help: 'Distinct events refused by the intake or the decider, by reason code',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  // Insertion order is age: the oldest pair is forgotten first when the set is full.
  const counted = new Set<string>();
  return {
    registry,
    /** Where the relay gauges read from (the agent's relay pool). */
    watchRelays(read: () => readonly RelayHealthReading[]): void {
      readRelays = read;
    },
    inboundEvents: new Counter({
      name: 'escrow_inbound_events_total',
      help: 'Events received from relays, by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    rejections,
    /**
     * Counts a refusal once per distinct event and code: `event` identifies the event (its id, and for an
     * unverified one its signature too), so the same copy from another relay or a catch-up is not counted again.
     * Null (an event without a readable id) always counts. True if counted.
     */
    countRejection(code: string, event: string | null): boolean {
      if (event !== null) {
        const key = `${code} ${event}`;
        if (counted.has(key)) return false;
        counted.add(key);
        if (counted.size > COUNTED_CAPACITY) counted.delete(counted.values().next().value as string);
      }
      rejections.inc({ code });
      return true;
    },
    invalidSignatures: new Counter({
      name: 'escrow_invalid_signatures_total',
      help: 'Events with a bad id or signature, by relay',
      labelNames: ['relay'] as const,
      registers: [registry],
    }),
    relayPublishFailures: new Counter({
      name: 'escrow_relay_publish_failures_total',
      help: 'Outbox deliveries a relay refused or did not answer',
      labelNames: ['relay'] as const,
      registers: [registry],
    }),
    readBackChecks: new Counter({
      name: 'escrow_read_back_checks_total',
      help: 'Read-back checks of a write relay (does it still hold the agent events?), by relay and outcome (held, restored, skipped)',
      labelNames: ['relay', 'outcome'] as const,
      registers: [registry],
    }),
    readBackRestored: new Counter({
      name: 'escrow_read_back_restored_events_total',
      help: 'Agent events a write relay had lost and the read-back queued for it again, by relay',
      labelNames: ['relay'] as const,
      registers: [registry],
    }),
    relayTroubleEpisodes: new Counter({
      name: 'escrow_relay_trouble_episodes_total',
      help: 'Times the agent became deaf (no read relay connected) or fell below the publish quorum, by kind (deaf, below_quorum)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    outboxPending: new Gauge({
      name: 'escrow_outbox_pending',
      help: '(event, relay) deliveries not yet acknowledged',
      registers: [registry],
    }),
    tasksByState: new Gauge({
      name: 'tasks_by_state',
      help: 'Tasks in each state',
      labelNames: ['state'] as const,
      registers: [registry],
    }),
    settledUnpaidSats: new Gauge({
      name: 'escrow_settled_unpaid_sats',
      help: 'Sats settled from holds and not yet paid out',
      registers: [registry],
    }),
    custodyTasks: new Gauge({
      name: 'escrow_custody_tasks',
      help: 'Tasks whose money the agent settled and holds for others (split, pending verdict, missing invoice)',
      registers: [registry],
    }),
    custodyHeldMsat: new Gauge({
      name: 'escrow_custody_held_msat',
      help: 'Money the agent holds in custody, in msat',
      registers: [registry],
    }),
    custodyOverdueTasks: new Gauge({
      name: 'escrow_custody_overdue_tasks',
      help: 'Tasks in custody longer than policy.custody_max_seconds (the operator must act)',
      registers: [registry],
    }),
    blocksToNearestHoldDeadline: new Gauge({
      name: 'escrow_blocks_to_nearest_hold_deadline',
      help: 'Blocks until the nearest guardian height of a held payment (-1 when none)',
      registers: [registry],
    }),
    settlementDuration: new Histogram({
      name: 'settlement_duration_seconds',
      help: 'From a settle intent to the node reporting SETTLED',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    handlerFailures: new Counter({
      name: 'escrow_handler_failures_total',
      help: 'Inbound events a handler failed on unexpectedly (dropped unrecorded, retried by catch-up), by kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    lightningFailures: new Counter({
      name: 'ldk_invoice_failures_total',
      help: 'Lightning calls that failed, by operation',
      labelNames: ['operation'] as const,
      registers: [registry],
    }),
  };
}

export type AgentMetrics = ReturnType<typeof createMetrics>;
