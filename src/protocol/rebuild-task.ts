// Rebuilds a task's domain events from the public log: the agent's verified transitions (in chain order), the
// listing embedded in the offer, and the people's actions the transitions cite or that changed the task without a
// transition of their own (the other party's dispute statement, one recipient's payout invoice while the other's
// is still awaited, verdicts short of the threshold). Each transition becomes the TaskEvents that produce it, dated
// at the transition's created_at; the events are folded with the domain's evolve(), which refuses an impossible
// sequence, and after every transition the rebuilt task must be in the state the transition names.
//
// What the log does not hold, and the rebuilt task therefore does not have: the preimage of a hold that was not
// settled, failed payout attempts (and so attempt counts and the failures' reasons), the agent's clock at each step
// (transitions' created_at stand for it), and an invoice the agent fetched itself from a Lightning address. The
// public projection (src/domain/public-projection.ts) is what the log does determine; a rebuilt task has the same
// public projection as the live one.
//
// Routing fees: the `paid` transition states the total the agent paid to route every payout (`routing_fee`), not
// how it splits between payouts. The rebuilt events give all of it to the last payout (the one that made the task
// paid) and 0 to the others; the ledger's routingFeeMsat, which the public projection holds, is the total either way.
//
// Browser-safe: no Node module (src/protocol's rule).
import { bytesToHex } from '@noble/hashes/utils.js';
import { bech32 } from '@scure/base';
import { sameResolution } from '../domain/decide.ts';
import { evolve } from '../domain/evolve.ts';
import { feeFor } from '../domain/money.ts';
import { RULEBOOK_SHA256 } from '../domain/rulebook.ts';
import type {
  Arbitration,
  Hex32,
  Payout,
  PayoutRecipient,
  Policy,
  Resolution,
  Task,
  TaskEvent,
  Windows,
} from '../domain/types.ts';
import { KINDS, LABEL_NAMESPACE, REJECTED_LABEL, WINDOW_FIELDS, type WindowName } from './constants.ts';
import { type ParsedAction, parseAction } from './parse-action.ts';
import { type ParsedListing, parseTaskListing } from './parse-task-listing.ts';
import type { ParsedTransition } from './parse-transition.ts';
import type { NostrEvent } from './schemas.ts';
import type { TransitionOf, VerdictRef } from './transition-types.ts';

/** The parts of the agent's policy a rebuild may need (from its announcement, or the operator's configuration). */
export type RebuildPolicy = Pick<Policy, 'windows' | 'fee' | 'arbitrators' | 'disputeDeadlineRule'>;

export interface RebuildInput {
  agentPubkey: Hex32;
  /** The task's transitions, verified (the agent's signature) and in chain order (verifyTaskHistory's `chain`). */
  transitions: readonly ParsedTransition[];
  /** Verified events by id: the task's listing (needed when the task was cancelled before any offer) and the
   * actions on the task. Events about other tasks are ignored. */
  inputs: ReadonlyMap<Hex32, NostrEvent>;
  /** Ids of the actions the agent refused (its `rejected` labels' e:reply; refusedActionIds()). */
  refused?: ReadonlySet<Hex32>;
  /**
   * The agent's policy, for what the log leaves to it: a window the listing does not set and no transition dates
   * (e.g. the dispute window of a task never disputed), and the fee and arbitrators of a task cancelled before any
   * offer. Without it such a task is not rebuildable.
   */
  policy?: RebuildPolicy;
}

export interface RebuiltTask {
  /** The domain events, oldest first; fold(events) is `task`. */
  events: TaskEvent[];
  task: Task;
  /** Things the log did not say and the rebuild had to assume (none change the public projection). */
  warnings: string[];
  /** The ids of the inputs the rebuild used (the listing, the actions it applied): the actions the agent handled. */
  used: Hex32[];
}

export type RebuildResult = RebuiltTask | { problem: string };

/** The window a transition's `window_end` dates. */
const WINDOW_OF = { funded: 'claim', claimed: 'work', submitted: 'review', disputed: 'dispute' } as const;
/** Seconds the policy's window may exceed the one a transition dates (window_end - created_at): an agent dates a
 * transition at least one second after the one before, so created_at can run ahead of its clock. */
