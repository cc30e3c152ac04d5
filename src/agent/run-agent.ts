// Wires the running agent: store, Lightning node, relay pool, intake, effect runner (with the reconciler and the
// guardian), outbox publisher, and the agent's own announcement. Returns a handle that stops it all.

import { randomBytes } from 'node:crypto';
import { availableParallelism, hostname } from 'node:os';
import type { Logger } from 'pino';
import { libsecp256k1InvoiceCurve } from '../crypto/ecdsa.ts';
import { createVerifyPool } from '../crypto/verify-pool.ts';
import type { Policy } from '../domain/types.ts';
import type { AgentContext } from '../engine/context.ts';
import { createMetrics } from '../engine/metrics.ts';
import { findStuckHolds } from '../engine/stuck-holds.ts';
import { handleBlock } from '../handlers/block.ts';
import { useInvoiceCurve } from '../ldk/bolt11/signature.ts';
import { type AddressFetchOptions, fetchInvoiceFromAddress } from '../ldk/lightning-address.ts';
import type { HoldInvoiceBackend } from '../ldk/port.ts';
import { RelayPool } from '../nostr/relay-pool.ts';
import { normalizeRelayUrl } from '../nostr/relay-url.ts';
import { KINDS } from '../protocol/constants.ts';
import { type EscrowStore, urgentWrites } from '../store/index.ts';
import {
  announce,
  announcePolicy,
  type MaintenanceState,
  readMaintenance,
  writeMaintenance,
} from './announce.ts';
import { activeArbitrators, seedArbitrators } from './arbitrators.ts';
import type { ArbitratorEntry, RelayBudgets } from './config.ts';
import type { AgentIdentity } from './identity.ts';
import { intakeEvent, intakeMemoryOf } from './intake.ts';
import { createIntakeQueue } from './intake-queue.ts';
import { type AuditWatch, startAuditWatch } from './jobs/audit-watch.ts';
import { type EffectRunner, startEffectRunner } from './jobs/effect-runner.ts';
import { type NodeWatch, startNodeWatch } from './jobs/node-watch.ts';
import {
  type OutboxPublisher,
  type Publisher,
  quorumOf,
  startOutboxPublisher,
} from './jobs/outbox-publisher.ts';
import { type HeadsPublisher, startHeadsPublisher } from './jobs/publish-heads.ts';
import { READ_BACK_DEFAULTS, type ReadBack, type ReadBackOptions, startReadBack } from './jobs/read-back.ts';
import { type RelayWatch, startRelayWatch } from './jobs/relay-watch.ts';
import { createLogger } from './logger.ts';
import { createPreverifier } from './preverify.ts';
import { createRateGate } from './rate-gate.ts';
import type { RelayEntry } from './relay-list.ts';

/** Inbound events about different tasks handled at once by default (agent.intake_concurrency). */
export const INTAKE_CONCURRENCY = 8;

