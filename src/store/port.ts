// The persistence port: one interface, implemented for SQLite (default, embedded) and PostgreSQL (replicas).
// Everything a handler writes for one inbound event happens inside ONE `transaction`: it commits as a whole
// or not at all (a throw inside `fn` rolls back every write, in every repository).
// State changes are compare-and-set: a `false` result means someone else changed the row first, and nothing
// was written. Timestamps are integer unix seconds from the injected clock; money is bigint msat.
import type { Hex32, PayoutRecipient, Task, TaskEvent, TaskState } from '../domain/types.ts';
import type {
  DELIVERY_STATUSES,
  FUNDING_STATES,
  INBOUND_STATUSES,
  KEY_NAMES,
  PAYOUT_STATES,
} from './schema/values.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface OpenStoreOptions {
  /** `sqlite:./data/escrow.db`, `sqlite:/srv/escrow.db` (or `sqlite:///srv/escrow.db`), or
   * `postgres://user:password@host/database`. */
  url: string;
  /** The 32-byte AES-256-GCM key that encrypts preimages at rest. */
  preimageKey: Uint8Array;
  /** Unix seconds. Every created_at / updated_at comes from here, never from the database clock. */
  clock?: () => number;
  /** SQLite: how long a transaction waits for another process's write lock before failing (default 5000). */
  busyTimeoutMs?: number;
  /** PostgreSQL: the most connections in the pool (default 10). */
  maxConnections?: number;
  /** PostgreSQL: errors of idle pooled connections (the pool drops the connection and carries on). */
  onBackgroundError?: (error: Error) => void;
}

export interface EscrowStore {
  readonly dialect: Dialect;
  /** Runs `fn` in one read-write transaction. Not re-entrant: calling it again inside `fn` throws. */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /** Runs `fn` on one consistent read-only snapshot. */
  read<T>(fn: (tx: StoreReader) => Promise<T>): Promise<T>;
  /** sha256 of the canonical projection (tasks, fundings, payouts, audit heads): the same bytes on SQLite and
   * PostgreSQL for the same history, and for a projection rebuilt from relays. */
  projectionHash(): Promise<string>;
  /** Walks every task's audit chain, in slices of `sliceTasks` task rows (default 500), each its own read
   * transaction; `onMoreToWalk` is called after each slice that is not the last. */
  verifyAudit(options?: { sliceTasks?: number; onMoreToWalk?: () => void }): Promise<AuditReport>;
  close(): Promise<void>;
}

/** The read half of a transaction. */
export interface StoreReader {
  tasks: TaskReader;
  fundings: FundingReader;
  payouts: PayoutReader;
  inbound: InboundReader;
  outbox: OutboxReader;
  cursors: CursorReader;
  keys: KeyRecordReader;
  arbitrators: ArbitratorReader;
  heads: HeadsReader;
  settings: SettingsReader;
  leases: LeaseReader;
  stats: StatsReader;
}

export interface StoreTx extends StoreReader {
  tasks: TaskRepository;
  fundings: FundingRepository;
  payouts: PayoutRepository;
  inbound: InboundRepository;
  outbox: OutboxRepository;
  cursors: CursorRepository;
  keys: KeyRecordRepository;
  arbitrators: ArbitratorRepository;
  heads: HeadsRepository;
  settings: SettingsRepository;
  leases: LeaseRepository;
  stats: StatsReader;
}

// ---- tasks and their audit chain ----

export interface TaskReader {
  get(id: Hex32): Promise<Task | null>;
  listByState(states: readonly TaskState[]): Promise<Task[]>;
  /** The task's audit chain, oldest first. */
  history(id: Hex32): Promise<AuditEntry[]>;
  /** The id of the task's latest published transition (the next one's `prev`), or null before the first. */
  publishedHead(id: Hex32): Promise<Hex32 | null>;
  /** The unfinished (not terminal) task of the listing address 30402:<poster>:<d>, or null when there is none. */
  openAtListingAddress(poster: Hex32, d: string): Promise<Hex32 | null>;
  /** The tasks that finished with money moved (`paid`, `refunded`) in which `pubkey` is the poster, the worker or
   * an author of a recorded verdict (or statement), by id: whose counters its reputation is computed from. */
  finishedInvolving(pubkey: Hex32): Promise<FinishedTask[]>;
}

/** A finished task and when its ending was committed (its last change: unix seconds, the store's clock). */
export interface FinishedTask {
  task: Task;
  finishedAt: number;
}

