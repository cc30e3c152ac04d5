// Verifies one task from relay history alone (docs/protocol.md, "Verifying a task"): the agent's signed
// transitions form one unbroken chain from the offer, the embedded listing is the task, the preimage opens
// the escrow's payment hash, and every msat received is accounted for. Needs nothing but the events.
import type { Hex32 } from '../domain/types.ts';
import { KINDS, LABEL_NAMESPACE } from './constants.ts';
import { type ParsedTransition, parseTransition } from './parse-transition.ts';
import type { NostrEvent } from './schemas.ts';
import type { Settlement, TransitionOf } from './transition-types.ts';
import { verifyEvent } from './verify-event.ts';

export interface TaskTotals {
  receivedMsat: bigint;
  paidMsat: bigint;
  feeMsat: bigint;
  refundedMsat: bigint;
  routingFeeMsat: bigint;
}

export interface HistoryReport {
  ok: boolean;
  /** Each problem with what the agent signed, in words; empty when ok. */
  problems: string[];
  /**
   * Events that claim the agent's key but fail id or signature verification. Anyone can publish those, so
   * they say nothing about the agent and do not make the task fail; they are listed for the operator.
   */
  ignored: string[];
  /** The transitions from the first to the last, as far as the chain could be followed. */
  chain: ParsedTransition[];
  totals: TaskTotals;
}

export function verifyTaskHistory(input: {
  agentPubkey: Hex32;
  taskId: Hex32;
  events: readonly NostrEvent[];
}): HistoryReport {
  const problems: string[] = [];
  const ignored: string[] = [];
  const byId = new Map<string, ParsedTransition>();
  for (const event of candidates(input)) {
    if (byId.has(event.id)) continue;
    const verified = verifyEvent(event);
    if (!verified.ok) {
      ignored.push(`event ${event.id}: ${verified.reason}`);
      continue;
    }
    const parsed = parseTransition(event, { agentPubkey: input.agentPubkey });
    if (parsed.ok) byId.set(event.id, parsed.transition);
    else problems.push(`event ${event.id}: ${parsed.reason}`);
  }
  const chain = followChain([...byId.values()], problems);
  checkParties(chain, problems);
  const totals = checkMoney(chain, problems);
  return { ok: problems.length === 0, problems, ignored, chain, totals };
}

/** The agent's labels in our namespace about this task (rejections are not part of the chain). */
function candidates(input: {
  agentPubkey: Hex32;
  taskId: Hex32;
  events: readonly NostrEvent[];
}): NostrEvent[] {
  return input.events.filter(
    (event) =>
      event.pubkey === input.agentPubkey &&
      event.kind === KINDS.label &&
      event.tags.some((tag) => tag[0] === 'e' && tag[1] === input.taskId && tag[3] === 'task') &&
      event.tags.some((tag) => tag[0] === 'l' && tag[2] === LABEL_NAMESPACE && tag[1] !== 'rejected'),
  );
}

export function followChain(transitions: ParsedTransition[], problems: string[]): ParsedTransition[] {
  const roots = transitions.filter((transition) => transition.prev === null);
  if (roots.length !== 1) {
    problems.push(`expected exactly one first transition (no prev), found ${roots.length}`);
    if (roots.length === 0) return [];
  }
  const children = new Map<string, ParsedTransition[]>();
  for (const transition of transitions) {
    if (transition.prev === null) continue;
    children.set(transition.prev, [...(children.get(transition.prev) ?? []), transition]);
  }
  const chain: ParsedTransition[] = [];
  let current: ParsedTransition | undefined = roots[0];
  while (current) {
    chain.push(current);
    const next: ParsedTransition[] = children.get(current.eventId) ?? [];
    if (next.length > 1) problems.push(`fork: ${next.length} transitions follow ${current.eventId}`);
    if (next[0] && next[0].createdAt < current.createdAt) {
      problems.push(`transition ${next[0].eventId} is dated before its prev ${current.eventId}`);
    }
    current = next[0];
  }
  if (chain[0] && chain[0].state !== 'offered' && chain[0].state !== 'cancelled') {
    problems.push(`the first transition is ${chain[0].state}, not offered (or cancelled before any offer)`);
  }
  const reached = new Set(chain.map((transition) => transition.eventId));
  for (const transition of transitions) {
    if (!reached.has(transition.eventId)) {
      problems.push(
        `transition ${transition.eventId} (${transition.state}) is not on the chain from the first one`,
      );
    }
  }
  return chain;
}