const WINDOW_TOLERANCE_SECONDS = 60;

export function rebuildTaskEvents(input: RebuildInput): RebuildResult {
  try {
    return new Rebuild(input).run();
  } catch (error) {
    if (error instanceof NotRebuildable) return { problem: error.message };
    // evolve() refuses an event the state does not allow: the transitions are not a sequence the agent can make.
    return { problem: `the transitions do not fold into a task: ${(error as Error).message}` };
  }
}

/** The ids of the actions the agent refused: the `e:reply` of its `rejected` labels among `events`. */
export function refusedActionIds(agentPubkey: Hex32, events: Iterable<NostrEvent>): Set<Hex32> {
  const refused = new Set<Hex32>();
  for (const event of events) {
    if (event.pubkey !== agentPubkey || event.kind !== KINDS.label) continue;
    if (!event.tags.some((tag) => tag[0] === 'l' && tag[1] === REJECTED_LABEL && tag[2] === LABEL_NAMESPACE))
      continue;
    for (const tag of event.tags) if (tag[0] === 'e' && tag[3] === 'reply' && tag[1]) refused.add(tag[1]);
  }
  return refused;
}

class NotRebuildable extends Error {}

type Parsed<S extends ParsedTransition['state']> = TransitionOf<S> & { eventId: Hex32; createdAt: number };

interface QueuedAction {
  event: NostrEvent;
  action: ParsedAction;
  done: boolean;
}

class Rebuild {
  private task: Task | null = null;
  private readonly events: TaskEvent[] = [];
  private readonly warnings: string[] = [];
  private readonly used = new Set<Hex32>();
  private readonly actions = new Map<Hex32, QueuedAction>();
  private readonly taskId: Hex32;

  constructor(private readonly input: RebuildInput) {
    const first = input.transitions[0];
    if (!first) throw new NotRebuildable('no transitions');
    this.taskId = first.taskId;
    for (const event of input.inputs.values()) {
      if (event.kind !== KINDS.label || input.refused?.has(event.id)) continue;
      const parsed = parseAction(event, { agentPubkey: input.agentPubkey });
      if (!parsed.ok || parsed.action.taskId !== this.taskId) continue;
      this.actions.set(event.id, { event, action: parsed.action, done: false });
    }
  }

  run(): RebuiltTask {
    const { transitions } = this.input;
    for (const [index, transition] of transitions.entries()) {
      if (index > 0) this.applyQueued(transition.createdAt, transition.cause);
      this.map(transition, index);
      // Authors' clocks differ from the agent's (and a transition may be dated a second or two ahead of it): an action
      // the agent handled before this transition may be signed after it. Only what applies is taken.
      if (this.current().state !== transition.state) this.applyQueued(Number.POSITIVE_INFINITY, null);
      const state = this.current().state;
      if (state !== transition.state) {
        throw new NotRebuildable(
          `transition ${transition.eventId} says ${transition.state}, but the task rebuilt up to it is ${state}${this.hint()}`,
        );
      }
    }
    // Actions after the last transition that change nothing public (a statement, a verdict short of the threshold,
    // one recipient's invoice while the other's is awaited) were handled without a transition.
    this.applyQueued(Number.POSITIVE_INFINITY, null, { tail: true });
    return { events: this.events, task: this.current(), warnings: this.warnings, used: [...this.used] };
  }

  private current(): Task {
    if (!this.task) throw new NotRebuildable('no task yet');
    return this.task;
  }

  private emit(event: TaskEvent): void {
    this.task = evolve(this.task, event);
    this.events.push(event);
  }