export interface TaskRepository extends TaskReader {
  /** Like `get`, and no other transaction can change the task until this one ends
   * (PostgreSQL: SELECT ... FOR UPDATE; SQLite: the write lock taken by BEGIN IMMEDIATE). */
  getForUpdate(id: Hex32): Promise<Task | null>;
  /** Inserts a new task and its first events (task.version must equal events.length).
   * Returns false, writing nothing, when a task with this id exists. */
  create(task: Task, events: readonly TaskEvent[]): Promise<boolean>;
  /** Compare-and-set: replaces the task only if it is still in `expected` state and version, and appends
   * `events` to its audit chain (task.version must equal expected.version + events.length).
   * Returns false, writing nothing, when the task moved on (someone else won the race). */
  commit(change: TaskCommit): Promise<boolean>;
  /** Records the task's latest published transition, in the transaction that puts it in the outbox: the next link
   * of its chain, whose length grows by one. */
  setPublishedHead(id: Hex32, eventId: Hex32): Promise<void>;
  /** Records the `d` tag of the task's listing, in the transaction that creates the task. Throws when another
   * unfinished task of the same poster holds that `d` (a unique index: the database refuses a second one). */
  setListingD(id: Hex32, d: string): Promise<void>;
}

export interface TaskCommit {
  task: Task;
  expected: { state: TaskState; version: number };
  events: readonly TaskEvent[];
}

export interface AuditEntry {
  taskId: Hex32;
  seq: number;
  event: TaskEvent;
  prevHash: string;
  hash: string;
  createdAt: number;
}

export type AuditProblemKind =
  /** The row's hash is not the hash of its fields: a field was edited. */
  | 'hash_mismatch'
  /** The row's prev_hash is not the hash of the row before it: a row was removed, inserted or moved. */
  | 'broken_link'
  /** A sequence number is missing or out of place. */
  | 'seq_gap'
  /** The chain's last row is not the task row's version / audit_head: the tail was cut or extended. */
  | 'head_mismatch'
  /** Audit rows of a task whose row is gone: the task was deleted to hide it. */
  | 'missing_task';

export interface AuditProblem {
  taskId: Hex32;
  /** The row where the problem shows (head_mismatch: the task row's version; missing_task: the first row). */
  seq: number;
  kind: AuditProblemKind;
  detail: string;
}

export interface AuditReport {
  ok: boolean;
  tasksChecked: number;
  rowsChecked: number;
  problems: AuditProblem[];
}

// ---- fundings: the hold invoices and their encrypted preimages ----

export type FundingState = (typeof FUNDING_STATES)[number];

