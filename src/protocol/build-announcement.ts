// The agent's identity events: kind 0 profile, NIP-65 relay list, NIP-89 handler announcement carrying the
// policy (docs/protocol.md, "Agent identity and policy"). Clients read the policy before posting a task.
import type { EventTemplate } from 'nostr-tools/pure';
import type { z } from 'zod';
import { RULEBOOK_SHA256 } from '../domain/rulebook.ts';
import { DEFAULT_RATE_LIMIT, type Policy } from '../domain/types.ts';
import { announcementContentSchema, announcementSchema, type policyJsonSchema } from './agent-schemas.ts';
import { KINDS, LABEL_NAMESPACE, PROTOCOL_VERSION } from './constants.ts';
import { describeIssue, type NostrEvent, parseLabelled } from './schemas.ts';
import { parseStrictJson } from './strict-json.ts';

/** The `d` tag of the announcement: one per agent key. */
export const ANNOUNCEMENT_D = 'nostr-escrow';

export interface AgentMetadata {
  name: string;
  about?: string;
  picture?: string;
}

export function buildAnnouncement(
  policy: Policy,
  options: { rulesVersion: number; createdAt: number; metadata?: AgentMetadata },
): EventTemplate {
  const content = { ...options.metadata, policy: policyToJson(policy, options.rulesVersion) };
  return {
    kind: KINDS.handler,
    created_at: options.createdAt,
    tags: [
      ['d', ANNOUNCEMENT_D],
      ['k', String(KINDS.listing)],
      ['k', String(KINDS.label)],
    ],
    content: JSON.stringify(content),
  };
}

export interface Announcement {
  policy: Policy;
  /** sha256 of the rulebook the agent runs (docs/rules.md). */
  rulesSha256: string;
  rulesVersion: number;
  protocolVersion: number;
  metadata: Partial<AgentMetadata>;
}

export function parseAnnouncement(
  event: NostrEvent,
): { ok: true; announcement: Announcement } | { ok: false; reason: string } {
  if (event.kind !== KINDS.handler) return { ok: false, reason: `invalid: kind ${event.kind} is not 31990` };
  const tags = parseLabelled(announcementSchema, event);
  if (!tags.ok) return { ok: false, reason: `invalid: ${tags.text}` };
  const json = parseStrictJson(event.content);
  if (!json.ok) return { ok: false, reason: `invalid: content: ${json.reason}` };
  const content = announcementContentSchema.safeParse(json.value, { reportInput: true });
  if (!content.success)
    return { ok: false, reason: `invalid: content.${describeIssue(content.error.issues[0]!, 'event')}` };
  const { policy, ...metadata } = content.data;
  return {
    ok: true,
    announcement: {
      policy: policyFromJson(policy),
      rulesVersion: policy.rules_version,
      rulesSha256: policy.rules_sha256,
      protocolVersion: policy.protocol_version,
      metadata,
    },
  };
}

type PolicyJson = z.input<typeof policyJsonSchema>;