  private map(transition: ParsedTransition, index: number): void {
    const at = transition.createdAt;
    if (index === 0) {
      if (transition.state === 'offered') {
        this.post(transition, at);
        return;
      }
      if (transition.state === 'cancelled') {
        this.cancelBeforeOffer(transition, at);
        return;
      }
      throw new NotRebuildable(`the first transition is ${transition.state}, not offered or cancelled`);
    }
    const task = this.current();
    switch (transition.state) {
      case 'offered':
        throw new NotRebuildable(`a second offered transition (${transition.eventId})`);
      case 'funded':
        this.emit({
          type: 'funded',
          at,
          amountMsat: transition.details.amountMsat,
          htlcExpiryHeight: transition.details.htlcExpiryHeight,
          claimDeadlineHeight: transition.details.claimDeadlineHeight,
        });
        return;
      case 'claimed': {
        const worker = transition.worker ?? this.cause(transition, 'claim')?.event.pubkey;
        if (!worker) throw new NotRebuildable(`claimed transition ${transition.eventId} names no worker`);
        this.useCause(transition);
        this.emit({ type: 'claimed', at, worker });
        return;
      }
      case 'submitted': {
        const submit = this.cause(transition, 'submit');
        if (submit?.action.command.type !== 'submit') {
          throw new NotRebuildable(
            `the submit action ${transition.cause ?? '(none cited)'} that caused submitted is not among the events: the worker's payout invoice is unknown`,
          );
        }
        this.useCause(transition);
        this.emit({ type: 'submitted', at, payoutInvoice: submit.action.command.payoutInvoice });
        return;
      }
      case 'disputed': {
        const dispute = this.cause(transition, 'dispute');
        const by =
          dispute?.event.pubkey ?? (transition.details.openedBy === 'poster' ? task.poster : task.worker);
        if (!by)
          throw new NotRebuildable(`disputed transition ${transition.eventId}: who opened it is unknown`);
        let reason = '';
        if (dispute?.action.command.type === 'dispute') reason = dispute.action.command.reason;
        else
          this.warnings.push(
            `the dispute action that opened the dispute is missing: its statement is unknown`,
          );
        this.useCause(transition);
        this.emit({ type: 'disputed', at, by, reason });
        return;
      }
      case 'settling':
        this.recordVerdicts(transition.details.verdicts, transition.details.resolution, at);
        this.useCause(transition);
        this.emit({
          type: 'settle_requested',
          at,
          reason: transition.details.reason,
          resolution: transition.details.resolution,
        });
        return;
      case 'refunding':
        this.recordVerdicts(transition.details.verdicts, { kind: 'poster' }, at);
        this.useCause(transition);
        this.emit({ type: 'refund_requested', at, reason: transition.details.reason });
        return;
      case 'settled':
      case 'custody':
      case 'payout_pending':
        this.settledOrPayouts(transition, at);
        return;
      case 'paid':
        this.paid(transition, at);
        return;
      case 'refunded':
        if (task.ledger.receivedMsat === 0n && transition.details.amountMsat > 0n) {
          throw new NotRebuildable(
            'the hold was paid while it was being cancelled (no funded transition): the log states the refunded amount but not the HTLC heights',
          );
        }
        this.useCause(transition);
        this.emit({ type: 'hold_cancelled', at });
        return;
      case 'expired':
      case 'cancelled':
        this.useCause(transition);
        this.emit({ type: 'hold_cancelled', at });
        return;
      default:
        assertNever(transition);
        return;
    }
  }

  // ---- the first transition

  private post(offered: Parsed<'offered'>, at: number): void {
    const listing = this.listing(offered.details.listing);
    const { details } = offered;
    const { command } = listing;
    if (command.amountMsat !== details.amountMsat) {
      throw new NotRebuildable('the offered amount is not the embedded listing amount');
    }
    this.emit({
      type: 'task_posted',
      at,
      taskId: this.taskId,
      poster: command.by,
      amountMsat: details.amountMsat,
      feeMsat: details.feeMsat,
      title: command.title,
      windows: this.windows(command.windows ?? {}),
      arbitration: {
        arbitrators: [...details.arbitration.arbitrators],
        threshold: details.arbitration.threshold,
        deadlineRule: details.arbitration.deadlineRule,
        rulesSha256: details.arbitration.rulesSha256,
      },
    });
    this.emit({
      type: 'offered',
      at,
      paymentHash: details.paymentHash,
      bolt11: details.bolt11,
      invoiceExpiresAt: details.expiresAt,
      finalCltvDelta: details.finalCltvDelta,
    });
  }

