// The agent's public face: its profile (kind 0), its NIP-65 relay list and its NIP-89 announcement carrying the
// policy, queued in the outbox at start and whenever the policy changes while it runs (maintenance mode). And
// maintenance mode itself (`escrow-agent pause` / `resume`): kept in the store's settings so that it outlives a
// restart and every replica sees it; while paused the announcement says `accepting_tasks: false` and new listings
// are refused (NotAcceptingTasks), while every task already posted is served as usual.
import { RULEBOOK_VERSION } from '../domain/rulebook.ts';
import type { AgentContext } from '../engine/context.ts';
import { sign } from '../engine/sign.ts';
import { buildAnnouncement, buildProfile, buildRelayList } from '../protocol/build-announcement.ts';
import type { EscrowStore } from '../store/index.ts';
import type { RelayEntry } from './relay-list.ts';

/**
 * Bumped whenever the rules the decider applies change in a way a poster or worker would care about: the
 * rulebook's version (src/domain/rulebook.ts, docs/rules.md).
 * 2: a dispute is refused when the agent has no arbitrators (DisputesNotOffered); an edited listing for an
 * address whose task is not finished is refused (ListingInUse).
 * 3: the rulebook: per-task arbitrators, k-of-n verdicts, a 24 h maximum hold, custody with Lightning addresses.
 */
export const RULES_VERSION = RULEBOOK_VERSION;
export const AGENT_METADATA = {
  name: 'escrow agent',
  about: 'Escrows paid Nostr tasks with Lightning hold invoices',
};

/** Where the created_at of the agent's latest profile, relay list and announcement is kept (agent_settings). */
const ANNOUNCED_AT = 'announced_at';

/**
 * The three are replaceable: relays keep the version with the latest created_at and, on a tie, the lower id (any
 * of the two). So each new version is dated after the last one this agent (any process of it, any replica) queued,
 * even within the same second or after a restart: created_at = max(now, last + 1), the last kept in the store and
 * read in the same transaction that queues the new version.
 */
async function queueReplaceable(
  ctx: AgentContext,
  templates: (createdAt: number) => Parameters<typeof sign>[1][],
): Promise<string[]> {
  return ctx.store.transaction(async (tx) => {
    const last = await tx.settings.get(ANNOUNCED_AT);
    const createdAt = Math.max(ctx.now(), (typeof last === 'number' ? last : 0) + 1);
    const events = templates(createdAt).map((template) => sign(ctx, template));
    for (const event of events) await tx.outbox.enqueue(event, ctx.writeRelays(), null);
    await tx.settings.set(ANNOUNCED_AT, createdAt);
    return events.map((event) => event.id);
  });
}

/** Kind 0, the NIP-65 relay list and the NIP-89 announcement carrying the policy, into the outbox; their ids. */
export function announce(ctx: AgentContext, relays: RelayEntry[]): Promise<string[]> {
  return queueReplaceable(ctx, (createdAt) => [
    buildProfile(AGENT_METADATA, createdAt),
    buildRelayList(
      relays.map((relay) => ({ url: relay.url, read: relay.read, write: relay.write })),
      createdAt,
    ),
    announcementTemplate(ctx, createdAt),
  ]);
}

/** The announcement alone, queued again after the policy changed (maintenance mode). */
export async function announcePolicy(ctx: AgentContext): Promise<string> {
  const [id] = await queueReplaceable(ctx, (createdAt) => [announcementTemplate(ctx, createdAt)]);
  return id as string;
}

function announcementTemplate(ctx: AgentContext, createdAt: number) {
  return buildAnnouncement(ctx.policy, { rulesVersion: RULES_VERSION, createdAt, metadata: AGENT_METADATA });
}

// ---- maintenance mode ----

export interface MaintenanceState {
  paused: boolean;
  /** What the operator said when pausing (shown in /health and the pause command's output; never announced). */
  reason: string | null;
  /** Unix seconds when the mode last changed (null: never paused). */
  since: number | null;
}

const MAINTENANCE_KEY = 'maintenance';
export const NOT_PAUSED: MaintenanceState = { paused: false, reason: null, since: null };

export async function readMaintenance(store: EscrowStore): Promise<MaintenanceState> {
  return maintenanceOf(await store.read((reader) => reader.settings.get(MAINTENANCE_KEY)));
}

/** Writes the mode (the store is the truth for every replica); unchanged (nothing written) when it already was so. */
export async function writeMaintenance(
  store: EscrowStore,
  paused: boolean,
  reason: string | null,
  now: number,
): Promise<{ changed: boolean; state: MaintenanceState }> {
  return store.transaction(async (tx) => {
    const current = maintenanceOf(await tx.settings.get(MAINTENANCE_KEY));
    if (current.paused === paused) return { changed: false, state: current };
    const state: MaintenanceState = { paused, reason: paused ? reason : null, since: now };
    await tx.settings.set(MAINTENANCE_KEY, state);
    return { changed: true, state };
  });
}

function maintenanceOf(value: unknown): MaintenanceState {
  if (value === null || typeof value !== 'object') return NOT_PAUSED;
  const stored = value as Partial<MaintenanceState>;
  return {
    paused: stored.paused === true,
    reason: typeof stored.reason === 'string' ? stored.reason : null,
    since: typeof stored.since === 'number' ? stored.since : null,
  };
}
