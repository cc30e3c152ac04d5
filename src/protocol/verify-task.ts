// The full check of one task from relay events alone (docs/protocol.md §10, and beyond it): the agent's chain
// (verify-history.ts), each step allowed by the state machine (§5.2, §5.3), the rulebook's decisions taken no
// earlier than the windows and heights the agent published, every action the agent acted on present and
// signed by someone allowed, the hold invoice, the settlement proof, the payouts and the fee, and every msat
// accounted for. Pure and browser-safe: the CLI (`escrow-agent verify`) and the verification page call it
// with whatever the relays returned, in any order, duplicates and noise included.
import { sameResolution } from '../domain/decide.ts';
import { feeFor, formatMsat, splitShares } from '../domain/money.ts';
import {
  type Policy,
  type RefundReason,
  type Resolution,
  type SettleReason,
  type TaskState,
  TERMINAL_STATES,
} from '../domain/types.ts';
import { type DecodedInvoice, tryDecodeBolt11 } from '../ldk/bolt11/index.ts';
import { parseAnnouncement } from './build-announcement.ts';
import { sha256Hex } from './bytes.ts';
import { type ActionName, KINDS, LIMITS, REJECTED_LABEL, type TransitionState } from './constants.ts';
import { type ParsedAction, parseAction } from './parse-action.ts';
import { parseTaskListing } from './parse-task-listing.ts';
import {
  isTransitionState,
  type ParsedTransition,
  parseTransition,
  parseTransitionContent,
} from './parse-transition.ts';
import { readLabel } from './read-label.ts';
import { isActionName, type NostrEvent } from './schemas.ts';
import type { TransitionOf, VerdictRef } from './transition-types.ts';
import { verifyEvent } from './verify-event.ts';
import { checkMoney, checkParties, followChain, type TaskTotals } from './verify-history.ts';

// ------------------------------------------------------------------------------------------------ the API

export interface TaskEvidence {
  agentPubkey: string;
  taskId: string;
  /**
   * Everything fetched about the task, from any relays, in any order, duplicates allowed: the agent's
   * transitions and rejections, the listing (kind 30402, id = task id), the people's actions (kind 1985 labels:
   * claim, submit, approve, cancel, dispute, verdict, payout_invoice), private notices excluded.
   */
  events: readonly NostrEvent[];
  /** The agent's NIP-89 announcement (kind 31990) whose policy applies, when known (fee formula, node id,
   * windows, arbitrators). */
  announcement?: NostrEvent | null;
}

