// The one place the page calls the verifier. Until verifyTask (src/protocol/verify-task.ts, issue #12) lands,
// this adapter builds the same answer from verifyTaskHistory: named checks, a timeline and the problems; when it
// lands, verifyForPage becomes `return verifyTask(evidence)` and the rest of this file goes.
import type { Resolution } from '../domain/types.ts';
import { KINDS, LABEL_NAMESPACE } from '../protocol/constants.ts';
import type { ParsedTransition } from '../protocol/parse-transition.ts';
import { parseTransition } from '../protocol/parse-transition.ts';
import type { NostrEvent } from '../protocol/schemas.ts';
import { verifyEvent } from '../protocol/verify-event.ts';
import { type HistoryReport, verifyTaskHistory } from '../protocol/verify-history.ts';

export interface TaskEvidence {
  agentPubkey: string;
  taskId: string;
  events: readonly NostrEvent[];
  announcement?: NostrEvent | null;
}

export interface VerificationCheck {
  /** A machine name (`signatures`, `chain`, `conservation`…); the page shows it in words (render.ts). */
  name: string;
  ok: boolean;
  detail: string;
}

export interface TimelineEntry {
  eventId: string;
  createdAt: number;
  /** A role (agent, poster, worker, arbitrator, someone else), or the event's pubkey; the page shows a role. */
  author: string;
  label: string;
  summary: string;
}

/** The shape of verifyTask's answer (src/protocol/verify-task.ts). */
export interface TaskVerification {
  ok: boolean;
  taskId: string;
  /** The task's state after its last transition on the chain; null when no transition was found. */
  state: string | null;
  checks: VerificationCheck[];
  timeline: TimelineEntry[];
  problems: string[];
  ignored: string[];
}

export function verifyForPage(evidence: TaskEvidence): TaskVerification {
  const agentPubkey = evidence.agentPubkey;
  const report = verifyTaskHistory({ agentPubkey, taskId: evidence.taskId, events: evidence.events });
  const problems = [...report.problems];
  const offered = report.chain.find((transition) => transition.state === 'offered');
  if (offered?.state === 'offered' && offered.details.listing.id !== evidence.taskId) {
    problems.push(`the listing embedded in the offer is ${offered.details.listing.id}, not the task`);
  }
  const checks = checksOf(report, problems, evidence);
  const last = report.chain[report.chain.length - 1];
  return {
    ok: checks.every((check) => check.ok),
    taskId: evidence.taskId,
    state: last?.state ?? null,
    checks,
    timeline: timelineOf(evidence, report),
    problems,
    ignored: report.ignored,
  };
}

// ------------------------------------------------------------------------------------------------ checks

/** verifyTask's names where its checks cover the same ground (signatures, chain, listing, settlement, conservation). */
type CheckName = 'well_formed' | 'chain' | 'listing' | 'parties' | 'settlement' | 'conservation';

/** Which check each of verifyTaskHistory's problems belongs to (its texts are in verify-history.ts). */
function checkOf(problem: string): CheckName {
  if (/^event [0-9a-f]{64}: /.test(problem)) return 'well_formed';
  if (
    /received .* but paid|funded .* but refunded|both settled and refunded|although the hold was funded/.test(
      problem,
    )
  )
    return 'conservation';
  if (/names another (poster|worker)/.test(problem)) return 'parties';
  if (/listing/.test(problem)) return 'listing';
  if (/settle|proof|payment hash|preimage/.test(problem)) return 'settlement';
  return 'chain';
}

function checksOf(report: HistoryReport, problems: string[], evidence: TaskEvidence): VerificationCheck[] {
  const failed = new Map<CheckName, string[]>();
  for (const problem of problems) {
    const name = checkOf(problem);
    failed.set(name, [...(failed.get(name) ?? []), problem]);
  }
  const chain = report.chain;
  const first = chain[0];
  const last = chain[chain.length - 1];
  const offered = chain.find((transition) => transition.state === 'offered');
  const proof = chain.find(
    (transition) => 'settlement' in transition.details && transition.details.settlement,
  );
  const totals = report.totals;
  const passed: Record<CheckName, string> = {
    well_formed: `every label of the agent about this task follows the protocol (${chain.length} transitions)`,
    chain:
      first && last
        ? `one unbroken chain of ${chain.length} transitions from ${first.state} to ${last.state}, each naming the one before, none dated earlier`
        : 'no transition',
    listing:
      offered?.state === 'offered'
        ? `the offer embeds the listing signed by the poster, whose id is the task, for ${formatMsat(offered.details.amountMsat)}`
        : 'no offer to check',
    parties: first
      ? 'every transition names the same poster, and the same worker once there is one'
      : 'nobody named',
    settlement: proof
      ? 'the preimage hashes to the offered payment hash; the settled amount and fee are the funded and offered ones'
      : 'the hold was never settled, and no money was paid out as if it had been',
    conservation: moneySummary(totals, last?.state),
  };
  const checks: VerificationCheck[] = [signatureCheck(report, evidence)];
  for (const name of Object.keys(passed) as CheckName[]) {
    const reasons = failed.get(name);
    checks.push(
      reasons ? { name, ok: false, detail: reasons.join('; ') } : { name, ok: true, detail: passed[name] },
    );
  }
  if (chain.length === 0) {
    const chainCheck = checks.find((check) => check.name === 'chain')!;
    chainCheck.ok = false;
    chainCheck.detail = `no transition of this task signed by the agent was found on these relays${
      failed.get('chain') ? ` (${failed.get('chain')!.join('; ')})` : ''
    }`;
  }
  return checks;
}

