// The SQLite schema. It must stay column-for-column identical to ./pg.ts: the repositories are written once
// (src/store/repositories) in SQL that both databases accept, and the contract suite runs on both.
// Money is INTEGER (SQLite's 64-bit integer), read back with better-sqlite3's safe integers, never as a float.
// Timestamps are integer unix seconds supplied by the caller's clock: there are no database-side defaults.
// JSON bodies are TEXT so that the canonical bytes we hash are the bytes we get back.

import { sql } from 'drizzle-orm';
import {
  check,
  customType,
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from 'drizzle-orm/sqlite-core';
import { ARBITRATOR_SOURCES } from '../port.ts';
import {
  columnIn,
  DELIVERY_STATUSES,
  FUNDING_STATES,
  holdsListingAddress,
  INBOUND_STATUSES,
  KEY_NAMES,
  LIVE_PAYOUT_STATES,
  PAYOUT_RECIPIENTS,
  PAYOUT_STATES,
  unannouncedHead,
} from './values.ts';

/** A 64-bit integer column read as a bigint (the store opens the connection with safe integers). */
const int64 = customType<{ data: bigint; driverData: bigint }>({ dataType: () => 'integer' });

export const tasks = sqliteTable(
  'tasks',
  {
    id: text('id').primaryKey(),
    state: text('state').notNull(),
    poster: text('poster').notNull(),
    worker: text('worker'),
    amountMsat: int64('amount_msat').notNull(),
    feeMsat: int64('fee_msat').notNull(),
    paymentHash: text('payment_hash'),
    /** The listing's `d` tag: with the poster it is the listing's address (30402:<poster>:<d>). Null for tasks
     * recorded before it was kept. */
    listingD: text('listing_d'),
    version: integer('version').notNull(),
    auditHead: text('audit_head').notNull(),
    body: text('body').notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (table) => [
    // Tasks by state, oldest first (listByState, the metrics' GROUP BY state, the reconciler's open tasks): the
    // state prefix serves every `state IN (...)`; created_at orders a state's tasks without a sort (issue #15).
    index('tasks_state_created_idx').on(table.state, table.createdAt),
    // One unfinished task per listing address: an edited listing (same poster and d) is not a second task.
    uniqueIndex('tasks_open_listing_idx').on(table.poster, table.listingD).where(holdsListingAddress()),
  ],
);

export const fundings = sqliteTable(
  'fundings',
  {
    paymentHash: text('payment_hash').primaryKey(),
    taskId: text('task_id')
      .notNull()
      .references(() => tasks.id),
    preimageEnc: text('preimage_enc').notNull(),
    state: text('state').notNull(),
    amountMsat: int64('amount_msat').notNull(),
    receivedMsat: int64('received_msat').notNull(),
    bolt11: text('bolt11').notNull(),
    htlcExpiryHeight: integer('htlc_expiry_height'),
    claimDeadlineHeight: integer('claim_deadline_height'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (table) => [
    // Fundings by state, the nearest claim deadline first (the guardian's held fundings, the metrics' GROUP BY
    // state): the state prefix serves every `state IN (...)` (issue #15).
    index('fundings_state_deadline_idx').on(table.state, table.claimDeadlineHeight),
    index('fundings_task_idx').on(table.taskId),
    check('fundings_state_check', columnIn('state', FUNDING_STATES)),
  ],
);

export const payouts = sqliteTable(
  'payouts',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    taskId: text('task_id')
      .notNull()
      .references(() => tasks.id),
    recipient: text('recipient').notNull(),
    bolt11: text('bolt11').notNull(),
    paymentHash: text('payment_hash').notNull(),
    amountMsat: int64('amount_msat').notNull(),
    state: text('state').notNull(),
    routingFeeMsat: int64('routing_fee_msat').notNull(),
    attempt: integer('attempt').notNull(),
    // Set when this attempt failed: when the next one may start (unix seconds) and why this one failed. In the
    // store, not in memory, so a restart or another replica keeps the backoff.
    nextAttemptAt: integer('next_attempt_at'),
    lastError: text('last_error'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (table) => [
    // The database itself forbids paying twice: at most one live (in flight or succeeded) payout per
    // task and recipient, whatever the application code does.
    uniqueIndex('payouts_one_live_idx')
      .on(table.taskId, table.recipient)
      .where(columnIn('state', LIVE_PAYOUT_STATES)),
    uniqueIndex('payouts_attempt_idx').on(table.taskId, table.recipient, table.attempt),
    index('payouts_state_idx').on(table.state),
    check('payouts_recipient_check', columnIn('recipient', PAYOUT_RECIPIENTS)),
    check('payouts_state_check', columnIn('state', PAYOUT_STATES)),
  ],
);

export const audit = sqliteTable(
  'audit',
  {
    taskId: text('task_id')
      .notNull()
      .references(() => tasks.id),
    seq: integer('seq').notNull(),
    eventType: text('event_type').notNull(),
    body: text('body').notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (table) => [primaryKey({ name: 'audit_pk', columns: [table.taskId, table.seq] })],
);

export const inboundEvents = sqliteTable(
  'inbound_events',
  {
    id: text('id').primaryKey(),
    pubkey: text('pubkey').notNull(),
    kind: integer('kind').notNull(),
    createdAt: integer('created_at').notNull(),
    raw: text('raw').notNull(),
    receivedAt: integer('received_at').notNull(),
    status: text('status').notNull(),
    reason: text('reason'),
  },
  () => [check('inbound_events_status_check', columnIn('status', INBOUND_STATUSES))],
);

export const outbox = sqliteTable('outbox', {
  id: text('id').primaryKey(),
  event: text('event').notNull(),
  taskId: text('task_id').references(() => tasks.id),
  createdAt: integer('created_at').notNull(),
});

export const outboxRelays = sqliteTable(
  'outbox_relays',
  {
    eventId: text('event_id')
      .notNull()
      .references(() => outbox.id),
    relay: text('relay').notNull(),
    status: text('status').notNull(),
    attempts: integer('attempts').notNull(),
    lastError: text('last_error'),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    /** 0 for events of money moving (a settlement, a refund, a payout): sent before the rest; 1 otherwise. */
    priority: integer('priority').notNull().default(1),
  },
  (table) => [
    primaryKey({ name: 'outbox_relays_pk', columns: [table.eventId, table.relay] }),
    index('outbox_relays_due_idx').on(table.status, table.priority, table.nextAttemptAt),
    check('outbox_relays_status_check', columnIn('status', DELIVERY_STATUSES)),
  ],
);

/** The id of each task's latest published transition: the next one tags it as `prev` (the public hash chain). */
export const publishedHeads = sqliteTable(
  'published_heads',
  {
    taskId: text('task_id')
      .primaryKey()
      .references(() => tasks.id),
    eventId: text('event_id').notNull(),
    updatedAt: integer('updated_at').notNull(),
    /** Transitions in the task's chain, the head included; null for heads recorded before it was kept. */
    length: integer('length'),
    /** The length the agent's latest heads event gave this task (0: none named it yet). */
    announcedLength: integer('announced_length').notNull().default(0),
  },
  (table) => [
    // The heads no heads event has named yet: what the next one names (few rows, however many tasks).
    index('published_heads_unannounced_idx').on(table.taskId).where(unannouncedHead()),
  ],
);

/** The agent's heads events (src/protocol/heads.ts), in the order they were queued: each names the one before. */
export const headsEvents = sqliteTable('heads_events', {
  seq: integer('seq').primaryKey(),
  eventId: text('event_id').notNull().unique(),
  /** Transitions published in all, as the event says. */
  count: integer('count').notNull(),
  /** The event's created_at. */
  createdAt: integer('created_at').notNull(),
});

export const relayCursors = sqliteTable('relay_cursors', {
  relay: text('relay').primaryKey(),
  since: integer('since').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/** The agent's operating settings that outlive a restart and are shared by every replica: maintenance mode
 * (`escrow-agent pause`), and the row /health writes to prove the database takes writes. */
export const agentSettings = sqliteTable('agent_settings', {
  key: text('key').primaryKey(),
  /** JSON. */
  value: text('value').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/** The fingerprint of each key the database was first used with (the preimage key, the agent's Nostr key):
 * an agent started with another key, or with none, is refused before it touches anything. Never the key. */
export const keyFingerprints = sqliteTable(
  'key_fingerprints',
  {
    name: text('name').primaryKey(),
    fingerprint: text('fingerprint').notNull(),
    recordedAt: integer('recorded_at').notNull(),
  },
  () => [check('key_fingerprints_name_check', columnIn('name', KEY_NAMES))],
);

/** The arbitrators the agent may name on a task: seeded from the configuration at start and managed with
 * `escrow-agent arbitrators`. Never deleted, only deactivated: a task keeps the arbitrators it was posted with. */
export const arbitrators = sqliteTable(
  'arbitrators',
  {
    pubkey: text('pubkey').primaryKey(),
    name: text('name').notNull(),
    feeBaseMsat: int64('fee_base_msat').notNull(),
    feePpm: integer('fee_ppm').notNull(),
    /** 1 active, 0 deactivated (an integer on both databases, so the rows read back the same). */
    active: integer('active').notNull(),
    /** Who set the row last: the configuration (at start) or the command line. */
    source: text('source').notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  () => [
    check('arbitrators_active_check', sql.raw('"active" IN (0, 1)')),
    check('arbitrators_source_check', columnIn('source', ARBITRATOR_SOURCES)),
  ],
);

/**
 * Work leases between replicas on one database (src/agent/jobs/task-leases.ts): the replica that holds
 * `task:<id>` until `expires_at` is the only one acting on that task at the Lightning node; `fence` grows with every
 * new holder, and a write made under a lease checks that the fence is still the one it was given.
 */
export const leases = sqliteTable('leases', {
  name: text('name').primaryKey(),
  holder: text('holder').notNull(),
  fence: integer('fence').notNull(),
  expiresAt: integer('expires_at').notNull(),
});