export const CHECK_NAMES = [
  'signatures',
  'chain',
  'states',
  'rules',
  'listing',
  'inputs',
  'offer_invoice',
  'settlement',
  'payouts',
  'fee',
  'conservation',
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export interface Check {
  name: CheckName;
  ok: boolean;
  /** Why it failed, or what was checked, in words a user understands. */
  detail: string;
}

export interface TimelineEntry {
  eventId: string;
  createdAt: number;
  author: 'agent' | 'poster' | 'worker' | 'arbitrator' | 'someone else';
  /** The label ("offered", "claim", "rejected"), or "listing". */
  label: string;
  /** One line. */
  summary: string;
}

export interface TaskVerification {
  /** Every check passed. */
  ok: boolean;
  taskId: string;
  /** The last transition's state; null when no transition of the agent was found. */
  state: string | null;
  /** One per check, in CHECK_NAMES order. */
  checks: Check[];
  /** One entry per distinct event about the task, by created_at, then chain order. */
  timeline: TimelineEntry[];
  /** Every failure, prefixed with its check's name; empty when ok. */
  problems: string[];
  /**
   * Events set aside, with why: copies whose id or signature does not verify (anyone can publish those),
   * look-alike transitions signed by other keys, events about other tasks or of kinds that are not part of
   * a task's record. They fail the task only when the record needs them (see the signatures check).
   */
  ignored: string[];
}

/**
 * Which transition may follow which (docs/protocol.md §5.2 and §5.3; the decider in src/domain is the
 * authority, this is its public shape). `from: null` is the first transition. A step matches when every
 * condition it states holds:
 * - `reasons`: the reason `to` gives (settling, refunding, refunded);
 * - `resolutions`: the resolution `to` gives (settling, custody);
 * - `fromReasons`: the reason of the refunding being finished;
 * - `fromResolutions`: the resolution in force before `to` (what settling or custody said, or the verdicts);
 * - `verdicts`: `to` cites at least one agreeing verdict (`e:verdict`).
 */
export interface TaskStep {
  from: TransitionState | null;
  to: TransitionState;
  reasons?: readonly (SettleReason | RefundReason)[];
  resolutions?: readonly Resolution['kind'][];
  fromReasons?: readonly RefundReason[];
  fromResolutions?: readonly Resolution['kind'][];
  verdicts?: true;
}

const PAYOUT_RESOLUTIONS = ['poster', 'split'] as const satisfies readonly Resolution['kind'][];

export const TASK_STEPS: readonly TaskStep[] = [
  { from: null, to: 'offered' },
  { from: null, to: 'cancelled' }, // the poster cancelled before any invoice existed
  { from: 'offered', to: 'funded' },
  { from: 'offered', to: 'refunding', reasons: ['invoice_expired', 'poster_cancelled', 'node_cancelled'] },
  { from: 'funded', to: 'claimed' },
  {
    from: 'funded',
    to: 'refunding',
    reasons: ['poster_cancelled', 'claim_timeout', 'hold_deadline', 'amount_mismatch', 'node_cancelled'],
  },
  { from: 'claimed', to: 'submitted' },
  { from: 'claimed', to: 'disputed' },
  { from: 'claimed', to: 'refunding', reasons: ['work_timeout', 'hold_deadline', 'node_cancelled'] },
  {
    from: 'submitted',
    to: 'settling',
    reasons: ['approved', 'review_timeout', 'hold_deadline'],
    resolutions: ['worker'],
  },
  { from: 'submitted', to: 'disputed' },
  { from: 'submitted', to: 'refunding', reasons: ['node_cancelled'] },
  { from: 'disputed', to: 'settling', reasons: ['verdict'], resolutions: ['worker', 'split'] },
  { from: 'disputed', to: 'settling', reasons: ['hold_deadline'], resolutions: ['pending_verdict'] },
  { from: 'disputed', to: 'refunding', reasons: ['verdict', 'hold_deadline', 'node_cancelled'] },
  // The hold settles: the worker's payout (settled), money held for others (custody), or an invoice missing.
  { from: 'settling', to: 'settled', fromResolutions: ['worker'] },
  { from: 'settling', to: 'custody', resolutions: ['split', 'pending_verdict', 'poster'] },
  { from: 'settling', to: 'payout_pending' },
  { from: 'settling', to: 'refunding', reasons: ['node_cancelled'] }, // the node cancelled before it settled
  // k verdicts decide money held in custody pending a verdict.
  {
    from: 'custody',
    to: 'custody',
    fromResolutions: ['pending_verdict'],
    resolutions: PAYOUT_RESOLUTIONS,
    verdicts: true,
  },
  { from: 'custody', to: 'settled', fromResolutions: ['pending_verdict'], verdicts: true },
  { from: 'custody', to: 'payout_pending' },
  { from: 'settled', to: 'payout_pending' },
  { from: 'payout_pending', to: 'settled', fromResolutions: ['worker'] },
  { from: 'payout_pending', to: 'custody', fromResolutions: PAYOUT_RESOLUTIONS },
  { from: 'settled', to: 'paid' },
  { from: 'custody', to: 'paid', fromResolutions: PAYOUT_RESOLUTIONS },
  { from: 'refunding', to: 'refunded' },
  { from: 'refunding', to: 'cancelled', fromReasons: ['poster_cancelled'] },
  { from: 'refunding', to: 'expired', fromReasons: ['invoice_expired', 'node_cancelled'] },
];

/** Blocks a node may add to the final CLTV delta it was asked for (LDK adds 3). */
export const NODE_CLTV_MARGIN_BLOCKS = 3;

export function verifyTask(evidence: TaskEvidence): TaskVerification {
  const task = readEvidence(evidence);
  const found = newFindings();
  checkSignatures(task, found);
  checkChain(task, found);
  checkStates(task, found);
  checkRules(task, found);
  checkListing(task, found);
  checkInputs(task, found);
  checkOfferInvoice(task, found);
  checkSettlement(task, found);
  checkPayouts(task, found);
  checkFee(task, found);
  checkConservation(task, found);
  const checks = CHECK_NAMES.map((name): Check => {
    const problems = unique(found.problems[name]);
    return problems.length > 0
      ? { name, ok: false, detail: problems.join('; ') }
      : { name, ok: true, detail: found.notes[name].join('; ') || 'nothing to check' };
  });
  return {
    ok: checks.every((check) => check.ok),
    taskId: evidence.taskId,
    state: task.chain[task.chain.length - 1]?.state ?? null,
    checks,
    timeline: timelineOf(task),
    problems: CHECK_NAMES.flatMap((name) =>
      unique(found.problems[name]).map((problem) => `${name}: ${problem}`),
    ),
    ignored: task.ignored,
  };
}

// ------------------------------------------------------------------------------------- reading the evidence

type Transition = ParsedTransition;
type TransitionAt<S extends TransitionState> = TransitionOf<S> & { eventId: string; createdAt: number };

interface Action {
  event: NostrEvent;
  /** The label, when it is an action name. */
  name: ActionName;
  parsed: ParsedAction | null;
  /** Why parseAction refused it, when it did. */
  refusal: string | null;
}

interface GivenInvoice {
  eventId: string;
  by: string;
  recipient: 'worker' | 'poster';
  decoded: DecodedInvoice | null;
  error: string | null;
}

interface TaskRecord {
  agent: string;
  taskId: string;
  /** Verified events, one per id. */
  valid: Map<string, NostrEvent>;
  /** Ids seen only on copies that failed verification, with why. */
  forged: Map<string, string>;
  ignored: string[];
  /** The agent's labels of this task that are transitions (parsed, some leniently: see `proofFaults`). */
  transitions: Transition[];
  /** The agent's labels of this task that did not parse as transitions: id -> reason. */
  malformed: Map<string, string>;
  /** Transition labels of this task signed by another key. */
  lookAlikes: NostrEvent[];
  /** Transitions read without a settlement proof or a payout proof that did not hash (see readTransition). */
  proofFaults: { eventId: string; check: 'settlement' | 'payouts'; text: string }[];
  chain: Transition[];
  chainProblems: string[];
  moneyProblems: string[];
  totals: TaskTotals;
  /** Verified actions about this task, by id. */
  actions: Map<string, Action>;
  rejections: NostrEvent[];
  /** Verified listings (kind 30402): the task's, and other versions of its address. */
  listings: NostrEvent[];
  offered: TransitionAt<'offered'> | null;
  funded: TransitionAt<'funded'> | null;
  poster: string | null;
  worker: string | null;
  arbitrators: readonly string[];
  /** The resolution in force after each transition of the chain (null where none is known). */
  resolutions: (Resolution | null)[];
  givenInvoices: GivenInvoice[];
  /** Lightning addresses given for payouts (the agent fetched invoices from them). */
  givenAddresses: { eventId: string; by: string; recipient: 'worker' | 'poster'; address: string }[];
  announcement: { policy: Policy; rulesSha256: string; rulesVersion: number } | null;
  announcementProblem: string | null;
}

function readEvidence(evidence: TaskEvidence): TaskRecord {
  const agent = evidence.agentPubkey;
  const taskId = evidence.taskId;
  const valid = new Map<string, NostrEvent>();
  const broken: { event: NostrEvent; reason: string }[] = [];
  for (const event of evidence.events) {
    if (valid.has(event.id)) continue;
    const verified = safeVerify(event);
    if (verified === null) valid.set(event.id, event);
    else broken.push({ event, reason: verified });
  }
  const ignored: string[] = [];
  const forged = new Map<string, string>();
  for (const { event, reason } of broken) {
    if (valid.has(event.id)) {
      ignored.push(`a copy of event ${event.id} that does not verify (${reason}); the genuine event is here`);
    } else if (!forged.has(event.id)) {
      forged.set(event.id, reason);
      ignored.push(
        `event ${event.id} (${describeKind(event)}, claims ${whoseKey(event.pubkey, agent)}): ${reason}`,
      );
    }
  }

  const record: TaskRecord = {
    agent,
    taskId,
    valid,
    forged,
    ignored,
    transitions: [],
    malformed: new Map(),
    lookAlikes: [],
    proofFaults: [],
    chain: [],
    chainProblems: [],
    moneyProblems: [],
    totals: { receivedMsat: 0n, paidMsat: 0n, feeMsat: 0n, refundedMsat: 0n, routingFeeMsat: 0n },
    actions: new Map(),
    rejections: [],
    listings: [],
    offered: null,
    funded: null,
    poster: null,
    worker: null,
    arbitrators: [],
    resolutions: [],
    givenInvoices: [],
    givenAddresses: [],
    announcement: null,
    announcementProblem: null,
  };

  const unsorted: NostrEvent[] = [];
  for (const event of valid.values()) {
    if (event.kind === KINDS.listing) {
      record.listings.push(event);
      continue;
    }
    if (event.kind !== KINDS.label) {
      ignored.push(`event ${event.id} (${describeKind(event)}): not part of a task's record, not checked`);
      continue;
    }
    const label = readLabel(event);
    if (!label.ok) {
      ignored.push(`event ${event.id} (kind 1985): ${label.text}`);
      continue;
    }
    if (!tagsTask(event, taskId)) {
      unsorted.push(event);
      continue;
    }
    const name = label.label;
    if (isTransitionState(name)) {
      if (event.pubkey === agent) readTransition(record, event);
      else {
        record.lookAlikes.push(event);
        ignored.push(
          `event ${event.id}: a "${name}" label signed by ${event.pubkey}, not by the agent: not a transition`,
        );
      }
    } else if (name === REJECTED_LABEL) {
      if (event.pubkey === agent) record.rejections.push(event);
      else ignored.push(`event ${event.id}: a rejection signed by ${event.pubkey}, not by the agent`);
    } else if (isActionName(name)) {
      const parsed = parseAction(event, { agentPubkey: agent });
      record.actions.set(event.id, {
        event,
        name,
        parsed: parsed.ok ? parsed.action : null,
        refusal: parsed.ok ? null : parsed.reason,
      });
    } else {
      ignored.push(`event ${event.id}: a "${name}" label, not part of a task's record, not checked`);
    }
  }
  // A rejection may name only the event it answers: it belongs to the task when that event does.
  for (const event of unsorted) {
    const reply = event.tags.find((tag) => tag[0] === 'e' && tag[3] === 'reply')?.[1];
    const label = readLabel(event);
    if (
      label.ok &&
      label.label === REJECTED_LABEL &&
      event.pubkey === agent &&
      reply !== undefined &&
      (record.actions.has(reply) || reply === taskId)
    ) {
      record.rejections.push(event);
    } else {
      ignored.push(`event ${event.id}: not about task ${taskId}`);
    }
  }

  record.chain = followChain(record.transitions, record.chainProblems);
  checkParties(record.chain, record.chainProblems);
  record.totals = checkMoney(record.chain, record.moneyProblems);
  record.offered = first(record.chain, 'offered');
  record.funded = first(record.chain, 'funded');
  record.poster = record.chain[0]?.poster ?? null;
  record.worker = record.chain.findLast((transition) => transition.worker !== null)?.worker ?? null;
  record.arbitrators = record.offered?.details.arbitration.arbitrators ?? [];
  record.resolutions = resolutionsOf(record);
  readGivenInvoices(record);
  readAnnouncement(record, evidence.announcement ?? null);
  return record;
}

function safeVerify(event: NostrEvent): string | null {
  try {
    const verified = verifyEvent(event);
    return verified.ok ? null : verified.reason;
  } catch (error) {
    return `not a well-formed event (${error instanceof Error ? error.message : String(error)})`;
  }
}

function tagsTask(event: NostrEvent, taskId: string): boolean {
  return event.tags.some((tag) => tag[0] === 'e' && tag[1] === taskId && tag[3] === 'task');
}

const SETTLEMENT_TAG_NAMES = ['payment_hash', 'preimage', 'amount', 'fee', 'height'];
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Parses one of the agent's transitions. A settlement proof or a payout proof whose preimage does not hash
 * makes the parser refuse the whole transition; such a transition is still the agent's signed word about the
 * chain, so it is read without the broken proof (the settlement and payouts checks report the proof), and the
 * chain, the states and the rest stay checkable.
 */
function readTransition(record: TaskRecord, event: NostrEvent): void {
  const parsed = parseTransition(event, { agentPubkey: record.agent });
  if (parsed.ok) {
    record.transitions.push(parsed.transition);
    return;
  }
  const label = readLabel(event);
  const state = label.ok ? label.label : 'transition';
  const faults: TaskRecord['proofFaults'] = [];
  let tags = event.tags;
  const hash = tagValueOf(event, 'payment_hash');
  const preimage = tagValueOf(event, 'preimage');
  if (
    (state === 'settled' || state === 'custody' || state === 'payout_pending') &&
    hash !== undefined &&
    preimage !== undefined &&
    HEX64.test(preimage) &&
    sha256Hex(preimage) !== hash
  ) {
    faults.push({
      eventId: event.id,
      check: 'settlement',
      text: `${state} ${event.id} publishes preimage ${preimage}, whose sha256 is ${sha256Hex(preimage)}, not the payment hash ${hash}: it proves nothing was settled`,
    });
    tags = tags.filter((tag) => !SETTLEMENT_TAG_NAMES.includes(tag[0]!));
  }
  if (state === 'paid') {
    tags = tags.map((tag) => {
      if (tag[0] !== 'payout' || !HEX64.test(tag[4] ?? '') || sha256Hex(tag[4]!) === tag[3]) return tag;
      faults.push({
        eventId: event.id,
        check: 'payouts',
        text: `paid ${event.id}: the ${tag[1]}'s proof preimage ${tag[4]} does not hash to its payment hash ${tag[3]}: it proves no payment`,
      });
      return [tag[0], tag[1]!, tag[2]!, sha256Hex(tag[4]!), tag[4]!, ...tag.slice(5)];
    });
  }
  const again = faults.length > 0 ? parseTransitionContent({ ...event, tags }) : null;
  if (again?.ok) {
    record.transitions.push({ ...again.transition, eventId: event.id, createdAt: event.created_at });
    record.proofFaults.push(...faults);
    return;
  }
  record.malformed.set(event.id, `${state} ${event.id} is malformed (${parsed.reason})`);
}

function readGivenInvoices(record: TaskRecord): void {
  for (const action of record.actions.values()) {
    const command = action.parsed?.command;
    if (!command) continue;
    const give = (recipient: 'worker' | 'poster', bolt11: string) => {
      const decoded = tryDecodeBolt11(bolt11);
      record.givenInvoices.push({
        eventId: action.event.id,
        by: action.event.pubkey,
        recipient,
        decoded: decoded.ok ? decoded.invoice : null,
        error: decoded.ok ? null : decoded.error.message,
      });
    };
    if (command.type === 'submit' && command.payoutInvoice) give('worker', command.payoutInvoice);
    if (command.type === 'payout_invoice') give(command.recipient, command.bolt11);
    if (command.type === 'payout_address') {
      record.givenAddresses.push({
        eventId: action.event.id,
        by: action.event.pubkey,
        recipient: command.recipient,
        address: command.address,
      });
    }
  }
}

function readAnnouncement(record: TaskRecord, event: NostrEvent | null): void {
  if (!event) return;
  const verified = safeVerify(event);
  if (verified !== null) {
    record.announcementProblem = `the announcement ${event.id} does not verify (${verified})`;
    return;
  }
  if (event.pubkey !== record.agent) {
    record.announcementProblem = `the announcement ${event.id} is signed by ${event.pubkey}, not by the agent`;
    return;
  }
  const parsed = parseAnnouncement(event);
  if (!parsed.ok) {
    record.announcementProblem = `the announcement ${event.id} is malformed (${parsed.reason})`;
    return;
  }
  const { policy, rulesSha256, rulesVersion } = parsed.announcement;
  record.announcement = { policy, rulesSha256, rulesVersion };
}

/**
 * The resolution in force after each transition: what settling and custody say; `worker` once settled after
 * verdicts; for a payout_pending that verdicts caused, what its agreeing verdicts say.
 */
function resolutionsOf(record: TaskRecord): (Resolution | null)[] {
  let current: Resolution | null = null;
  return record.chain.map((transition) => {
    switch (transition.state) {
      case 'settling':
      case 'custody':
        current = transition.details.resolution;
        break;
      case 'settled':
        if (current === null || transition.details.verdicts.some((ref) => ref.agrees))
          current = { kind: 'worker' };
        break;
      case 'payout_pending': {
        const agreeing = transition.details.verdicts.find((ref) => ref.agrees);
        const verdict = agreeing ? verdictResolution(record, agreeing.eventId) : null;
        if (verdict) current = verdict;
        break;
      }
      default:
        break;
    }
    return current;
  });
}

function verdictResolution(record: TaskRecord, eventId: string): Resolution | null {
  const command = record.actions.get(eventId)?.parsed?.command;
  if (command?.type !== 'verdict') return null;
  return command.outcome === 'split'
    ? { kind: 'split', workerShareBps: command.workerShareBps ?? 0 }
    : { kind: command.outcome };
}

// ---------------------------------------------------------------------------------------------- findings

interface Findings {
  problems: Record<CheckName, string[]>;
  notes: Record<CheckName, string[]>;
}

function newFindings(): Findings {
  const empty = () =>
    Object.fromEntries(CHECK_NAMES.map((name) => [name, [] as string[]])) as Record<CheckName, string[]>;
  return { problems: empty(), notes: empty() };
}

/** Where each of verify-history's money problems belongs. */
const MONEY_PROBLEM_CHECKS: readonly (readonly [RegExp, CheckName])[] = [
  [/both settled and refunded/, 'conservation'],
  [/reuses the escrow payment hash/, 'payouts'],
  [/^the embedded listing/, 'signatures'],
  [/listing amount/, 'listing'],
  [
    /settlement proof|settled payment hash|settled fee|settled amount|proves the hold was settled/,
    'settlement',
  ],
];

function moneyProblemsFor(record: TaskRecord, check: CheckName): string[] {
  return record.moneyProblems.filter(
    (problem) =>
      (MONEY_PROBLEM_CHECKS.find(([pattern]) => pattern.test(problem))?.[1] ?? 'conservation') === check,
  );
}

// -------------------------------------------------------------------------------------------- signatures

function checkSignatures(record: TaskRecord, found: Findings): void {
  const problems = found.problems.signatures;
  // An id the record needs (a prev, a cause, a cited verdict) that exists only on copies that do not verify.
  for (const [id, citedAs] of referencedIds(record)) {
    const reason = record.forged.get(id);
    if (reason !== undefined && !record.valid.has(id)) {
      problems.push(`event ${id}, ${citedAs}, is on the relays only with a bad id or signature (${reason})`);
    }
  }
  // Transitions of this task signed by another key do not count; when the agent's own chain has a hole,
  // say so: they cannot stand in for what is missing.
  const missing = missingPrevs(record);
  if ((missing.length > 0 || record.chain.length === 0) && record.lookAlikes.length > 0) {
    for (const event of record.lookAlikes) {
      const label = readLabel(event);
      problems.push(
        `${label.ok ? label.label : 'label'} ${event.id} is signed by ${event.pubkey}, not by the agent ${record.agent}: it cannot stand in for the agent's ${missing.length > 0 ? `missing transition ${missing.join(', ')}` : 'transitions'}`,
      );
    }
  }
  problems.push(...moneyProblemsFor(record, 'signatures'));
  if (record.announcementProblem) problems.push(record.announcementProblem);
  found.notes.signatures.push(
    `${record.valid.size} event${record.valid.size === 1 ? '' : 's'} verified (id and BIP-340 signature)` +
      (record.offered ? ', the embedded listing too' : '') +
      (record.forged.size > 0
        ? `; ${record.forged.size} that do not verify set aside (nothing needs them)`
        : ''),
  );
}

/** Every id a transition refers to, with how: prevs, causes, cited verdicts. */
function referencedIds(record: TaskRecord): Map<string, string> {
  const ids = new Map<string, string>();
  for (const transition of record.transitions) {
    const at = `${transition.state} ${transition.eventId}`;
    if (transition.prev) ids.set(transition.prev, `the prev of ${at}`);
    if (transition.cause) ids.set(transition.cause, `the action ${at} acted on`);
    for (const ref of verdictsOf(transition)) ids.set(ref.eventId, `a verdict ${at} cites`);
  }
  return ids;
}

function missingPrevs(record: TaskRecord): string[] {
  const ids = new Set(record.transitions.map((transition) => transition.eventId));
  return unique(
    record.transitions.flatMap((transition) =>
      transition.prev !== null && !ids.has(transition.prev) ? [transition.prev] : [],
    ),
  );
}

// ------------------------------------------------------------------------------------------------- chain

function checkChain(record: TaskRecord, found: Findings): void {
  const problems = found.problems.chain;
  problems.push(...record.malformed.values());
  const ids = new Set(record.transitions.map((transition) => transition.eventId));
  for (const transition of record.transitions) {
    const prev = transition.prev;
    if (prev === null || ids.has(prev)) continue;
    const why = record.malformed.has(prev)
      ? 'which is malformed'
      : record.valid.has(prev)
        ? 'which is not a transition of this task signed by the agent'
        : record.forged.has(prev)
          ? 'which is missing (only a copy that does not verify is on the relays)'
          : 'which is missing';
    problems.push(`${transition.state} ${transition.eventId} follows ${prev}, ${why}`);
  }
  problems.push(...record.chainProblems);
  if (record.chain.length > 0) {
    found.notes.chain.push(
      `${record.chain.length} transition${record.chain.length === 1 ? '' : 's'} in one chain from ${record.chain[0]!.state} to ${record.chain[record.chain.length - 1]!.state}, each linked to the one before, never dated earlier`,
    );
  }
}

// ------------------------------------------------------------------------------------------------ states

function reasonOf(transition: Transition): SettleReason | RefundReason | null {
  if (
    transition.state === 'settling' ||
    transition.state === 'refunding' ||
    transition.state === 'refunded'
  ) {
    return transition.details.reason;
  }
  return null;
}

function resolutionOf(transition: Transition): Resolution | null {
  return transition.state === 'settling' || transition.state === 'custody'
    ? transition.details.resolution
    : null;
}

function verdictsOf(transition: Transition): VerdictRef[] {
  switch (transition.state) {
    case 'settling':
    case 'settled':
    case 'custody':
    case 'payout_pending':
    case 'refunding':
      return transition.details.verdicts;
    default:
      return [];
  }
}

function stepMatches(
  step: TaskStep,
  from: Transition | null,
  to: Transition,
  before: Resolution | null,
): boolean {
  if (step.from !== (from?.state ?? null) || step.to !== to.state) return false;
  const reason = reasonOf(to);
  if (step.reasons && (reason === null || !step.reasons.includes(reason))) return false;
  const resolution = resolutionOf(to);
  if (step.resolutions && (resolution === null || !step.resolutions.includes(resolution.kind))) return false;
  if (step.fromReasons) {
    const fromReason = from?.state === 'refunding' ? from.details.reason : null;
    if (fromReason === null || !step.fromReasons.includes(fromReason)) return false;
  }
  // An unknown resolution (verdicts that are not on the relays) is not held against the step.
  if (step.fromResolutions && before !== null && !step.fromResolutions.includes(before.kind)) return false;
  if (step.verdicts && !verdictsOf(to).some((ref) => ref.agrees)) return false;
  return true;
}

function describeStep(from: Transition | null, to: Transition, before: Resolution | null): string {
  const steps = TASK_STEPS.filter((step) => step.from === (from?.state ?? null) && step.to === to.state);
  const reason = reasonOf(to);
  const resolution = resolutionOf(to);
  let target: string = to.state;
  if (steps.some((step) => step.reasons) && reason) target += ` (reason ${reason})`;
  if (steps.some((step) => step.resolutions) && resolution)
    target += ` with resolution ${describeResolution(resolution)}`;
  if (steps.some((step) => step.verdicts) && !verdictsOf(to).some((ref) => ref.agrees)) {
    target += ' citing no agreeing verdict';
  }
  let source: string = from?.state ?? 'the listing (as the first transition)';
  if (steps.some((step) => step.fromReasons) && from?.state === 'refunding')
    source += ` (reason ${from.details.reason})`;
  if (steps.some((step) => step.fromResolutions) && before)
    source += ` with resolution ${describeResolution(before)}`;
  return `${target} cannot follow ${source} (transition ${to.eventId})`;
}

function checkStates(record: TaskRecord, found: Findings): void {
  const problems = found.problems.states;
  const { chain } = record;
  if (chain.length === 0) {
    problems.push(
      record.transitions.length === 0
        ? 'no transition of this task signed by the agent'
        : 'no chain of transitions from a first one: nothing to follow',
    );
    return;
  }
  for (const [index, transition] of chain.entries()) {
    const from = chain[index - 1] ?? null;
    const before = index > 0 ? (record.resolutions[index - 1] ?? null) : null;
    if (!TASK_STEPS.some((step) => stepMatches(step, from, transition, before))) {
      problems.push(describeStep(from, transition, before));
    }
    if (
      transition.state === 'refunded' &&
      from?.state === 'refunding' &&
      from.details.reason !== transition.details.reason
    ) {
      problems.push(
        `refunded ${transition.eventId} gives reason ${transition.details.reason}, but the refunding before it said ${from.details.reason}`,
      );
    }
  }
  found.notes.states.push(`${chain.map((transition) => transition.state).join(' → ')}: every step allowed`);
}

// ------------------------------------------------------------------------------------------------- rules

const SKEW = LIMITS.futureSkewSeconds;
/** The window a timeout reason waits for, and the transition that published its end. */
const WINDOW_OF: Partial<Record<SettleReason | RefundReason, { state: TaskState; window: string }>> = {
  claim_timeout: { state: 'funded', window: 'claim' },
  work_timeout: { state: 'claimed', window: 'work' },
  review_timeout: { state: 'submitted', window: 'review' },
};

function checkRules(record: TaskRecord, found: Findings): void {
  const { chain, offered } = record;
  if (offered) {
    const { rulesSha256, rulesVersion, threshold, arbitrators, deadlineRule } = offered.details.arbitration;
    const announced = record.announcement;
    found.notes.rules.push(
      `the offer commits to rulebook v${rulesVersion} (sha256 ${rulesSha256})` +
        (announced && announced.rulesSha256 !== rulesSha256
          ? ` (the announcement now runs v${announced.rulesVersion}; the task keeps the rules it was offered under)`
          : ''),
      arbitrators.length > 0
        ? `${threshold} of ${arbitrators.length} named arbitrator${arbitrators.length === 1 ? '' : 's'} decide a dispute; deadline rule ${deadlineRule}`
        : 'no arbitrators: the task takes no disputes',
    );
  } else if (chain.length > 0 && chain[0]!.state !== 'cancelled') {
    found.problems.rules.push('no offer: nothing says which rulebook the task runs under');
  }
  for (const [index, transition] of chain.entries()) {
    const reason = reasonOf(transition);
    if (transition.state === 'settling' || transition.state === 'refunding') {
      if (reason === 'invoice_expired' || (reason && WINDOW_OF[reason])) checkWindowEnd(record, index, found);
      if (reason === 'hold_deadline') {
        checkHoldDeadline(record, index, found);
        checkDeadlineRule(record, index, found);
      }
      if (reason === 'verdict') checkThreshold(record, transition, found);
    }
    // k verdicts deciding money held in custody pending a verdict.
    const before = chain[index - 1];
    if (
      before?.state === 'custody' &&
      record.resolutions[index - 1]?.kind === 'pending_verdict' &&
      verdictsOf(transition).length > 0
    ) {
      checkThreshold(record, transition, found);
    }
  }
  checkFundedAmount(record, found);
}

/** A timeout is taken no earlier than the end of the window it waited for (the agent's clock may be off). */
function checkWindowEnd(record: TaskRecord, index: number, found: Findings): void {
  const transition = record.chain[index]!;
  const reason = reasonOf(transition)!;
  const at = `${transition.state} ${transition.eventId} (${reason})`;
  let end: number | null = null;
  let what: string;
  const window = WINDOW_OF[reason];
  if (window) {
    const opener = record.chain.slice(0, index).findLast((earlier) => earlier.state === window.state);
    end = opener && 'windowEndsAt' in opener.details ? opener.details.windowEndsAt : null;
    what = `the ${window.window} window ended`;
    if (end === null) {
      found.problems.rules.push(
        `${at}: no ${window.state} transition published when the ${window.window} window ends`,
      );
      return;
    }
  } else {
    end = record.offered?.details.expiresAt ?? null;
    what = 'the hold invoice expired';
    if (end === null) {
      found.problems.rules.push(`${at}: no offer published when the hold invoice expires`);
      return;
    }
  }
  if (transition.createdAt < end - SKEW) {
    found.problems.rules.push(
      `${at} is dated ${isoTime(transition.createdAt)}, ${end - transition.createdAt} s before ${what} (${isoTime(end)}); the agent's clock may be off by ${SKEW} s at most`,
    );
  } else found.notes.rules.push(`${reason} taken no earlier than ${what}`);
}

/** A dispute the hold deadline ends follows the deadline rule the offer committed to. */
function checkDeadlineRule(record: TaskRecord, index: number, found: Findings): void {
  const transition = record.chain[index]!;
  if (record.chain[index - 1]?.state !== 'disputed') return;
  const rule = record.offered?.details.arbitration.deadlineRule;
  const took = transition.state === 'settling' ? 'custody' : 'refund';
  if (rule !== took) {
    found.problems.rules.push(
      `${transition.state} ${transition.eventId} ends a dispute at the hold deadline by ${took}, but the offer's dispute deadline rule is ${rule}`,
    );
  }
}

/** A hold for another sum than the offered one is refunded at once (amount_mismatch), and only such a hold. */
function checkFundedAmount(record: TaskRecord, found: Findings): void {
  const { funded, offered, chain } = record;
  if (!funded || !offered) return;
  const next = chain[chain.indexOf(funded) + 1];
  const refunds = next?.state === 'refunding' && next.details.reason === 'amount_mismatch';
  if (funded.details.amountMsat !== offered.details.amountMsat && next && !refunds) {
    found.problems.rules.push(
      `the node holds ${funded.details.amountMsat} msat, not the offered ${offered.details.amountMsat} msat, yet ${next.state} ${next.eventId} does not refund it (amount_mismatch)`,
    );
  }
  if (funded.details.amountMsat === offered.details.amountMsat && refunds) {
    found.problems.rules.push(
      `refunding ${next.eventId} refunds for amount_mismatch, but the node holds exactly the offered ${offered.details.amountMsat} msat`,
    );
  }
}

function checkHoldDeadline(record: TaskRecord, index: number, found: Findings): void {
  const transition = record.chain[index]!;
  const at = `${transition.state} ${transition.eventId} (hold_deadline)`;
  const funded = record.funded;
  if (!funded) {
    found.problems.rules.push(`${at}: no funded transition published the hold deadline`);
    return;
  }
  const { holdDeadlineHeight, claimDeadlineHeight } = funded.details;
  const later = record.chain.slice(index + 1);
  const height =
    transition.state === 'refunding'
      ? later.find((next) => next.state === 'refunded')?.details.height
      : settlementOf(later.find((next) => settlementOf(next) !== null) ?? null)?.height;
  if (height === undefined) {
    found.notes.rules.push(`${at}: the node's answer is not published yet`);
    return;
  }
  if (height < holdDeadlineHeight) {
    found.problems.rules.push(
      `${at} took effect at block ${height}, before the hold deadline ${holdDeadlineHeight}`,
    );
  } else if (height >= claimDeadlineHeight) {
    found.problems.rules.push(
      `${at} took effect at block ${height}, not before the node's claim deadline ${claimDeadlineHeight}: the node would have given the HTLC back by itself`,
    );
  } else {
    found.notes.rules.push(
      `hold_deadline acted at block ${height}, between the hold deadline ${holdDeadlineHeight} and the claim deadline ${claimDeadlineHeight}`,
    );
  }
}

function checkThreshold(record: TaskRecord, transition: Transition, found: Findings): void {
  const arbitration = record.offered?.details.arbitration;
  const threshold = arbitration?.threshold ?? 0;
  const named = new Set(arbitration?.arbitrators ?? []);
  const agreeing = new Set(
    verdictsOf(transition)
      .filter((ref) => ref.agrees && named.has(ref.by))
      .map((ref) => ref.by),
  );
  const at = `${transition.state} ${transition.eventId}`;
  if (threshold === 0) {
    found.problems.rules.push(`${at} acts on verdicts, but the offer named no arbitrators`);
  } else if (agreeing.size < threshold) {
    found.problems.rules.push(
      `${at} acts on ${agreeing.size} agreeing verdict${agreeing.size === 1 ? '' : 's'} of arbitrators named in the offer; the offer requires ${threshold}`,
    );
  } else {
    found.notes.rules.push(
      `${at} acts on ${agreeing.size} agreeing verdict${agreeing.size === 1 ? '' : 's'} (threshold ${threshold})`,
    );
  }
}

// ----------------------------------------------------------------------------------------------- listing

function checkListing(record: TaskRecord, found: Findings): void {
  const problems = found.problems.listing;
  const notes = found.notes.listing;
  const { offered, taskId } = record;
  const escrowed = offered?.details.listing ?? null;
  const address = escrowed ? addressOf(escrowed) : null;
  const same = record.listings.filter((listing) => listing.id === taskId);
  const versions = record.listings.filter(
    (listing) => listing.id !== taskId && address !== null && addressOf(listing) === address,
  );
  for (const listing of record.listings) {
    if (listing.id !== taskId && !versions.includes(listing)) {
      record.ignored.push(`event ${listing.id}: a listing, not this task's`);
    }
  }
  if (!offered || !escrowed || address === null) {
    if (record.chain[0]?.state === 'cancelled')
      notes.push('cancelled before any offer: no listing was escrowed');
    else problems.push('no offer: nothing shows which listing was escrowed');
    return;
  }
  problems.push(...moneyProblemsFor(record, 'listing'));
  if (escrowed.id !== taskId)
    problems.push(`the offer embeds listing ${escrowed.id}, not the task ${taskId}`);
  const offeredAddress = tagValueOf(record.valid.get(offered.eventId) ?? { tags: [] }, 'a');
  if (offeredAddress !== address) {
    problems.push(`the offer names the address ${offeredAddress}, not the embedded listing's ${address}`);
  }
  const parsed = parseTaskListing(escrowed, { agentPubkey: record.agent });
  if (!parsed.ok) problems.push(`the embedded listing is not a valid task for this agent (${parsed.reason})`);
  else if (parsed.listing.command.amountMsat === offered.details.amountMsat) {
    notes.push(
      `the offer embeds listing ${escrowed.id} (the task id), addressed to this agent, for ${formatMsat(offered.details.amountMsat)}, as offered`,
    );
  }
  for (const listing of same) {
    if (!sameEvent(listing, escrowed)) {
      problems.push(`the listing ${listing.id} on the relays differs from the one the offer embeds`);
    }
  }
  if (same.length > 0) notes.push('the listing on the relays is the one escrowed');
  if (versions.length > 0) {
    const ids = versions.map((listing) => listing.id).join(', ');
    if (same.length === 0) {
      problems.push(
        `the listing on the relays is not the one escrowed: ${ids} at ${address} is another version (an edit); the task is ${taskId}, as the offer embeds it`,
      );
    } else notes.push(`another version of the listing (${ids}) is not this task`);
  }
}

function addressOf(listing: NostrEvent): string {
  return `${KINDS.listing}:${listing.pubkey}:${tagValueOf(listing, 'd') ?? ''}`;
}

function sameEvent(a: NostrEvent, b: NostrEvent): boolean {
  return (
    a.id === b.id &&
    a.pubkey === b.pubkey &&
    a.created_at === b.created_at &&
    a.kind === b.kind &&
    a.content === b.content &&
    JSON.stringify(a.tags) === JSON.stringify(b.tags)
  );
}

// ------------------------------------------------------------------------------------------------ inputs

interface Expected {
  names: readonly ActionName[];
  /** Who may have signed it, in words, and their keys. */
  who: string;
  authors: readonly string[];
  required: boolean;
}

function expectedCause(record: TaskRecord, transition: Transition): Expected | null {
  const poster = record.poster ? [record.poster] : [];
  const worker = transition.worker ?? record.worker;
  const workers = worker ? [worker] : [];
  const arbitrators = record.arbitrators;
  const byVerdict: Expected = {
    names: ['verdict'],
    who: 'an arbitrator named in the offer',
    authors: arbitrators,
    required: false,
  };
  switch (transition.state) {
    case 'claimed':
      return { names: ['claim'], who: 'the worker', authors: workers, required: true };
    case 'submitted':
      return { names: ['submit'], who: 'the worker', authors: workers, required: true };
    case 'disputed':
      return {
        names: ['dispute'],
        who: `the ${transition.details.openedBy} (opened_by)`,
        authors: transition.details.openedBy === 'poster' ? poster : workers,
        required: true,
      };
    case 'settling':
      if (transition.details.reason === 'approved') {
        return { names: ['approve'], who: 'the poster', authors: poster, required: true };
      }
      if (transition.details.reason === 'verdict') return byVerdict;
      return null;
    case 'refunding':
      if (transition.details.reason === 'poster_cancelled') {
        return { names: ['cancel'], who: 'the poster', authors: poster, required: true };
      }
      if (transition.details.reason === 'verdict') return byVerdict;
      return null;
    case 'cancelled':
      return { names: ['cancel'], who: 'the poster', authors: poster, required: false };
    case 'settled':
    case 'custody':
    case 'payout_pending':
      return {
        names: ['payout_invoice', 'verdict'],
        who: 'the recipient of a payout, or an arbitrator named in the offer',
        authors: [...poster, ...workers, ...arbitrators],
        required: false,
      };
    default:
      return null;
  }
}

function checkInputs(record: TaskRecord, found: Findings): void {
  let checked = 0;
  for (const transition of record.chain) {
    checked += checkCause(record, transition, found.problems.inputs);
    checked += checkVerdictRefs(record, transition, found.problems.inputs);
  }
  checked += checkPayoutInvoices(record, found);
  found.notes.inputs.push(
    checked > 0
      ? `the ${checked} input${checked === 1 ? '' : 's'} the agent acted on (actions, cited verdicts, payout invoices) are present and signed by whom they must be`
      : 'the agent acted on no action',
  );
}

/** The action a transition cites, or why it cannot be had. */
function lookUpAction(record: TaskRecord, id: string, at: string, problems: string[]): Action | null {
  const action = record.actions.get(id);
  if (action) return action;
  const why = record.forged.has(id)
    ? 'which is missing (only a copy that does not verify is on the relays)'
    : record.valid.has(id)
      ? 'which is not an action on this task'
      : 'which is missing';
  problems.push(`${at} acted on ${id}, ${why}`);
  return null;
}

function checkDated(action: Action, transition: Transition, at: string, problems: string[]): void {
  if (action.event.created_at > transition.createdAt + SKEW) {
    problems.push(`${at} acted on ${action.name} ${action.event.id}, which is dated after it`);
  }
}

/** The action a transition acted on (`e:cause`) is there, of the right kind, signed by who may send it. */
function checkCause(record: TaskRecord, transition: Transition, problems: string[]): number {
  const at = `${transition.state} ${transition.eventId}`;
  if (transition.state === 'claimed' && transition.worker === transition.poster) {
    problems.push(`${at}: the poster ${transition.poster} claimed their own task`);
  }
  const expected = expectedCause(record, transition);
  if (transition.cause === null) {
    if (expected?.required) {
      problems.push(
        `${at} names no cause: it must act on a ${expected.names.join(' or ')} by ${expected.who}`,
      );
    }
    return 0;
  }
  const action = lookUpAction(record, transition.cause, at, problems);
  if (!action) return 0;
  const { name, event } = action;
  if (action.refusal !== null) {
    problems.push(`${at} acted on ${name} ${event.id}, which is not a valid action (${action.refusal})`);
  }
  if (expected && !expected.names.includes(name)) {
    problems.push(`${at} acted on ${event.id}, a ${name}, not a ${expected.names.join(' or ')}`);
  } else if (expected && !expected.authors.includes(event.pubkey)) {
    problems.push(`${at} acted on the ${name} ${event.id} signed by ${event.pubkey}, not by ${expected.who}`);
  } else if (!expected && ![record.poster, record.worker, ...record.arbitrators].includes(event.pubkey)) {
    problems.push(
      `${at} acted on the ${name} ${event.id} signed by ${event.pubkey}, who has no part in the task`,
    );
  }
  checkDated(action, transition, at, problems);
  return 1;
}

/** Each `e:verdict` / `e:dissent` is a verdict on this task by the arbitrator it names, one the offer names,
 * and agrees or disagrees with the resolution taken as cited. */
function checkVerdictRefs(record: TaskRecord, transition: Transition, problems: string[]): number {
  const at = `${transition.state} ${transition.eventId}`;
  let checked = 0;
  for (const ref of verdictsOf(transition)) {
    const action = lookUpAction(record, ref.eventId, `${at} (citing a verdict)`, problems);
    if (!action) continue;
    checked++;
    const cited = `${at} cites ${ref.eventId} as ${ref.agrees ? 'an agreeing verdict' : 'a dissent'}`;
    if (action.name !== 'verdict') {
      problems.push(`${cited}, but it is a ${action.name}`);
      continue;
    }
    if (action.event.pubkey !== ref.by) {
      problems.push(`${cited} by the arbitrator ${ref.by}, but it is signed by ${action.event.pubkey}`);
    }
    if (!record.arbitrators.includes(action.event.pubkey)) {
      problems.push(
        `${cited}, but its author ${action.event.pubkey} is not an arbitrator named in the offer`,
      );
    }
    checkDated(action, transition, at, problems);
    const says = verdictResolution(record, ref.eventId);
    if (!says) {
      problems.push(`${cited}, but it is not a valid verdict (${action.refusal ?? 'unreadable'})`);
      continue;
    }
    const taken = takenResolution(record, transition);
    if (taken && sameResolution(says, taken) !== ref.agrees) {
      problems.push(
        `${cited}, but it says ${describeResolution(says)} and the transition takes ${describeResolution(taken)}`,
      );
    }
  }
  return checked;
}

/** Every payout went to an invoice its recipient gave: the worker's submit, or a payout_invoice of theirs. */
function checkPayoutInvoices(record: TaskRecord, found: Findings): number {
  const paid = first(record.chain, 'paid');
  const paidEvent = paid ? record.valid.get(paid.eventId) : undefined;
  if (!paid || !paidEvent) return 0;
  const payouts = rawPayouts(paidEvent);
  for (const payout of payouts) {
    const recipientKey = payout.recipient === 'worker' ? record.worker : record.poster;
    const withHash = record.givenInvoices.filter(
      (given) => given.decoded?.paymentHash === payout.paymentHash,
    );
    if (withHash.some((given) => given.recipient === payout.recipient && given.by === recipientKey)) continue;
    const payoutOf = `the ${payout.recipient}'s payout in paid ${paid.eventId}`;
    const other = withHash[0];
    if (other) {
      found.problems.inputs.push(
        `${payoutOf} went to the invoice of ${other.eventId}, given by ${other.by} for the ${other.recipient}, not by the ${payout.recipient}`,
      );
    } else if (
      record.givenAddresses.some((given) => given.recipient === payout.recipient && given.by === recipientKey)
    ) {
      found.notes.inputs.push(
        `the ${payout.recipient} gave a Lightning address: the invoice the agent fetched from it is not on the relays`,
      );
    } else {
      found.problems.inputs.push(
        `${payoutOf} went to payment hash ${payout.paymentHash}; no invoice with that hash from the ${payout.recipient} is among the events`,
      );
    }
  }
  return payouts.length;
}

/** The resolution a transition takes, to judge which cited verdicts agree with it. */
function takenResolution(record: TaskRecord, transition: Transition): Resolution | null {
  switch (transition.state) {
    case 'settling':
    case 'custody':
      return transition.details.resolution;
    case 'settled':
      return { kind: 'worker' };
    case 'refunding':
      return { kind: 'poster' };
    case 'payout_pending':
      return record.resolutions[record.chain.indexOf(transition)] ?? null;
    default:
      return null;
  }
}

// ----------------------------------------------------------------------------------------- offer invoice

function checkOfferInvoice(record: TaskRecord, found: Findings): void {
  const problems = found.problems.offer_invoice;
  const { offered } = record;
  if (!offered) {
    found.notes.offer_invoice.push('no offer: no hold invoice');
    return;
  }
  const decoded = tryDecodeBolt11(offered.details.bolt11);
  if (!decoded.ok) {
    problems.push(`the hold invoice does not decode (${decoded.error.message})`);
    return;
  }
  const invoice = decoded.invoice;
  if (invoice.amountMsat !== offered.details.amountMsat) {
    problems.push(
      invoice.amountMsat === null
        ? `the hold invoice names no amount; the offer says ${offered.details.amountMsat} msat`
        : `the hold invoice is for ${invoice.amountMsat} msat; the offer says ${offered.details.amountMsat} msat`,
    );
  }
  if (invoice.paymentHash !== offered.details.paymentHash) {
    problems.push(
      `the hold invoice's payment hash is ${invoice.paymentHash}, not the offered ${offered.details.paymentHash}`,
    );
  }
  // The `cltv` tag is the delta the agent asked its node for; LDK writes up to 3 blocks more into the invoice
  // (docs/design.md, "Deadlines"), never less. A smaller one would let the HTLC expire before the windows end.
  const extra = invoice.minFinalCltvExpiryDelta - offered.details.finalCltvDelta;
  if (extra < 0 || extra > NODE_CLTV_MARGIN_BLOCKS) {
    problems.push(
      `the hold invoice asks a final CLTV of ${invoice.minFinalCltvExpiryDelta} blocks; the offer's cltv tag says ${offered.details.finalCltvDelta} (the node may add at most ${NODE_CLTV_MARGIN_BLOCKS})`,
    );
  }
  const node = record.announcement?.policy.lightningNodeId;
  if (node !== undefined && invoice.payeeNodeId !== node) {
    problems.push(
      `the hold invoice is signed by node ${invoice.payeeNodeId}, not by the agent's announced node ${node}`,
    );
  }
  found.notes.offer_invoice.push(
    `the hold invoice decodes and its signature verifies (node ${invoice.payeeNodeId}` +
      (node !== undefined
        ? ', the announced lightning_node)'
        : record.announcement
          ? '; the announcement names no lightning_node)'
          : '; payee not checked: no announcement)') +
      `, for ${invoice.amountMsat} msat, payment hash ${invoice.paymentHash}, final CLTV ${invoice.minFinalCltvExpiryDelta}: as offered`,
  );
}

// -------------------------------------------------------------------------------------------- settlement

function settlementOf(transition: Transition | null) {
  if (!transition) return null;
  if (
    transition.state === 'settled' ||
    transition.state === 'custody' ||
    transition.state === 'payout_pending'
  ) {
    return transition.details.settlement;
  }
  return null;
}

function checkSettlement(record: TaskRecord, found: Findings): void {
  const problems = found.problems.settlement;
  const faulty = new Set<string>();
  for (const fault of record.proofFaults) {
    if (fault.check !== 'settlement') continue;
    problems.push(fault.text);
    faulty.add(fault.eventId);
  }
  for (const [index, transition] of record.chain.entries()) {
    if (transition.state !== 'settling') continue;
    const next = record.chain[index + 1];
    if (!next || next.state === 'refunding' || faulty.has(next.eventId) || settlementOf(next) !== null)
      continue;
    problems.push(`${next.state} ${next.eventId} follows settling but carries no settlement proof`);
  }
  problems.push(...moneyProblemsFor(record, 'settlement'));
  const proof = record.chain.find((transition) => settlementOf(transition) !== null);
  const settlement = settlementOf(proof ?? null);
  if (proof && settlement) {
    found.notes.settlement.push(
      `sha256(preimage) = payment hash ${settlement.paymentHash}, the offered one, on ${proof.state} ${proof.eventId} right after settling: ${settlement.amountMsat} msat settled at block ${settlement.height}, fee ${settlement.feeMsat} msat`,
    );
  } else found.notes.settlement.push('the hold was not settled: no preimage to check');
}

// ----------------------------------------------------------------------------------------------- payouts

interface RawPayout {
  recipient: 'worker' | 'poster';
  amountMsat: bigint;
  paymentHash: string;
  preimage: string;
}

/** The payout tags as signed (the parsed transition may have been read around a proof that does not hash). */
function rawPayouts(event: NostrEvent): RawPayout[] {
  return event.tags
    .filter(
      (tag) =>
        tag[0] === 'payout' &&
        (tag[1] === 'worker' || tag[1] === 'poster') &&
        /^(0|[1-9][0-9]*)$/.test(tag[2] ?? ''),
    )
    .map((tag) => ({
      recipient: tag[1] as 'worker' | 'poster',
      amountMsat: BigInt(tag[2]!),
      paymentHash: tag[3] ?? '',
      preimage: tag[4] ?? '',
    }));
}

function checkPayouts(record: TaskRecord, found: Findings): void {
  const problems = found.problems.payouts;
  for (const fault of record.proofFaults) if (fault.check === 'payouts') problems.push(fault.text);
  problems.push(...moneyProblemsFor(record, 'payouts'));
  const paid = first(record.chain, 'paid');
  const paidEvent = paid ? record.valid.get(paid.eventId) : undefined;
  if (!paid || !paidEvent) {
    found.notes.payouts.push('nothing was paid out');
    return;
  }
  const payouts = rawPayouts(paidEvent);
  const resolution = record.resolutions[record.chain.indexOf(paid) - 1] ?? null;
  const settlement = settlementOf(
    record.chain.find((transition) => settlementOf(transition) !== null) ?? null,
  );
  const amount = settlement?.amountMsat ?? record.offered?.details.amountMsat ?? null;
  const fee = settlement?.feeMsat ?? record.offered?.details.feeMsat ?? null;
  const recipientKey = (recipient: 'worker' | 'poster') =>
    recipient === 'worker' ? record.worker : record.poster;

  let invoiced = 0;
  for (const payout of payouts) {
    const invoice = record.givenInvoices.find(
      (given) =>
        given.decoded?.paymentHash === payout.paymentHash &&
        given.recipient === payout.recipient &&
        given.by === recipientKey(payout.recipient),
    );
    if (!invoice?.decoded) continue;
    invoiced++;
    if (invoice.decoded.amountMsat !== payout.amountMsat) {
      const asks =
        invoice.decoded.amountMsat === null ? 'names no amount' : `is for ${invoice.decoded.amountMsat} msat`;
      problems.push(
        `the ${payout.recipient} was paid ${payout.amountMsat} msat to the invoice of ${invoice.eventId}, which ${asks}`,
      );
    }
  }
  if (amount === null || fee === null) {
    problems.push('the payouts cannot be checked: no settlement and no offer say what was received');
    return;
  }
  if (resolution === null || resolution.kind === 'pending_verdict') {
    problems.push(
      `paid ${paid.eventId} pays out while no resolution says who is owed what (${resolution ? 'pending a verdict' : 'none published'})`,
    );
    return;
  }
  const net = amount - fee;
  const owed = owedBy(resolution, net);
  for (const payout of payouts) {
    const due = owed.get(payout.recipient);
    if (due === undefined) {
      problems.push(
        `the ${payout.recipient} was paid ${payout.amountMsat} msat but is owed nothing under resolution ${describeResolution(resolution)}`,
      );
    } else if (payout.amountMsat > due.amount) {
      problems.push(
        `the ${payout.recipient} was paid ${payout.amountMsat} msat, more than the ${due.amount} msat owed (${due.why})`,
      );
    } else if (payout.amountMsat < due.amount) {
      problems.push(
        `the ${payout.recipient} was paid ${payout.amountMsat} msat, less than the ${due.amount} msat owed (${due.why})`,
      );
    }
  }
  for (const [recipient, due] of owed) {
    if (!payouts.some((payout) => payout.recipient === recipient)) {
      problems.push(
        `paid ${paid.eventId} pays nothing to the ${recipient}, who is owed ${due.amount} msat (${due.why})`,
      );
    }
  }
  found.notes.payouts.push(
    `${payouts.map((payout) => `the ${payout.recipient} got ${payout.amountMsat} msat`).join(', ')} under resolution ${describeResolution(resolution)} of ${net} msat (amount − fee), each proved by a preimage that hashes to its payment hash` +
      (invoiced === payouts.length
        ? ', each to an invoice its recipient gave for exactly that amount'
        : `; ${invoiced} of ${payouts.length} to an invoice on the relays (the others through a Lightning address)`),
  );
}

function owedBy(
  resolution: Resolution,
  net: bigint,
): Map<'worker' | 'poster', { amount: bigint; why: string }> {
  const owed = new Map<'worker' | 'poster', { amount: bigint; why: string }>();
  if (resolution.kind === 'worker') owed.set('worker', { amount: net, why: 'amount − fee' });
  if (resolution.kind === 'poster') owed.set('poster', { amount: net, why: 'amount − fee' });
  if (resolution.kind === 'split') {
    const shares = splitShares(net, resolution.workerShareBps);
    const bps = resolution.workerShareBps;
    owed.set('worker', { amount: shares.worker, why: `floor((amount − fee) × ${bps} / 10000)` });
    owed.set('poster', { amount: shares.poster, why: `amount − fee − the worker's ${shares.worker} msat` });
  }
  for (const [recipient, due] of owed) if (due.amount === 0n) owed.delete(recipient);
  return owed;
}

// --------------------------------------------------------------------------------------------------- fee

function checkFee(record: TaskRecord, found: Findings): void {
  const { offered, announcement } = record;
  if (record.announcementProblem) {
    found.problems.fee.push(`not checked: ${record.announcementProblem}`);
    return;
  }
  if (!announcement) {
    found.notes.fee.push('not checked: no announcement');
    return;
  }
  if (!offered) {
    found.notes.fee.push('no offer: no fee');
    return;
  }
  const { baseMsat, ppm } = announcement.policy.fee;
  const amount = offered.details.amountMsat;
  const expected = feeFor(amount, announcement.policy.fee);
  const formula = `${baseMsat} + floor(${amount} × ${ppm} / 10^6)`;
  if (offered.details.feeMsat !== expected) {
    found.problems.fee.push(
      `the offer's fee is ${offered.details.feeMsat} msat; the announced policy makes it ${expected} msat (${formula})`,
    );
  } else found.notes.fee.push(`fee ${expected} msat = ${formula}, as announced`);
}

// ------------------------------------------------------------------------------------------ conservation

function checkConservation(record: TaskRecord, found: Findings): void {
  const problems = found.problems.conservation;
  problems.push(...moneyProblemsFor(record, 'conservation'));
  const { receivedMsat: received, paidMsat: paid, feeMsat: fee, refundedMsat: refunded } = record.totals;
  const last = record.chain[record.chain.length - 1];
  const held = received - paid - fee - refunded;
  const out = `paid ${paid} + fee ${fee} + refunded ${refunded}`;
  const sum = `received ${received} msat, ${out}`;
  if (last && TERMINAL_STATES.has(last.state)) {
    if (held === 0n) found.notes.conservation.push(`${sum}: every msat accounted for`);
    else if (problems.length === 0) {
      problems.push(
        `the task ended ${last.state} having received ${received} msat but ${out} = ${paid + fee + refunded} msat`,
      );
    }
  } else if (held < 0n) {
    problems.push(`${sum}: more went out than came in`);
  } else {
    found.notes.conservation.push(`${sum}, ${held} msat still held (the task is not finished)`);
  }
  const custody = record.chain.filter((transition) => transition.state === 'custody');
  for (const transition of custody) {
    if (transition.details.heldMsat > received - fee) {
      problems.push(
        `custody ${transition.eventId} says it holds ${transition.details.heldMsat} msat, more than the ${received - fee} msat received less the fee`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------- timeline

function timelineOf(record: TaskRecord): TimelineEntry[] {
  const order = new Map(record.chain.map((transition, index) => [transition.eventId, index]));
  const entries: (TimelineEntry & { rank: number })[] = [];
  const add = (event: NostrEvent, label: string, summary: string) =>
    entries.push({
      eventId: event.id,
      createdAt: event.created_at,
      author: authorOf(record, event.pubkey),
      label,
      summary,
      rank: order.get(event.id) ?? -1,
    });
  const listings = new Map<string, NostrEvent>();
  if (record.offered) listings.set(record.offered.details.listing.id, record.offered.details.listing);
  for (const listing of record.listings) {
    if (
      listing.id === record.taskId ||
      (record.offered && addressOf(listing) === addressOf(record.offered.details.listing))
    ) {
      listings.set(listing.id, listing);
    }
  }
  for (const listing of listings.values()) {
    const title = tagValueOf(listing, 'title') ?? '(no title)';
    const amount = tagValueOf(listing, 'amount');
    const escrowed = listing.id === record.taskId ? '' : ' (another version, not the escrowed one)';
    add(listing, 'listing', `"${clip(title)}"${amount ? ` for ${msatText(amount)}` : ''}${escrowed}`);
  }
  for (const transition of record.transitions) {
    const event = record.valid.get(transition.eventId);
    if (event)
      add(
        event,
        transition.state,
        summarizeTransition(transition) + (order.has(event.id) ? '' : ' (off the chain)'),
      );
  }
  for (const [id, reason] of record.malformed) {
    const event = record.valid.get(id);
    if (event) add(event, readLabelText(event), `malformed: ${reason}`);
  }
  for (const action of record.actions.values())
    add(action.event, action.name, summarizeAction(record, action));
  for (const rejection of record.rejections) {
    const reply = rejection.tags.find((tag) => tag[0] === 'e' && tag[3] === 'reply')?.[1];
    const code = tagValueOf(rejection, 'code');
    add(
      rejection,
      REJECTED_LABEL,
      `refused ${reply ? short(reply) : 'an event'}${code ? ` (${code})` : ''}: ${clip(rejection.content)}`,
    );
  }
  entries.sort((a, b) => a.createdAt - b.createdAt || a.rank - b.rank || a.eventId.localeCompare(b.eventId));
  return entries.map(({ rank: _rank, ...entry }) => entry);
}

function describeInvoice(invoice: GivenInvoice): string {
  if (!invoice.decoded) return `a payout invoice that does not decode (${invoice.error})`;
  const amount = invoice.decoded.amountMsat;
  return `a payout invoice ${amount === null ? 'with no amount' : `for ${formatMsat(amount)}`}`;
}

function authorOf(record: TaskRecord, pubkey: string): TimelineEntry['author'] {
  if (pubkey === record.agent) return 'agent';
  if (pubkey === record.poster || pubkey === record.offered?.details.listing.pubkey) return 'poster';
  if (pubkey === record.worker) return 'worker';
  if (record.arbitrators.includes(pubkey)) return 'arbitrator';
  return 'someone else';
}

function summarizeTransition(transition: Transition): string {
  switch (transition.state) {
    case 'offered': {
      const { amountMsat, feeMsat, expiresAt, arbitration } = transition.details;
      return `hold invoice for ${formatMsat(amountMsat)} (fee ${formatMsat(feeMsat)}), payable until ${isoTime(expiresAt)}; rulebook v${arbitration.rulesVersion}`;
    }
    case 'funded':
      return `the node holds ${formatMsat(transition.details.amountMsat)}; claim window until ${isoTime(transition.details.windowEndsAt)}; hold deadline block ${transition.details.holdDeadlineHeight}`;
    case 'claimed':
      return `claimed by ${short(transition.worker ?? '')}; work window until ${isoTime(transition.details.windowEndsAt)}`;
    case 'submitted':
      return `work submitted; review window until ${isoTime(transition.details.windowEndsAt)}`;
    case 'disputed':
      return `dispute opened by the ${transition.details.openedBy}; ${transition.details.arbitrators.length} arbitrator(s); dispute window until ${isoTime(transition.details.windowEndsAt)}`;
    case 'settling':
      return `settling the hold (${transition.details.reason}), resolution ${describeResolution(transition.details.resolution)}${citing(transition.details.verdicts)}`;
    case 'settled':
      return `${transition.details.settlement ? `the node settled ${formatMsat(transition.details.settlement.amountMsat)}; preimage published` : 'the worker is paid next'}${citing(transition.details.verdicts)}`;
    case 'custody':
      return `the agent holds ${formatMsat(transition.details.heldMsat)} for resolution ${describeResolution(transition.details.resolution)}${transition.details.settlement ? '; preimage published' : ''}${citing(transition.details.verdicts)}`;
    case 'payout_pending':
      return `waiting for a payout invoice from the ${transition.details.recipients.join(' and the ')} (${clip(transition.details.reason)})${transition.details.settlement ? '; preimage published' : ''}`;
    case 'paid':
      return `paid ${transition.details.payouts.map((payout) => `${formatMsat(payout.amountMsat)} to the ${payout.recipient}`).join(', ')}; routing fee ${formatMsat(transition.details.routingFeeMsat)}`;
    case 'refunding':
      return `cancelling the hold (${transition.details.reason})${citing(transition.details.verdicts)}`;
    case 'refunded':
      return `${formatMsat(transition.details.amountMsat)} back to the poster (${transition.details.reason}) at block ${transition.details.height}`;
    case 'cancelled':
      return 'cancelled; nothing was paid';
    case 'expired':
      return 'the invoice expired unpaid';
    default:
      return '';
  }
}

function summarizeAction(record: TaskRecord, action: Action): string {
  const command = action.parsed?.command;
  if (!command) return `not a valid action (${action.refusal})`;
  const note = action.event.content.trim() ? `: ${clip(action.event.content)}` : '';
  switch (command.type) {
    case 'claim':
      return `claims the task${note}`;
    case 'submit': {
      const invoice = record.givenInvoices.find((given) => given.eventId === action.event.id);
      return `submits the work${note}${invoice ? `; ${describeInvoice(invoice)}` : ''}`;
    }
    case 'approve':
      return `approves the work${note}`;
    case 'cancel':
      return `cancels the task${note}`;
    case 'dispute':
      return `disputes${note}`;
    case 'verdict':
      return `verdict: ${describeResolution(verdictResolution(record, action.event.id)!)}${note}`;
    case 'payout_invoice': {
      const invoice = record.givenInvoices.find((given) => given.eventId === action.event.id);
      return `for the ${command.recipient}: ${invoice ? describeInvoice(invoice) : 'a payout invoice'}`;
    }
    case 'payout_address':
      return `Lightning address ${command.address} for the ${command.recipient}'s payout`;
    default:
      return action.name;
  }
}

// --------------------------------------------------------------------------------------------- helpers

function first<S extends TransitionState>(chain: readonly Transition[], state: S): TransitionAt<S> | null {
  return (chain.find((transition) => transition.state === state) as TransitionAt<S> | undefined) ?? null;
}

function tagValueOf(event: Pick<NostrEvent, 'tags'>, name: string): string | undefined {
  return event.tags.find((tag) => tag[0] === name)?.[1];
}

function readLabelText(event: NostrEvent): string {
  const label = readLabel(event);
  return label.ok ? label.label : 'label';
}

function describeKind(event: NostrEvent): string {
  if (event.kind === KINDS.label) {
    const label = readLabel(event);
    return label.ok ? `a "${label.label}" label` : 'a label';
  }
  if (event.kind === KINDS.listing) return 'a listing';
  if (event.kind === KINDS.jobFeedback) return 'a payment prompt (a mirror of the offer)';
  return `kind ${event.kind}`;
}

function whoseKey(pubkey: string, agent: string): string {
  return pubkey === agent ? "the agent's key" : `key ${pubkey}`;
}

function describeResolution(resolution: Resolution): string {
  switch (resolution.kind) {
    case 'split':
      return `split (${resolution.workerShareBps / 100} % to the worker)`;
    case 'pending_verdict':
      return 'pending a verdict';
    default:
      return `${resolution.kind}`;
  }
}

function citing(verdicts: readonly VerdictRef[]): string {
  if (verdicts.length === 0) return '';
  const agreeing = verdicts.filter((ref) => ref.agrees).length;
  return `; cites ${agreeing} agreeing verdict(s) and ${verdicts.length - agreeing} dissent(s)`;
}

function isoTime(unix: number): string {
  return `${new Date(unix * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function msatText(value: string): string {
  return /^(0|[1-9][0-9]*)$/.test(value) ? formatMsat(BigInt(value)) : `${value} msat`;
}

function short(id: string): string {
  return id.slice(0, 8);
}

function clip(text: string, max = 80): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