  /** Cancelled before any offer: the listing is not embedded anywhere, and the fee and arbitration are the
   * policy's (the decider's, at posting). */
  private cancelBeforeOffer(cancelled: ParsedTransition, at: number): void {
    const event = this.input.inputs.get(this.taskId);
    if (!event) {
      throw new NotRebuildable(
        'the task was cancelled before its offer and its listing is not among the events (edited or deleted): its terms are unknown',
      );
    }
    const { policy } = this.input;
    if (!policy) {
      throw new NotRebuildable(
        "the task was cancelled before its offer: its fee and arbitrators are the agent's policy at the time, and none was given",
      );
    }
    const { command } = this.listing(event);
    const named = command.arbitrators ?? [...policy.arbitrators];
    const arbitration: Arbitration = {
      arbitrators: named,
      threshold: command.threshold ?? (named.length > 0 ? 1 : 0),
      deadlineRule: policy.disputeDeadlineRule,
      rulesSha256: RULEBOOK_SHA256,
    };
    this.emit({
      type: 'task_posted',
      at,
      taskId: this.taskId,
      poster: command.by,
      amountMsat: command.amountMsat,
      feeMsat: feeFor(command.amountMsat, policy.fee),
      title: command.title,
      windows: this.windows(command.windows ?? {}),
      arbitration,
    });
    this.useCause(cancelled);
    this.emit({ type: 'task_cancelled', at });
  }

  private listing(event: NostrEvent): ParsedListing {
    if (event.id !== this.taskId) throw new NotRebuildable('the listing is not the task (its id differs)');
    const parsed = parseTaskListing(event, { agentPubkey: this.input.agentPubkey });
    if (!parsed.ok) throw new NotRebuildable(`the listing does not parse: ${parsed.reason}`);
    this.used.add(event.id);
    return parsed.listing;
  }

  /**
   * The task's windows: the listing's own, else the policy's, else the one a transition dates (its window_end
   * minus its created_at, exact unless the agent dated the transition ahead of its clock).
   */
  private windows(overrides: Partial<Windows>): Windows {
    const windows = {} as Windows;
    for (const [name, field] of Object.entries(WINDOW_FIELDS) as Array<[WindowName, keyof Windows]>) {
      const own = overrides[field];
      if (own !== undefined) {
        windows[field] = own;
        continue;
      }
      const dated = this.datedWindow(name);
      const policy = this.input.policy?.windows[field];
      if (policy !== undefined) {
        const fits = dated === undefined || (dated <= policy && policy - dated <= WINDOW_TOLERANCE_SECONDS);
        if (!fits) {
          this.warnings.push(
            `the ${name} window of the policy (${policy} s) is not the one the log dates (${dated} s): the log's is used`,
          );
        }
        windows[field] = fits ? policy : (dated as number);
      } else if (dated !== undefined) {
        windows[field] = dated;
      } else {
        throw new NotRebuildable(
          `the ${name} window is neither in the listing nor dated by a transition, and no policy was given`,
        );
      }
    }
    return windows;
  }

  private datedWindow(name: WindowName): number | undefined {
    for (const transition of this.input.transitions) {
      const state = transition.state as keyof typeof WINDOW_OF;
      if (WINDOW_OF[state] !== name) continue;
      const { windowEndsAt } = transition.details as { windowEndsAt: number };
      return windowEndsAt - transition.createdAt;
    }
    return undefined;
  }

  // ---- causes and queued actions

  private cause(transition: ParsedTransition, name: ParsedAction['name']): QueuedAction | undefined {
    if (transition.cause === null) return undefined;
    const found = this.actions.get(transition.cause);
    return found && found.action.name === name ? found : undefined;
  }

  private useCause(transition: ParsedTransition): void {
    if (transition.cause === null) return;
    const found = this.actions.get(transition.cause);
    if (found) {
      found.done = true;
      this.used.add(found.event.id);
    }
  }