export function checkParties(chain: ParsedTransition[], problems: string[]): void {
  let worker: Hex32 | null = null;
  for (const transition of chain) {
    if (transition.poster !== chain[0]!.poster)
      problems.push(`transition ${transition.eventId} names another poster`);
    if (transition.worker === null) continue;
    if (worker !== null && transition.worker !== worker) {
      problems.push(`transition ${transition.eventId} names another worker`);
    }
    worker = transition.worker;
  }
}

export function checkMoney(chain: ParsedTransition[], problems: string[]): TaskTotals {
  const totals: TaskTotals = {
    receivedMsat: 0n,
    paidMsat: 0n,
    feeMsat: 0n,
    refundedMsat: 0n,
    routingFeeMsat: 0n,
  };
  const offered = find(chain, 'offered');
  if (offered) checkOffer(offered, problems);
  const funded = find(chain, 'funded');
  if (funded) totals.receivedMsat = funded.details.amountMsat;

  const settlements = chain.flatMap((transition, index) => {
    const settlement = 'settlement' in transition.details ? transition.details.settlement : null;
    return settlement ? [{ settlement, index }] : [];
  });
  if (settlements.length > 1) problems.push('more than one transition carries a settlement proof');
  const proof: { settlement: Settlement; index: number } | undefined = settlements[0];
  if (proof) {
    const { settlement, index } = proof;
    if (chain[index - 1]?.state !== 'settling')
      problems.push('the settlement proof does not follow a settling transition');
    if (offered && settlement.paymentHash !== offered.details.paymentHash) {
      problems.push('the settled payment hash is not the offered one');
    }
    if (offered && settlement.feeMsat !== offered.details.feeMsat)
      problems.push('the settled fee is not the offered fee');
    if (funded && settlement.amountMsat !== funded.details.amountMsat) {
      problems.push('the settled amount is not the funded amount');
    }
    totals.receivedMsat = settlement.amountMsat;
    totals.feeMsat = settlement.feeMsat;
  } else if (chain.some((transition) => transition.state === 'paid' || transition.state === 'custody')) {
    problems.push('money was paid out or taken into custody, but no transition proves the hold was settled');
  }

  const paid = find(chain, 'paid');
  if (paid) {
    totals.paidMsat = paid.details.payouts.reduce((sum, payout) => sum + payout.amountMsat, 0n);
    totals.routingFeeMsat = paid.details.routingFeeMsat;
    if (proof && totals.paidMsat + totals.feeMsat !== proof.settlement.amountMsat) {
      problems.push(
        `received ${proof.settlement.amountMsat} msat but paid ${totals.paidMsat} + fee ${totals.feeMsat} msat`,
      );
    }
    if (
      paid.details.payouts.some((payout) => offered && payout.paymentHash === offered.details.paymentHash)
    ) {
      problems.push('a payout reuses the escrow payment hash');
    }
  }

  const refunded = find(chain, 'refunded');
  if (refunded) {
    totals.refundedMsat = refunded.details.amountMsat;
    if (totals.receivedMsat === 0n) totals.receivedMsat = refunded.details.amountMsat;
    if (proof) problems.push('the task was both settled and refunded');
    if (offered && refunded.details.paymentHash !== offered.details.paymentHash) {
      problems.push('the refunded payment hash is not the offered one');
    }
    if (funded && refunded.details.amountMsat !== funded.details.amountMsat) {
      problems.push(
        `funded ${funded.details.amountMsat} msat but refunded ${refunded.details.amountMsat} msat`,
      );
    }
  }
  const last = chain[chain.length - 1];
  if (funded && (last?.state === 'expired' || last?.state === 'cancelled')) {
    problems.push(`the task ended ${last.state} although the hold was funded`);
  }
  return totals;
}

function checkOffer(offered: TransitionOf<'offered'>, problems: string[]): void {
  const listing = offered.details.listing;
  const verified = verifyEvent(listing);
  if (!verified.ok) problems.push(`the embedded listing: ${verified.reason}`);
  const amount = listing.tags.find((tag) => tag[0] === 'amount')?.[1];
  if (amount !== offered.details.amountMsat.toString()) {
    problems.push('the offered amount is not the listing amount');
  }
}

function find<S extends ParsedTransition['state']>(
  chain: ParsedTransition[],
  state: S,
): (TransitionOf<S> & { eventId: string }) | undefined {
  return chain.find((transition) => transition.state === state) as
    | (TransitionOf<S> & { eventId: string })
    | undefined;
}