export interface RunAgentOptions {
  store: EscrowStore;
  lightning: HoldInvoiceBackend;
  identity: AgentIdentity;
  policy: Policy;
  relays: RelayEntry[];
  publishQuorum?: number | null;
  log?: Logger;
  now?: () => number;
  /** How often every non-terminal task is reconciled with the node and its deadlines ticked. */
  reconcileIntervalMs?: number;
  /**
   * Share the work with other replicas on the same database (task leases, claimed outbox deliveries). Default:
   * on PostgreSQL; never needed on SQLite, which one agent uses at a time (the data folder's lock).
   */
  sharedWork?: boolean;
  /**
   * Worker threads that check the signatures of events waiting in the intake queue ahead of it (preverify.ts);
   * 0 checks every signature on the main thread. Default: the cores but one, at most 4 (1 on 2 cores, 0 on 1).
   */
  verifyThreads?: number;
  /**
   * Inbound events in the intake at once (intake-queue.ts), only ever about different tasks: the events of one
   * task, and copies of one event, still go one at a time in order. Their store writes share a COMMIT on SQLite.
   * 1 handles every event alone. Default INTAKE_CONCURRENCY.
   */
  intakeConcurrency?: number;
  outboxIntervalMs?: number;
  /** Longest wait before re-sending an event to a relay that did not take it (default 300 s). */
  outboxMaxBackoffSeconds?: number;
  rate?: { perMinute: number; burst: number };
  maxRoutingFeePpm?: number;
  payTimeoutSeconds?: number;
  /** Relay pool tuning (tests shorten the backoff). */
  pool?: {
    backoff?: { initialMs: number; maxMs: number; jitter: number };
    overlapSeconds?: number;
    /** What one relay may cost the agent (config nostr.max_*; docs/configuration.md, "Relay budgets"). */
    budgets?: RelayBudgets;
  };
  name?: string;
  /** A WARN line once no read relay has been connected for this long, and once fewer write relays than the
   * publish quorum take events for this long (default 30 s); an INFO line when that ends. */
  relayTroubleSeconds?: number;
  /** The read-back of the write relays (jobs/read-back.ts); false turns it off. */
  readBack?: Partial<Omit<ReadBackOptions, 'ownEventIds' | 'onRestored'>> | false;
  /** The configuration's arbitrators, seeded into the store at start; the announced set is the store's active
   * arbitrators together with any the policy names directly. */
  arbitrators?: ArbitratorEntry[];
  /** Lightning-address look-ups (refund invoices). Only tests loosen them: a local HTTP server on 127.0.0.1 needs
   * allowHttp and allowPrivateAddresses, which no configuration key can set. */
  lightningAddress?: Pick<AddressFetchOptions, 'allowHttp' | 'allowPrivateAddresses' | 'timeoutMs'>;
  /** Transitions between two chain heads events (jobs/publish-heads.ts; default 50); 0: only at stop. */
  headsEvery?: number;
  /** How often the Lightning node is probed (default 15 s) and how long a probe may take (default 5 s). */
  nodeProbe?: { intervalMs: number; timeoutMs: number };
  /** How often every audit chain is walked (default 10 min; the first walk runs at start). */
  auditIntervalMs?: number;
  /** How often the maintenance mode is read again from the store (another replica may change it; default 15 s). */
  maintenanceRefreshMs?: number;
}