export function policyToJson(policy: Policy, rulesVersion: number): PolicyJson {
  return {
    protocol_version: PROTOCOL_VERSION,
    label_namespace: LABEL_NAMESPACE,
    rules_version: rulesVersion,
    fee_base_msat: policy.fee.baseMsat.toString(),
    fee_ppm: policy.fee.ppm,
    min_amount_msat: policy.minAmountMsat.toString(),
    max_amount_msat: policy.maxAmountMsat.toString(),
    claim_window_seconds: policy.windows.claimSeconds,
    work_window_seconds: policy.windows.workSeconds,
    review_window_seconds: policy.windows.reviewSeconds,
    dispute_window_seconds: policy.windows.disputeSeconds,
    safety_margin_blocks: policy.safetyMarginBlocks,
    backend_auto_cancel_blocks: policy.backendAutoCancelBlocks,
    max_final_cltv_delta: policy.maxFinalCltvDelta,
    invoice_expiry_seconds: policy.invoiceExpirySeconds,
    arbitrators: [...policy.arbitrators],
    ...(policy.arbitratorProfiles
      ? {
          arbitrator_profiles: policy.arbitratorProfiles.map((profile) => ({
            pubkey: profile.pubkey,
            name: profile.name,
            fee_base_msat: profile.feeBaseMsat.toString(),
            fee_ppm: profile.feePpm,
          })),
        }
      : {}),
    max_hold_seconds: policy.maxHoldSeconds,
    max_statement_length: policy.maxStatementLength,
    custody_max_seconds: policy.custodyMaxSeconds,
    rules_sha256: RULEBOOK_SHA256,
    ...(policy.lightningNodeId ? { lightning_node: policy.lightningNodeId } : {}),
    dispute_deadline_rule: policy.disputeDeadlineRule,
    max_payout_attempts: policy.maxPayoutAttempts,
    max_title_length: policy.maxTitleLength,
    disputes: policy.arbitrators.length > 0,
    rate_per_minute: (policy.rateLimit ?? DEFAULT_RATE_LIMIT).perMinute,
    rate_burst: (policy.rateLimit ?? DEFAULT_RATE_LIMIT).burst,
    ...(policy.acceptingTasks === false ? { accepting_tasks: false } : {}),
  };
}

function policyFromJson(json: z.output<typeof policyJsonSchema>): Policy {
  return {
    minAmountMsat: json.min_amount_msat,
    maxAmountMsat: json.max_amount_msat,
    fee: { baseMsat: json.fee_base_msat, ppm: json.fee_ppm },
    windows: {
      claimSeconds: json.claim_window_seconds,
      workSeconds: json.work_window_seconds,
      reviewSeconds: json.review_window_seconds,
      disputeSeconds: json.dispute_window_seconds,
    },
    safetyMarginBlocks: json.safety_margin_blocks,
    backendAutoCancelBlocks: json.backend_auto_cancel_blocks,
    maxFinalCltvDelta: json.max_final_cltv_delta,
    invoiceExpirySeconds: json.invoice_expiry_seconds,
    arbitrators: json.arbitrators,
    ...(json.arbitrator_profiles
      ? {
          arbitratorProfiles: json.arbitrator_profiles.map((profile) => ({
            pubkey: profile.pubkey,
            name: profile.name,
            feeBaseMsat: profile.fee_base_msat,
            feePpm: profile.fee_ppm,
          })),
        }
      : {}),
    disputeDeadlineRule: json.dispute_deadline_rule,
    maxHoldSeconds: json.max_hold_seconds,
    maxStatementLength: json.max_statement_length,
    custodyMaxSeconds: json.custody_max_seconds,
    ...(json.lightning_node ? { lightningNodeId: json.lightning_node } : {}),
    maxPayoutAttempts: json.max_payout_attempts,
    maxTitleLength: json.max_title_length,
    rateLimit: { perMinute: json.rate_per_minute, burst: json.rate_burst },
    ...(json.accepting_tasks === false ? { acceptingTasks: false } : {}),
  };
}

export function buildProfile(
  metadata: AgentMetadata & { website?: string; nip05?: string },
  createdAt: number,
): EventTemplate {
  return {
    kind: KINDS.profile,
    created_at: createdAt,
    tags: [],
    content: JSON.stringify({ ...metadata, bot: true }),
  };
}

export interface RelayListEntry {
  url: string;
  read: boolean;
  write: boolean;
}

/** NIP-65: where the agent reads actions (read) and publishes its log (write). */
export function buildRelayList(relays: readonly RelayListEntry[], createdAt: number): EventTemplate {
  const tags = relays
    .filter((relay) => relay.read || relay.write)
    .map((relay) =>
      relay.read && relay.write ? ['r', relay.url] : ['r', relay.url, relay.read ? 'read' : 'write'],
    );
  return { kind: KINDS.relayList, created_at: createdAt, tags, content: '' };
}
