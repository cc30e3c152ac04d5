// Prometheus metrics (prom-client), one registry per agent so tests can run several agents in one process. The names
// are the ones the alert rules and the dashboard use (monitoring/, docs/operations.md "Metrics"). Three kinds:
// counters and gauges the agent sets as things happen; gauges read at scrape time from the store (counts by state,
// oldest pending delivery and payout, stuck holds: one GROUP BY each, whatever the number of tasks) and from the
// relay pool; and gauges the node and audit watchers set (jobs/node-watch.ts, jobs/audit-watch.ts).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { TASK_STATES } from '../domain/types.ts';
import type { OperationalStats } from '../store/port.ts';

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

/** What the relay client says of each relay's connection (src/nostr's RelayStatus, read structurally). */
export interface RelayStatusReading {
  url: string;
  read: boolean;
  connected: boolean;
  /** Unix seconds up to which the relay's history has been read (read relays), or null before the first pass. */
  cursor: number | null;
}

/** Where the scrape-time gauges read from (set by runAgent; absent in unit tests). */
export interface MetricSources {
  stats(): Promise<OperationalStats>;
  /** Holds the node took that did not move on (src/engine/stuck-holds.ts), counted at scrape time. */
  stuckHolds(): Promise<number>;
  now(): number;
}

const FUNDING_STATUSES = ['open', 'accepted', 'settled', 'cancelled'] as const;

export function createMetrics() {
  const registry = new Registry();
  // Read from the relay pool at scrape time (watchRelays), so the pool keeps one set of counters.
  let readRelays: () => readonly RelayHealthReading[] = () => [];
  let readRelayStatus: () => readonly RelayStatusReading[] = () => [];
  let sources: MetricSources | null = null;
  // One store snapshot per scrape: prom-client collects every gauge of a scrape at once, and they share the reads
  // while they are running; the next scrape reads again.
  let snapshot: Promise<OperationalStats> | null = null;
  const stats = (): Promise<OperationalStats> | null => {
    if (!sources) return null;
    if (!snapshot) {
      const reading = sources.stats();
      snapshot = reading;
      const forget = () => {
        if (snapshot === reading) snapshot = null;
      };
      reading.then(forget, forget);
    }
    return snapshot;
  };
  const storeGauge = (name: string, help: string, read: (stats: OperationalStats, now: number) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const pending = stats();
        if (!pending || !sources) return;
        this.set(read(await pending, sources.now()));
      },
    });
  const ageOf = (at: number | null, now: number) => (at === null ? 0 : Math.max(0, now - at));
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
  new Gauge({
    name: 'tasks_by_state',
    help: 'Tasks in each state (every state is listed, 0 when none)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const pending = stats();
      if (!pending) return;
      const counts = (await pending).tasksByState;
      for (const state of TASK_STATES) this.set({ state }, counts[state] ?? 0);
    },
  });
  new Gauge({
    name: 'funding_by_status',
    help: 'Hold invoices in each state: open (offered, unpaid), accepted (the node holds the HTLC), settled, cancelled',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const pending = stats();
      if (!pending) return;
      const counts = (await pending).fundingsByState;
      for (const status of FUNDING_STATUSES) this.set({ status }, counts[status] ?? 0);
    },
  });
  storeGauge(
    'escrow_outbox_oldest_pending_age_seconds',
    'Age of the oldest agent event not yet taken by every write relay (0 when none is pending)',
    (read, now) => ageOf(read.oldestOutboxPendingAt, now),
  );
  storeGauge(
    'escrow_payouts_in_flight',
    'Payouts sent and not yet resolved at the node',
    (read) => read.payoutsInFlight,
  );
  storeGauge(
    'escrow_payout_oldest_in_flight_age_seconds',
    'Age of the oldest payout in flight (0 when none)',
    (read, now) => ageOf(read.oldestPayoutInFlightAt, now),
  );
  new Gauge({
    name: 'escrow_stuck_holds_count',
    help: 'Holds the node took that did not move on for over an hour: paid but the task not funded, or a settle or cancel intent not finished (escrow-agent holds stuck)',
    registers: [registry],
    async collect() {
      if (sources) this.set(await sources.stuckHolds());
    },
  });
  const relayStatusGauge = (
    name: string,
    help: string,
    value: (relay: RelayStatusReading) => number | null,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['relay'],
      registers: [registry],
      collect() {
        this.reset();
        for (const relay of readRelayStatus()) {
          const reading = value(relay);
          if (reading !== null) this.set({ relay: relay.url }, reading);
        }
      },
    });
  relayStatusGauge('escrow_relay_connected', 'Whether the agent is connected to a relay: 1 or 0', (relay) =>
    relay.connected ? 1 : 0,
  );
  relayStatusGauge(
    'escrow_relay_catchup_lag_seconds',
    "Seconds between now and the point up to which a read relay's history has been read (its cursor)",
    (relay) =>
      relay.read && relay.cursor !== null
        ? Math.max(0, (sources?.now() ?? Math.floor(Date.now() / 1000)) - relay.cursor)
        : null,
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
    watchRelays(
      read: () => readonly RelayHealthReading[],
      status: () => readonly RelayStatusReading[] = () => [],
    ): void {
      readRelays = read;
      readRelayStatus = status;
    },
    /** Where the store-backed gauges read from at scrape time. */
    watchStore(from: MetricSources): void {
      sources = from;
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
    relayPublishRefusals: new Counter({
      name: 'escrow_relay_publish_refusals_total',
      help: 'Outbox deliveries a relay answered with OK false (refused), by relay: a subset of the failures',
      labelNames: ['relay'] as const,
      registers: [registry],
    }),
    publishQuorumReachable: new Gauge({
      name: 'escrow_publish_quorum_reachable',
      help: 'Whether at least the publish quorum of write relays takes the agent events: 1 or 0',
      registers: [registry],
    }),
    intakePaused: new Gauge({
      name: 'escrow_intake_paused',
      help: 'Maintenance mode (escrow-agent pause): 1 while new tasks are refused, 0 otherwise',
      registers: [registry],
    }),
    auditChainValid: new Gauge({
      name: 'escrow_audit_chain_valid',
      help: "Whether the last walk of every task's audit chain found it intact: 1 or 0 (escrow-agent verify-db). Until this process's first walk ends: the last finished walk's answer (kept in the database), or NaN if none ever finished",
      registers: [registry],
    }),
    lightningNodeUp: new Gauge({
      name: 'escrow_lightning_node_up',
      help: 'Whether the Lightning node answered its last probe: 1 or 0',
      registers: [registry],
    }),
    localBalanceSats: new Gauge({
      name: 'ldk_local_balance_sats',
      help: 'What the Lightning node can send now over its channels, in sat (every backend: LDK, LND, NWC where it tells)',
      registers: [registry],
    }),
    remoteBalanceSats: new Gauge({
      name: 'ldk_remote_balance_sats',
      help: 'What the Lightning node can receive now over its channels, in sat (every backend, where it tells)',
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
      help: 'From the approval (or verdict, or rule) that decided to settle to the node reporting the hold SETTLED',
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
      help: 'Lightning calls that failed, by operation (create_invoice, settle, cancel, pay), for every backend (LDK, LND, NWC), not only LDK',
      labelNames: ['operation'] as const,
      registers: [registry],
    }),
  };
}

export type AgentMetrics = ReturnType<typeof createMetrics>;