  /**
   * Applies, in created_at order, the actions that changed the task without a transition of their own and were
   * signed by `upTo` (the next transition's created_at), plus that transition's cause when it is a payout invoice.
   * An action that does not apply now stays queued. At the tail, an action that would change the task's state is
   * left alone: the agent has not handled it (no transition says so), and will when it reads it.
   */
  private applyQueued(upTo: number, cause: Hex32 | null, options: { tail?: boolean } = {}): void {
    const queued = [...this.actions.values()]
      .filter((item) => !item.done && (item.event.created_at <= upTo || item.event.id === cause))
      .sort((a, b) => a.event.created_at - b.event.created_at || (a.event.id < b.event.id ? -1 : 1));
    for (const item of queued) {
      const event = this.queuedEvent(item, options.tail === true);
      if (!event) continue;
      if (options.tail) {
        const before = this.current().state;
        if (evolve(this.current(), event).state !== before) continue;
      }
      this.emit(event);
      item.done = true;
      this.used.add(item.event.id);
    }
  }

  /** The event a queued action causes now, or null when it does not apply to the task as it is. */
  private queuedEvent(item: QueuedAction, tail: boolean): TaskEvent | null {
    const task = this.current();
    const { command } = item.action;
    const at = item.event.created_at;
    switch (command.type) {
      case 'dispute': {
        // The other party's statement while the dispute is open; one each.
        if (!disputeOpen(task) || (command.by !== task.poster && command.by !== task.worker)) return null;
        if (task.statements.some((statement) => statement.by === command.by)) return null;
        return { type: 'statement_added', at, by: command.by, text: command.reason };
      }
      case 'payout_invoice':
      case 'payout_address': {
        const payout = this.payoutFor(command.recipient, command.by);
        if (!payout || (payout.state !== 'due' && payout.state !== 'needs_invoice')) return null;
        if (command.type === 'payout_address') {
          if (payout.state !== 'needs_invoice' || payout.address === command.address) return null;
          return { type: 'payout_address_given', at, recipient: command.recipient, address: command.address };
        }
        if (payout.bolt11 === command.bolt11) return null;
        return { type: 'payout_invoice_given', at, recipient: command.recipient, bolt11: command.bolt11 };
      }
      case 'verdict': {
        // A verdict no transition cites was either refused or is short of the threshold: only the latter, while
        // the dispute is still open after the last transition, is recorded.
        if (!tail || !disputeOpen(task) || !task.arbitration.arbitrators.includes(command.by)) return null;
        if (task.verdicts.some((verdict) => verdict.by === command.by)) return null;
        return {
          type: 'verdict_recorded',
          at,
          by: command.by,
          resolution: verdictResolution(command),
          eventId: item.event.id,
        };
      }
      default:
        return null;
    }
  }

  /** The payout `by` may give an invoice or address for, once the hold is settled. */
  private payoutFor(recipient: PayoutRecipient, by: Hex32): Payout | undefined {
    const task = this.current();
    if (task.state !== 'settled' && task.state !== 'custody' && task.state !== 'payout_pending')
      return undefined;
    if (by !== (recipient === 'worker' ? task.worker : task.poster)) return undefined;
    return task.payouts.find((payout) => payout.recipient === recipient);
  }

  // ---- verdicts

  /** verdict_recorded for each verdict the transition cites that is not on record yet, oldest first. */
  private recordVerdicts(refs: readonly VerdictRef[], taken: Resolution | null, at: number): void {
    const task = this.current();
    const fresh = refs
      .filter(
        (ref) => !task.verdicts.some((verdict) => verdict.eventId === ref.eventId || verdict.by === ref.by),
      )
      .map((ref) => ({ ref, item: this.actions.get(ref.eventId) }))
      .sort(
        (a, b) =>
          (a.item?.event.created_at ?? Number.MAX_SAFE_INTEGER) -
          (b.item?.event.created_at ?? Number.MAX_SAFE_INTEGER),
      );
    for (const { ref, item } of fresh) {
      const command = item?.action.command;
      let resolution: Resolution | null = null;
      if (command?.type === 'verdict' && command.by === ref.by) resolution = verdictResolution(command);
      else if (ref.agrees && taken) resolution = taken;
      if (resolution === null) {
        this.warnings.push(`the dissenting verdict ${ref.eventId} is not among the events: it is left out`);
        continue;
      }
      if (taken && ref.agrees !== sameResolution(resolution, taken)) {
        this.warnings.push(
          `verdict ${ref.eventId} is cited as ${ref.agrees ? 'agreeing' : 'dissenting'}, but says otherwise`,
        );
      }
      this.emit({ type: 'verdict_recorded', at, by: ref.by, resolution, eventId: ref.eventId });
      if (item) {
        item.done = true;
        this.used.add(item.event.id);
      }
    }
  }