/**
 * Copies that claim the agent's key but fail verification are noise anyone can publish, so they fail nothing
 * by themselves; but a transition that names one of them as its `prev` has lost its link, and that is said here.
 */
function signatureCheck(report: HistoryReport, evidence: TaskEvidence): VerificationCheck {
  const bad = new Map<string, string>();
  for (const event of evidence.events) {
    if (event.pubkey !== evidence.agentPubkey) continue;
    const verified = verifyEvent(event);
    if (!verified.ok && !bad.has(event.id)) bad.set(event.id, verified.reason);
  }
  const verifiedIds = new Set(
    evidence.events.filter((event) => !bad.has(event.id) || verifyEvent(event).ok).map((event) => event.id),
  );
  for (const id of verifiedIds) bad.delete(id);
  const needed: string[] = [];
  for (const event of evidence.events) {
    const prev = event.tags.find((tag) => tag[0] === 'e' && tag[3] === 'prev')?.[1];
    if (prev !== undefined && bad.has(prev) && verifiedIds.has(event.id)) {
      needed.push(
        `the transition ${event.id} follows ${prev}, whose only copy fails verification: ${bad.get(prev)}`,
      );
    }
  }
  if (needed.length > 0) return { name: 'signatures', ok: false, detail: needed.join('; ') };
  const count = report.chain.length;
  return {
    name: 'signatures',
    ok: true,
    detail:
      bad.size === 0
        ? `every transition's id and signature verify under the agent's key (${count})`
        : `every transition on the chain verifies (${count}); ${bad.size} copies that claim the agent's key fail verification and were set aside`,
  };
}

function moneySummary(totals: HistoryReport['totals'], state: string | undefined): string {
  if (totals.receivedMsat === 0n) return `no money was received (the task is ${state ?? 'unknown'})`;
  const parts = [`received ${formatMsat(totals.receivedMsat)}`];
  if (totals.paidMsat > 0n) parts.push(`paid out ${formatMsat(totals.paidMsat)}`);
  if (totals.feeMsat > 0n) parts.push(`fee ${formatMsat(totals.feeMsat)}`);
  if (totals.refundedMsat > 0n) parts.push(`refunded ${formatMsat(totals.refundedMsat)}`);
  const held = totals.receivedMsat - totals.paidMsat - totals.feeMsat - totals.refundedMsat;
  if (held > 0n) parts.push(`still held ${formatMsat(held)}`);
  return parts.join(', ');
}

// ---------------------------------------------------------------------------------------------- timeline

function timelineOf(evidence: TaskEvidence, report: HistoryReport): TimelineEntry[] {
  const parsed = new Map<string, ParsedTransition>();
  for (const transition of report.chain) parsed.set(transition.eventId, transition);
  const entries: TimelineEntry[] = [];
  for (const event of evidence.events) {
    const entry = timelineEntry(event, evidence, parsed);
    if (entry) entries.push(entry);
  }
  return entries.sort((a, b) => a.createdAt - b.createdAt || a.eventId.localeCompare(b.eventId));
}

/** The listing, and the labels (the agent's and the people's) that name this task as their task. */
function timelineEntry(
  event: NostrEvent,
  evidence: TaskEvidence,
  chain: Map<string, ParsedTransition>,
): TimelineEntry | null {
  const base = { eventId: event.id, createdAt: event.created_at, author: event.pubkey };
  const aboutTask = event.tags.some(
    (tag) => tag[0] === 'e' && tag[1] === evidence.taskId && tag[3] === 'task',
  );
  if (event.kind === KINDS.listing && event.id === evidence.taskId) {
    const title = tagValue(event, 'title') ?? '(no title)';
    const amount = tagValue(event, 'amount');
    return {
      ...base,
      label: 'listing',
      summary: `${title}${amount && /^\d+$/.test(amount) ? `, ${formatMsat(BigInt(amount))}` : ''}`,
    };
  }
  if (event.kind !== KINDS.label || !aboutTask) return null;
  const label = event.tags.find((tag) => tag[0] === 'l' && tag[2] === LABEL_NAMESPACE)?.[1];
  if (label === undefined) return null;
  const transition = chain.get(event.id);
  if (transition) return { ...base, label, summary: describe(transition) };
  if (event.pubkey === evidence.agentPubkey) {
    if (label === 'rejected') return { ...base, label, summary: `refused: ${clip(event.content)}` };
    const off = parseTransition(event, { agentPubkey: evidence.agentPubkey });
    return { ...base, label, summary: off.ok ? `not on the chain: ${describe(off.transition)}` : off.reason };
  }
  return { ...base, label, summary: actionSummary(event, label) };
}