export interface FundingRecord {
  paymentHash: Hex32;
  taskId: Hex32;
  state: FundingState;
  amountMsat: bigint;
  receivedMsat: bigint;
  bolt11: string;
  htlcExpiryHeight: number | null;
  claimDeadlineHeight: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface NewFunding {
  taskId: Hex32;
  paymentHash: Hex32;
  /** 32 bytes whose sha256 is paymentHash. Stored encrypted; never logged. */
  preimage: Uint8Array;
  bolt11: string;
  amountMsat: bigint;
}

export interface FundingPatch {
  receivedMsat?: bigint;
  htlcExpiryHeight?: number | null;
  claimDeadlineHeight?: number | null;
}

export interface FundingReader {
  get(paymentHash: Hex32): Promise<FundingRecord | null>;
  listByState(states: readonly FundingState[]): Promise<FundingRecord[]>;
}

export interface FundingRepository extends FundingReader {
  /** Stores the funding BEFORE its invoice is published. Throws StoreError 'DuplicatePaymentHash' if the
   * hash was ever used (the transaction stays usable). */
  insert(funding: NewFunding): Promise<void>;
  /** Decrypts the preimage. Throws StoreError 'NotFound' or 'PreimageDecryption'. */
  revealPreimage(paymentHash: Hex32): Promise<Uint8Array>;
  /** Compare-and-set from one of `from` to `to`; false (nothing written) if the funding is in another state. */
  transition(
    paymentHash: Hex32,
    from: readonly FundingState[],
    to: FundingState,
    patch?: FundingPatch,
  ): Promise<boolean>;
}

// ---- payouts: Lightning payments from the agent to a worker or a poster ----

export type PayoutRecordState = (typeof PAYOUT_STATES)[number];

export interface PayoutRecord {
  id: number;
  taskId: Hex32;
  recipient: PayoutRecipient;
  bolt11: string;
  paymentHash: Hex32;
  amountMsat: bigint;
  state: PayoutRecordState;
  routingFeeMsat: bigint;
  /** 1 for the first payout to this recipient of this task, then 2, 3, ... */
  attempt: number;
  createdAt: number;
  updatedAt: number;
}

/** A payout row with its retry state (kept out of PayoutRecord: the projection hash covers only what the
 * history decides, and the retry time is the wall clock's). */
export interface PayoutAttempt extends PayoutRecord {
  /** Set when the attempt failed: the earliest time (unix seconds) the next attempt may start. */
  nextAttemptAt: number | null;
  /** Set when the attempt failed: why. */
  lastError: string | null;
}

export interface NewPayout {
  taskId: Hex32;
  recipient: PayoutRecipient;
  bolt11: string;
  paymentHash: Hex32;
  amountMsat: bigint;
}

export interface PayoutReader {
  listInFlight(): Promise<PayoutRecord[]>;
  /** Every payout of the task, by recipient then attempt. */
  forTask(taskId: Hex32): Promise<PayoutRecord[]>;
  /** The latest attempt (highest attempt number) of the payout to this recipient of this task, or null. */
  latestAttempt(taskId: Hex32, recipient: PayoutRecipient): Promise<PayoutAttempt | null>;
}

export interface PayoutRepository extends PayoutReader {
  /** Records the intent to pay (state in_flight) and returns its id. Throws StoreError 'PayoutConflict'
   * when a payout to the same recipient of the same task is in flight or succeeded, and 'PayoutNotCovered'
   * unless a settled hold of the task covers it: received - fee - every live payout >= amount. The
   * transaction stays usable after either refusal. */
  start(payout: NewPayout): Promise<number>;
  /** Compare-and-set from in_flight; false if the payout was already finished. A failed attempt may carry its
   * error and the time the next attempt may start. */
  finish(
    id: number,
    outcome: 'succeeded' | 'failed',
    patch?: { routingFeeMsat?: bigint; error?: string; nextAttemptAt?: number },
  ): Promise<boolean>;
}

// ---- inbound events: durable dedupe ----

export interface InboundRecord {
  id: Hex32;
  pubkey: Hex32;
  kind: number;
  createdAt: number;
  /** The signed event JSON, verbatim as received. */
  raw: string;
  status: (typeof INBOUND_STATUSES)[number];
  reason: string | null;
}

export interface InboundReader {
  has(id: Hex32): Promise<boolean>;
  /** The recorded event with its raw JSON, or null. */
  get(id: Hex32): Promise<InboundRecord | null>;
}

export interface InboundRepository extends InboundReader {
  /** Records a verified event; false if its id was recorded before (a duplicate). */
  record(event: InboundRecord): Promise<boolean>;
}

// ---- outbox: the agent's signed events, delivered to every write relay ----

/** A signed Nostr event (NIP-01). */
export interface SignedEvent {
  id: Hex32;
  pubkey: Hex32;
  created_at: number;
  kind: number;
  tags: string[][];
  content: string;
  sig: string;
}

export type RelayDeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface OutboxDelivery {
  eventId: Hex32;
  relay: string;
  event: SignedEvent;
  taskId: Hex32 | null;
  attempts: number;
  nextAttemptAt: number;
}

export interface RelayDelivery {
  relay: string;
  status: RelayDeliveryStatus;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: number;
}

/** An outbox event as signed, with its task (null for the announcement, the profile, the relay list, ...). */
export interface OutboxEntry {
  eventId: Hex32;
  taskId: Hex32 | null;
  event: SignedEvent;
}

/** A task's published head (its latest transition) as queued in the outbox. */
export interface PublishedHeadEntry extends OutboxEntry {
  taskId: Hex32;
}

export interface OutboxReader {
  /** Pending deliveries whose time has come, priority 0 first, then oldest first; only `priority`'s if given. */
  due(now: number, limit: number, priority?: 0 | 1): Promise<OutboxDelivery[]>;
  /** How many (event, relay) deliveries are still pending. */
  pendingCount(): Promise<number>;
  /** The delivery status of one event at each relay, by relay. */
  deliveries(eventId: Hex32): Promise<RelayDelivery[]>;
  /** One queued event as it was signed (e.g. a task's published head, for its created_at), or null. */
  event(eventId: Hex32): Promise<SignedEvent | null>;
  /** The events this relay said OK to, newest queued first, at most `limit` (the read-back's recent events). */
  sentTo(relay: string, limit: number): Promise<OutboxEntry[]>;
  /** The tasks' published heads this relay said OK to, by task id after `afterTaskId` (null: from the first),
   * at most `limit`: a page of the chain heads the read-back walks through. */
  headsSentTo(relay: string, afterTaskId: Hex32 | null, limit: number): Promise<PublishedHeadEntry[]>;
  /** One task's events this relay said OK to, newest queued first, at most `limit`. */
  taskEventsSentTo(relay: string, taskId: Hex32, limit: number): Promise<OutboxEntry[]>;
}

export interface OutboxRepository extends OutboxReader {
  /**
   * Queues the event for each relay (due at once). False, writing nothing, if the event is queued already.
   * `priority` 0 sends it before every due event of priority 1 (the default), whatever their age.
   */
  enqueue(
    event: SignedEvent,
    relays: readonly string[],
    taskId?: Hex32 | null,
    priority?: 0 | 1,
  ): Promise<boolean>;
  /**
   * due(), each delivery claimed for `seconds` (its next attempt moved that far ahead) so that another replica
   * does not send it meanwhile; a delivery another replica claimed first is left out.
   */
  claimDue(dueAt: number, limit: number, seconds: number, priority?: 0 | 1): Promise<OutboxDelivery[]>;
  /** Records the result of one delivery attempt (compare-and-set from pending: ok and failed are final).
   * `pending` with `nextAttemptAt` schedules a retry. False if the delivery is unknown or already final. */
  markRelay(
    eventId: Hex32,
    relay: string,
    status: RelayDeliveryStatus,
    error?: string | null,
    nextAttemptAt?: number,
  ): Promise<boolean>;
  /** Makes deliveries this relay had said OK to pending again, due at once, with `reason` as their last error
   * (the relay lost the events: the publisher sends them again). Only `ok` deliveries change; returns how many. */
  resend(relay: string, eventIds: readonly Hex32[], reason: string): Promise<number>;
  /** Makes this relay's pending deliveries that wait out a backoff (tried before) due at once (the relay has just connected:
   * what failed while it was away goes now, before anything newer overtakes it). Returns how many. */
  dueAgain(relay: string): Promise<number>;
}

// ---- relay cursors: where catch-up resumes ----

export interface CursorReader {
  get(relay: string): Promise<number | null>;
}

export interface CursorRepository extends CursorReader {
  set(relay: string, since: number): Promise<void>;
}

// ---- key fingerprints: which keys this database belongs to ----

export type KeyName = (typeof KEY_NAMES)[number];

/** What the database holds that only one key opens or signed, whether or not a fingerprint was recorded (a
 * database written before fingerprints were kept). */
export interface KeyUsage {
  /** Preimages sealed with the preimage key: one per funding. */
  sealedPreimages: number;
  /** The payment hash of one of them, to try a key on; null when there is none. */
  samplePaymentHash: Hex32 | null;
  /** The pubkey of one event in the outbox (signed with the agent's Nostr key); null when the outbox is empty. */
  signerPubkey: Hex32 | null;
}

export interface KeyRecordReader {
  /** The fingerprint recorded for the key, or null before its first use. Never the key itself. */
  fingerprint(name: KeyName): Promise<string | null>;
  usage(): Promise<KeyUsage>;
}

export interface KeyRecordRepository extends KeyRecordReader {
  /** Records the key's fingerprint unless one is recorded already, and returns the recorded one: the caller's,
   * or the earlier one (a different value means the caller holds another key). Never overwrites. */
  record(name: KeyName, fingerprint: string): Promise<string>;
  /** Replaces the recorded fingerprint `from` with `to` (a deliberate key rotation, `escrow-agent keys rotate`;
   * never at start): compare-and-set, false when `from` is not the recorded one. */
  replace(name: KeyName, from: string, to: string): Promise<boolean>;
}

// ---- arbitrators: who the agent may name to decide a task's dispute ----

/** Where an arbitrator's row was last set: the configuration (seeded at start) or `escrow-agent arbitrators`.
 * (The schema's CHECK constraint uses this list too.) */
export const ARBITRATOR_SOURCES = ['config', 'cli'] as const;
export type ArbitratorSource = (typeof ARBITRATOR_SOURCES)[number];

/** An arbitrator as the configuration or the command line gives it (the agent's ArbitratorEntry has this shape). */
export interface ArbitratorInput {
  /** 64 lowercase hex characters. */
  pubkey: Hex32;
  name: string;
  feeBaseMsat: bigint;
  feePpm: number;
  active: boolean;
}

export interface ArbitratorRecord extends ArbitratorInput {
  source: ArbitratorSource;
  createdAt: number;
  /** When the row last changed (an upsert that changes nothing leaves it). */
  updatedAt: number;
}

export interface ArbitratorReader {
  get(pubkey: Hex32): Promise<ArbitratorRecord | null>;
  /** Every arbitrator ever recorded, active or not, by pubkey. */
  list(): Promise<ArbitratorRecord[]>;
  /** The active ones, by pubkey. */
  active(): Promise<ArbitratorRecord[]>;
}

export interface ArbitratorRepository extends ArbitratorReader {
  /** Records the arbitrator, or replaces its name, fee, active flag and source. `created` for a new row,
   * `updated` when something changed, `unchanged` (nothing written, updated_at kept) otherwise. */
  upsert(
    entry: ArbitratorInput,
    source: ArbitratorSource,
    now: number,
  ): Promise<'created' | 'updated' | 'unchanged'>;
  /** Marks the arbitrator inactive (rows are never deleted: tasks keep the arbitrators they were posted with).
   * True when it was active; false when it was inactive already or is unknown. */
  deactivate(pubkey: Hex32, now: number): Promise<boolean>;
}

// ---- chain heads: what the agent's heads events (src/protocol/heads.ts) have named ----

/** A task's published head that no heads event has named yet at its length. */
export interface UnannouncedHead {
  taskId: Hex32;
  /** The task's latest published transition. */
  eventId: Hex32;
  /** Transitions in its chain, the head included; null when the head was recorded before lengths were kept (the
   * chain must be walked to know it). */
  length: number | null;
  /** The length the latest heads event naming the task gave it (0: none named it yet). */
  announcedLength: number;
}

/** One heads event the agent queued. */
export interface HeadsRecord {
  /** 1 for the first, then 2, 3, ...: each names the one before (`prev`). */
  seq: number;
  eventId: Hex32;
  /** Transitions published in all, as the event says. */
  count: number;
  /** The event's created_at. */
  createdAt: number;
}

export interface HeadsReader {
  /** The latest heads event queued, or null before the first. */
  latest(): Promise<HeadsRecord | null>;
  /** Over the heads no heads event has named yet: how many tasks, and by how many transitions their chains grew
   * since they were last named (heads of unknown length count as tasks only). */
  pending(): Promise<{ tasks: number; transitions: number }>;
  /** The heads no heads event has named yet, by task id, at most `limit`. */
  unannounced(limit: number): Promise<UnannouncedHead[]>;
}

export interface HeadsRepository extends HeadsReader {
  /**
   * Records a heads event queued in the same transaction, as number `seq` (the latest's + 1), and the heads it
   * names: each task's announced length (and its length, when it was unknown and the head is still `eventId`).
   * False, writing nothing, when `seq` is taken: another writer queued a heads event first.
   */
  record(
    entry: HeadsRecord & { heads: ReadonlyArray<{ taskId: Hex32; eventId: Hex32; length: number }> },
  ): Promise<boolean>;
}

// ---- settings: the agent's operating settings (maintenance mode), shared by every replica ----

export interface SettingsReader {
  /** The setting's JSON value, or null when it was never set. */
  get(key: string): Promise<unknown | null>;
}

export interface SettingsRepository extends SettingsReader {
  set(key: string, value: unknown): Promise<void>;
}

// ---- leases: work shared between replicas (one replica acts on a task at a time) ----

export interface LeaseReader {
  /** True while `holder` holds the lease with this fence and it has not expired. */
  holds(name: string, holder: string, fence: number): Promise<boolean>;
}

export interface LeaseRepository extends LeaseReader {
  /** Takes the lease for `seconds` if it is free, expired or already `holder`'s: its new fence; else null. */
  acquire(name: string, holder: string, seconds: number): Promise<number | null>;
  /** Extends the lease to `seconds` from now if `holder` still holds it with this fence (not expired); false otherwise. */
  renew(name: string, holder: string, fence: number, seconds: number): Promise<boolean>;
  /** Gives the lease up (it expires now) if `holder` still holds it with this fence; false otherwise. */
  release(name: string, holder: string, fence: number): Promise<boolean>;
}

// ---- stats: counts for the metrics and /health, by GROUP BY over indexed columns ----

export interface OperationalStats {
  /** Tasks in each state (states without a task are absent). */
  tasksByState: Record<string, number>;
  /** Hold invoices in each state (open, accepted, settled, cancelled). */
  fundingsByState: Record<string, number>;
  /** Payouts being paid (state in_flight), and when the oldest was started (null: none). */
  payoutsInFlight: number;
  oldestPayoutInFlightAt: number | null;
  /** (event, relay) deliveries not acknowledged yet, and when the oldest such event was queued (null: none). */
  outboxPending: number;
  oldestOutboxPendingAt: number | null;
}

export interface StatsReader {
  snapshot(): Promise<OperationalStats>;
}