export interface RunningAgent {
  ctx: AgentContext;
  pool: RelayPool;
  effects: EffectRunner;
  outbox: OutboxPublisher;
  /** Checks that the write relays still hold the agent's events (null when turned off). */
  readBack: ReadBack | null;
  relayWatch: RelayWatch;
  nodeWatch: NodeWatch;
  auditWatch: AuditWatch;
  /** Maintenance mode as this agent applies it. */
  maintenance(): MaintenanceState;
  /** Pauses (true) or resumes (false) the intake of new tasks: stored for every replica, then announced. */
  setMaintenance(
    paused: boolean,
    reason: string | null,
  ): Promise<{ changed: boolean; state: MaintenanceState }>;
  /** Waits until no task work and no due outbox delivery is left (for tests and the demo). */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

export async function runAgent(options: RunAgentOptions): Promise<RunningAgent> {
  // Payout invoices are decoded at submit and again before paying: their payee key recovered with libsecp256k1
  // (src/crypto/ecdsa.ts, same answers as the pure-JS default), not in 2 ms of this thread each.
  useInvoiceCurve(libsecp256k1InvoiceCurve);
  const log = options.log ?? createLogger({ level: 'silent' });
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const info = await options.lightning.getInfo();
  let height = info.blockHeight;
  const writeRelays = options.relays.filter((relay) => relay.write).map((relay) => relay.url);
  const metrics = createMetrics();
  /** The pool's spelling of each write relay -> the one the outbox rows carry. */
  const writeRelayNames = new Map(writeRelays.map((url) => [normalizeRelayUrl(url), url]));
  const quorum = quorumOf(writeRelays.length, options.publishQuorum ?? null);
  let readBack: ReadBack | null = null;

  // The rate the gate enforces is the one the announcement publishes.
  const rate = options.rate ?? options.policy.rateLimit ?? DEFAULT_RATE;
  const policy = await withArbitrators(options, now());
  let maintenance = await readMaintenance(options.store);
  let effects: EffectRunner | null = null;
  let outbox: OutboxPublisher | null = null;
  let heads: HeadsPublisher | null = null;
  const ctx: AgentContext = {
    store: options.store,
    lightning: options.lightning,
    // The node id is announced only when the backend gave a real one (an NWC wallet may name only its Nostr key).
    policy: {
      ...policy,
      rateLimit: rate,
      ...(/^0[23][0-9a-f]{64}$/.test(info.nodeId) ? { lightningNodeId: info.nodeId } : {}),
      ...(maintenance.paused ? { acceptingTasks: false } : {}),
    },
    identity: options.identity,
    node: { id: info.nodeId, network: info.network },
    writeRelays: () => writeRelays,
    now,
    height: () => height,
    log,
    metrics,
    wake: (taskId, lane) => {
      effects?.wake(taskId, lane);
      outbox?.wake();
      heads?.wake();
    },
    maxRoutingFeePpm: options.maxRoutingFeePpm ?? 5000,
    payTimeoutSeconds: options.payTimeoutSeconds ?? 60,
    fetchAddressInvoice: (address, amountMsat) =>
      fetchInvoiceFromAddress(address, { ...options.lightningAddress, amountMsat, network: info.network }),
  };

  // Replicas on one PostgreSQL database share the work: one acts on a task at a time (a lease per task), and each
  // outbox delivery is claimed by one replica at a time (docs/scaling.md). One SQLite file has one agent.
  const shared = options.sharedWork ?? options.store.dialect === 'postgres';
  const holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  effects = startEffectRunner(() => ctx, {
    intervalMs: options.reconcileIntervalMs ?? 15_000,
    leases: shared ? { holder } : null,
  });
  const pool = new RelayPool({
    relays: options.relays,
    filters: [{ kinds: [KINDS.listing, KINDS.label], '#p': [options.identity.pubkey] }],
    cursors: {
      get: (relay) => options.store.read((reader) => reader.cursors.get(relay)),
      set: (relay, since) => options.store.transaction((tx) => tx.cursors.set(relay, since)),
    },
    onEvent: (event, relay) => handleInbound(event, relay),
    onConnect: (relay) => {
      const name = writeRelayNames.get(relay) ?? relay;
      readBack?.connected(name);
      // What failed to reach this relay while it was away (a passing refusal waits out a backoff) goes now, so a
      // task's later step never stands on the relay without the one before it for the length of a backoff.
      void options.store
        .transaction((tx) => tx.outbox.dueAgain(name))
        .then((due) => {
          if (due > 0) outbox?.wake();
        })
        .catch((error) => log.warn({ err: error, relay: name }, 'could not make its waiting deliveries due'));
    },
    // Cursors follow the relays' own clock (event created_at), not the injected domain clock.
    ...(options.pool?.backoff ? { backoff: options.pool.backoff } : {}),
    ...(options.pool?.overlapSeconds !== undefined ? { overlapSeconds: options.pool.overlapSeconds } : {}),
    ...(options.pool?.budgets ?? {}),
    logger: log,
  });
  metrics.watchRelays(
    () => pool.relayHealth(),
    () => pool.status().map((relay) => ({ ...relay, url: writeRelayNames.get(relay.url) ?? relay.url })),
  );
  metrics.watchStore({
    stats: () => options.store.read((reader) => reader.stats.snapshot()),
    stuckHolds: () =>
      options.store.read((reader) => findStuckHolds(reader, now())).then((stuck) => stuck.length),
    now,
  });
  metrics.intakePaused.set(maintenance.paused ? 1 : 0);
  const nodeWatch = startNodeWatch(() => ctx, options.nodeProbe ?? { intervalMs: 15_000, timeoutMs: 5_000 });
  const auditWatch = startAuditWatch(() => ctx, { intervalMs: options.auditIntervalMs ?? 600_000 });
  /** Applies a maintenance mode read from the store or just written: the policy the intake and announcement use. */
  function applyMaintenance(state: MaintenanceState): boolean {
    const changed = state.paused !== maintenance.paused;
    maintenance = state;
    const { acceptingTasks: _accepting, ...rest } = ctx.policy;
    ctx.policy = state.paused ? { ...rest, acceptingTasks: false } : rest;
    metrics.intakePaused.set(state.paused ? 1 : 0);
    return changed;
  }
  const maintenanceTimer = setInterval(() => {
    readMaintenance(options.store)
      .then((state) => {
        if (applyMaintenance(state))
          log.warn(
            { paused: state.paused },
            'maintenance mode changed by another process (a replica or the CLI)',
          );
      })
      .catch((error) => log.warn({ err: error }, 'could not read the maintenance mode'));
  }, options.maintenanceRefreshMs ?? 15_000);
  maintenanceTimer.unref();
  const relayWatch = startRelayWatch(() => ctx, pool, {
    deafAfterSeconds: options.relayTroubleSeconds ?? 30,
    quorum,
  });
  outbox = startOutboxPublisher(() => ctx, publisherWatchedBy(pool, relayWatch), {
    intervalMs: options.outboxIntervalMs ?? 1000,
    quorum,
    claimSeconds: shared ? OUTBOX_CLAIM_SECONDS : null,
    ...(options.outboxMaxBackoffSeconds ? { maxBackoffSeconds: options.outboxMaxBackoffSeconds } : {}),
  });

  heads = startHeadsPublisher(() => ctx, {
    every: options.headsEvery ?? 50,
    onQueued: () => outbox?.wake(),
  });

  const gate = createRateGate(rate);
  const inFlight = new Set<Promise<unknown>>();
  // Actions before new listings, several events about different tasks at once (intake-queue.ts).
  const verifyThreads = options.verifyThreads ?? Math.max(0, Math.min(4, availableParallelism() - 1));
  const preverifier =
    verifyThreads > 0 ? createPreverifier(createVerifyPool(verifyThreads), intakeMemoryOf(ctx).seen) : null;
  intakeMemoryOf(ctx).ahead = preverifier;
  let stopping = false;
  /**
   * The intake of one event, waiting while the database does not answer (a PostgreSQL restart, a dropped
   * connection): the event stays in hand (the relay's cursor does not move past it) and is tried again, so
   * nothing that arrived during the outage is lost. A failure while the database answers is the handler's own:
   * logged, counted, and left to a later catch-up, as before.
   */
  async function intakeWhileStored(event: unknown, relay: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let failed: unknown = null;
      try {
        const outcome = await intakeEvent(ctx, gate, event, relay);
        if (outcome.status === 'dropped' && outcome.code === 'HandlerFailed') failed = outcome.reason;
      } catch (error) {
        failed = error;
      }
      if (failed === null || stopping) return;
      if (await databaseAnswers(options.store)) {
        if (failed instanceof Error) log.error({ err: failed, relay }, 'intake failed');
        return;
      }
      if (attempt === 0)
        log.warn({ relay }, 'the database does not answer: inbound events wait until it does');
      await sleep(Math.min(2_000, 250 * 2 ** attempt));
    }
  }
  // An action's store writes go ahead of those of bulk work (new offers) waiting for the database.
  const intake = createIntakeQueue(
    (event, relay, lane) =>
      lane === 'action'
        ? urgentWrites(() => intakeWhileStored(event, relay))
        : intakeWhileStored(event, relay),
    {
      concurrency: options.intakeConcurrency ?? INTAKE_CONCURRENCY,
      ...(preverifier ? { ahead: ({ id, pubkey, sig }) => preverifier.ahead(id, pubkey, sig) } : {}),
    },
  );
  function handleInbound(event: unknown, relay: string): Promise<void> {
    const job = intake.push(event, relay);
    inFlight.add(job);
    void job.finally(() => inFlight.delete(job));
    return job;
  }