function describe(transition: ParsedTransition): string {
  switch (transition.state) {
    case 'offered':
      return `hold invoice for ${formatMsat(transition.details.amountMsat)}, fee ${formatMsat(transition.details.feeMsat)}, ${transition.details.arbitration.arbitrators.length} arbitrator(s)`;
    case 'funded':
      return `the node holds ${formatMsat(transition.details.amountMsat)}; claim window ends ${formatTime(transition.details.windowEndsAt)}`;
    case 'claimed':
      return `work window ends ${formatTime(transition.details.windowEndsAt)}`;
    case 'submitted':
      return `review window ends ${formatTime(transition.details.windowEndsAt)}`;
    case 'disputed':
      return `opened by the ${transition.details.openedBy}; ${transition.details.arbitrators.length} arbitrator(s) tagged`;
    case 'settling':
      return `reason ${transition.details.reason}, resolution ${describeResolution(transition.details.resolution)}`;
    case 'settled':
    case 'custody':
    case 'payout_pending': {
      const parts: string[] = [];
      const settlement = transition.details.settlement;
      if (settlement) {
        parts.push(
          `hold settled: ${formatMsat(settlement.amountMsat)}, fee ${formatMsat(settlement.feeMsat)}, preimage published`,
        );
      }
      if (transition.state === 'custody') {
        parts.push(
          `the agent holds ${formatMsat(transition.details.heldMsat)} (resolution ${describeResolution(transition.details.resolution)})`,
        );
      }
      if (transition.state === 'payout_pending') {
        parts.push(`waiting for an invoice from the ${transition.details.recipients.join(' and the ')}`);
      }
      return parts.join('; ') || 'the worker is to be paid';
    }
    case 'paid':
      return `paid ${transition.details.payouts
        .map((payout) => `the ${payout.recipient} ${formatMsat(payout.amountMsat)}`)
        .join(' and ')}; routing fee ${formatMsat(transition.details.routingFeeMsat)}`;
    case 'refunding':
      return `reason ${transition.details.reason}`;
    case 'refunded':
      return `returned ${formatMsat(transition.details.amountMsat)} to the poster (${transition.details.reason})`;
    case 'cancelled':
      return transition.details.paymentHash
        ? 'the invoice will never be paid'
        : 'cancelled before any invoice';
    case 'expired':
      return 'the invoice expired unpaid';
  }
}

function describeResolution(resolution: Resolution): string {
  switch (resolution.kind) {
    case 'split':
      return `split, ${resolution.workerShareBps / 100}% to the worker`;
    case 'pending_verdict':
      return 'pending a verdict';
    default:
      return `all to the ${resolution.kind}`;
  }
}

function actionSummary(event: NostrEvent, label: string): string {
  if (label === 'verdict') {
    const outcome = tagValue(event, 'outcome') ?? '?';
    const share = tagValue(event, 'share_bps');
    return `outcome ${outcome}${share ? ` (worker ${Number(share) / 100}%)` : ''}${event.content ? `: ${clip(event.content)}` : ''}`;
  }
  if (label === 'payout_invoice') return `an invoice for the ${tagValue(event, 'recipient') ?? '?'}'s payout`;
  return event.content ? clip(event.content) : label;
}

function tagValue(event: NostrEvent, name: string): string | undefined {
  return event.tags.find((tag) => tag[0] === name)?.[1];
}

function clip(text: string, max = 160): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Millisatoshis as sats with up to three decimals, e.g. 29849.4 sat. */
export function formatMsat(msat: bigint): string {
  const sats = msat / 1000n;
  const rest = msat % 1000n;
  const decimals = rest === 0n ? '' : `.${rest.toString().padStart(3, '0').replace(/0+$/, '')}`;
  return `${sats.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${decimals} sat`;
}

/** Unix seconds in UTC, e.g. 2025-06-15 15:06:40 UTC. */
export function formatTime(unix: number): string {
  return `${new Date(unix * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