  // ---- after the hold settled

  private settledOrPayouts(transition: Parsed<'settled' | 'custody' | 'payout_pending'>, at: number): void {
    const task = this.current();
    if (task.state === 'settling') {
      this.emit({ type: 'hold_settled', at });
      return;
    }
    const agreeing = transition.details.verdicts.filter((ref) => ref.agrees);
    if (task.state === 'custody' && task.resolution.kind === 'pending_verdict' && agreeing.length > 0) {
      // k verdicts decided money held pending a verdict.
      const taken = this.verdictTaken(transition, agreeing);
      this.recordVerdicts(transition.details.verdicts, taken, at);
      this.emit({ type: 'verdict_given', at, by: agreeing[agreeing.length - 1]!.by, resolution: taken });
      return;
    }
    this.useCause(transition);
    if (transition.state === 'payout_pending') {
      // Payouts failed until the recipient had to be asked for a new invoice (the attempts are not on the log).
      for (const recipient of transition.details.recipients) {
        const payout = this.current().payouts.find((candidate) => candidate.recipient === recipient);
        if (!payout || payout.state === 'needs_invoice' || payout.state === 'succeeded') continue;
        this.emit({
          type: 'payout_failed',
          at,
          recipient,
          reason: transition.details.reason,
          needsInvoice: true,
          ...(payout.address ? { forgetAddress: true } : {}),
        });
      }
    }
    // settled / custody after payout_pending: the invoices given before it were applied by applyQueued.
  }

  /** The resolution k agreeing verdicts gave to money in custody. */
  private verdictTaken(
    transition: Parsed<'settled' | 'custody' | 'payout_pending'>,
    agreeing: readonly VerdictRef[],
  ): Resolution {
    if (transition.state === 'custody') return transition.details.resolution;
    if (transition.state === 'settled') return { kind: 'worker' };
    for (const ref of agreeing) {
      const command = this.actions.get(ref.eventId)?.action.command;
      if (command?.type === 'verdict') return verdictResolution(command);
    }
    throw new NotRebuildable(
      `payout_pending ${transition.eventId} follows verdicts on money in custody, but none of the verdicts it cites is among the events: the resolution is unknown`,
    );
  }

  private paid(transition: Parsed<'paid'>, at: number): void {
    const { payouts, routingFeeMsat } = transition.details;
    for (const [index, paid] of payouts.entries()) {
      const payout = this.current().payouts.find((candidate) => candidate.recipient === paid.recipient);
      if (!payout) throw new NotRebuildable(`paid lists a ${paid.recipient} payout the task does not owe`);
      if (payout.amountMsat !== paid.amountMsat) {
        throw new NotRebuildable(
          `paid lists ${paid.amountMsat} msat to the ${paid.recipient}; the task owes ${payout.amountMsat} msat`,
        );
      }
      const bolt11 = this.invoiceFor(payout, paid.paymentHash);
      if (bolt11 !== payout.bolt11) {
        this.emit({ type: 'payout_invoice_given', at, recipient: paid.recipient, bolt11 });
      }
      this.emit({
        type: 'payout_started',
        at,
        recipient: paid.recipient,
        bolt11,
        paymentHash: paid.paymentHash,
        amountMsat: paid.amountMsat,
      });
      this.emit({
        type: 'payout_succeeded',
        at,
        recipient: paid.recipient,
        routingFeeMsat: index === payouts.length - 1 ? routingFeeMsat : 0n,
        preimage: paid.preimage,
      });
    }
  }