  const unsubscribe = options.lightning.subscribe((event) => {
    if (event.type === 'block') {
      // Deadlines are in blocks: every holding task is looked at on every block (the guardian).
      void handleBlock(
        event.height,
        (next) => {
          height = Math.max(height, next);
        },
        () => effects?.wakeAll() ?? Promise.resolve(),
      ).catch((error) => log.warn({ err: error }, 'block round failed'));
      return;
    }
    // A node event queued before stop() may arrive after the store closed: logged, never an unhandled rejection.
    void wakeForNodeEvent(event.paymentHash).catch((error) =>
      log.warn({ err: error }, 'a node event could not be matched to a task'),
    );
  });

  async function wakeForNodeEvent(paymentHash: string) {
    const funding = await options.store.read((reader) => reader.fundings.get(paymentHash));
    if (funding) return effects?.wake(funding.taskId, 'money');
    const payouts = await options.store.read((reader) => reader.payouts.listInFlight());
    for (const payout of payouts.filter((row) => row.paymentHash === paymentHash))
      effects?.wake(payout.taskId, 'money');
  }

  const own = await announce(ctx, options.relays);
  if (options.readBack !== false) {
    readBack = startReadBack(
      () => ctx,
      {
        fetch: (relay, filters, fetchOptions) => pool.fetch(relay, filters, fetchOptions),
        status: () =>
          pool.status().map((relay) => ({ ...relay, url: writeRelayNames.get(relay.url) ?? relay.url })),
      },
      {
        ...READ_BACK_DEFAULTS,
        ...options.readBack,
        ownEventIds: () => own,
        onRestored: () => outbox?.wake(),
      },
    );
  }
  pool.start();
  await auditWatch.begin();
  await effects.reconcileAll();
  outbox.wake();
  heads.wake();