  /** The invoice on the log, from the payout's recipient, whose payment hash is the one `paid` proves. */
  private invoiceFor(payout: Payout, paymentHash: Hex32): string {
    const task = this.current();
    const key = payout.recipient === 'worker' ? task.worker : task.poster;
    const candidates = [payout.bolt11, payout.recipient === 'worker' ? task.workerInvoice : null];
    let address: string | null = payout.address ?? null;
    for (const item of this.actions.values()) {
      const { command } = item.action;
      if (command.type === 'payout_invoice' && command.recipient === payout.recipient && command.by === key)
        candidates.push(command.bolt11);
      if (command.type === 'payout_address' && command.recipient === payout.recipient && command.by === key)
        address ??= command.address;
    }
    for (const candidate of candidates) {
      if (candidate && invoiceHash(candidate) === paymentHash) {
        for (const item of this.actions.values()) {
          const { command } = item.action;
          if (command.type === 'payout_invoice' && command.bolt11 === candidate) {
            item.done = true;
            this.used.add(item.event.id);
          }
        }
        return candidate;
      }
    }
    throw new NotRebuildable(
      address
        ? `the ${payout.recipient} was paid to an invoice the agent fetched from the Lightning address ${address}: that invoice is not on the log (only its payment hash ${paymentHash} and proof are)`
        : `no invoice on the log from the ${payout.recipient} has the payment hash ${paymentHash} that paid proves`,
    );
  }

  /** Why the rebuilt state may differ from the transition's, for the problem's text. */
  private hint(): string {
    const task = this.current();
    const address = task.payouts.find((payout) => payout.state === 'needs_invoice' && payout.address);
    if (address) {
      return ` (the ${address.recipient} gave the Lightning address ${address.address}: the invoice the agent fetched from it is not on the log)`;
    }
    const waiting = task.payouts.filter((payout) => payout.state === 'needs_invoice');
    if (waiting.length > 0) {
      return ` (no payout invoice from the ${waiting.map((payout) => payout.recipient).join(' and the ')} is among the events)`;
    }
    return '';
  }
}

/**
 * The payment hash an invoice names (its `p` field), read without checking the invoice's signature: only to find
 * which invoice on the log a payout went to (verifyTask checks the invoices themselves). Recovering the payee's key
 * would cost as much as a signature check, per invoice.
 */
function invoiceHash(bolt11: string): string | null {
  const decoded = bech32.decodeUnsafe(bolt11.toLowerCase() as `${string}1${string}`, false);
  if (!decoded) return null;
  const words = decoded.words;
  const end = words.length - SIGNATURE_WORDS;
  for (let at = TIMESTAMP_WORDS; at + 3 <= end; ) {
    const tag = words[at]!;
    const length = words[at + 1]! * 32 + words[at + 2]!;
    const data = words.slice(at + 3, at + 3 + length);
    if (tag === PAYMENT_HASH_TAG && length === 52) {
      const bytes = bech32.fromWordsUnsafe(data);
      return bytes ? bytesToHex(bytes) : null;
    }
    at += 3 + length;
  }
  return null;
}

const TIMESTAMP_WORDS = 7;
const SIGNATURE_WORDS = 104;
const PAYMENT_HASH_TAG = 1;

function verdictResolution(command: Extract<ParsedAction['command'], { type: 'verdict' }>): Resolution {
  return command.outcome === 'split'
    ? { kind: 'split', workerShareBps: command.workerShareBps ?? 0 }
    : { kind: command.outcome };
}

/** As the decider: disputed, or money moving into / held in custody pending a verdict. */
function disputeOpen(task: Task): boolean {
  if (task.state === 'disputed') return true;
  return (
    task.resolution?.kind === 'pending_verdict' && (task.state === 'settling' || task.state === 'custody')
  );
}

function assertNever(value: never): never {
  throw new NotRebuildable(`unknown transition ${JSON.stringify(value)}`);
}