  return {
    ctx,
    pool,
    effects,
    outbox,
    readBack,
    relayWatch,
    nodeWatch,
    auditWatch,
    maintenance: () => maintenance,
    async setMaintenance(paused, reason) {
      const result = await writeMaintenance(options.store, paused, reason, now());
      applyMaintenance(result.state);
      if (result.changed) {
        log.warn(
          { paused, reason },
          paused ? 'paused: new tasks are refused' : 'resumed: new tasks are taken',
        );
        await announcePolicy(ctx);
        outbox?.wake();
      }
      return result;
    },
    async settle() {
      for (let round = 0; round < 50; round++) {
        await Promise.all([...inFlight]);
        await effects?.idle();
        await outbox?.flush();
        const due = await options.store.read((reader) => reader.outbox.due(now(), 1));
        if (inFlight.size === 0 && due.length === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop() {
      stopping = true;
      unsubscribe();
      clearInterval(maintenanceTimer);
      nodeWatch.stop();
      auditWatch.stop();
      relayWatch.stop();
      await readBack?.stop();
      await effects?.stop();
      // The chain heads of everything published, queued and sent while the relays are still connected (bounded).
      await heads?.stop();
      await Promise.race([outbox?.flush().then(() => outbox?.flush()), sleep(STOP_FLUSH_MS)]);
      await pool.stop();
      await outbox?.stop();
      await Promise.allSettled([...inFlight]);
      intakeMemoryOf(ctx).ahead = null;
      await preverifier?.close();
      // The debug lines a noisy relay had suppressed since its last one.
      intakeMemoryOf(ctx).logs.flush();
    },
  };
}

export { RULES_VERSION } from './announce.ts';

const DEFAULT_RATE = { perMinute: 60, burst: 30 };
/** How long a replica's claim on an outbox delivery lasts (a dead replica's claimed deliveries are due again). */
const OUTBOX_CLAIM_SECONDS = 30;
/** How long stop() lets the outbox send what is due (the last chain heads) before it closes the relays. */
const STOP_FLUSH_MS = 5_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
/**
 * The policy with the arbitrators the agent offers: the configuration's are seeded into the store, and the active
 * set is the store's (those added with `escrow-agent arbitrators add` included) plus any the policy names itself.
 */
async function withArbitrators(options: RunAgentOptions, now: number): Promise<Policy> {
  if (options.arbitrators) await seedArbitrators(options.store, options.arbitrators, now);
  const stored = await activeArbitrators(options.store);
  const profiles = new Map(stored.map((profile) => [profile.pubkey, profile]));
  for (const profile of options.policy.arbitratorProfiles ?? []) {
    if (!profiles.has(profile.pubkey)) profiles.set(profile.pubkey, profile);
  }
  for (const pubkey of options.policy.arbitrators) {
    if (!profiles.has(pubkey)) profiles.set(pubkey, { pubkey, name: '', feeBaseMsat: 0n, feePpm: 0 });
  }
  const arbitratorProfiles = [...profiles.values()].sort((a, b) => (a.pubkey < b.pubkey ? -1 : 1));
  return {
    ...options.policy,
    arbitrators: arbitratorProfiles.map((profile) => profile.pubkey),
    arbitratorProfiles,
  };
}

/** True when the database answers a read (false while PostgreSQL restarts or the connection is gone). */
async function databaseAnswers(store: EscrowStore): Promise<boolean> {
  try {
    await store.read((reader) => reader.settings.get('maintenance'));
    return true;
  } catch {
    return false;
  }
}

/** The pool as the outbox publisher's sender, telling the relay watch each relay's answer. */
function publisherWatchedBy(pool: RelayPool, watch: RelayWatch): Publisher {
  return {
    async publish(event, relays) {
      const results = await pool.publish(event, relays);
      for (const result of results) watch.recordPublish(result.relay, result.ok, result.message);
      return results;
    },
  };
}
