// The torture's final checks, each a pass or a fail with what it saw: every task in its right terminal state,
// money to the msat from the nodes' own figures, no double payout, no hold left accepted, verify-db clean, and every
// chain on the relay valid (one per task, no fork, no duplicate transition).
import { fetchAll } from '../../src/cli/relay-fetch.ts';
import { KINDS } from '../../src/protocol/constants.ts';
import { type ParsedTransition, parseTransition } from '../../src/protocol/parse-transition.ts';
import type { NostrEvent } from '../../src/protocol/schemas.ts';
import { verifyTaskHistory } from '../../src/protocol/verify-history.ts';
import type { LifecycleResult } from './lifecycles.ts';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What failed, one line each (at most 20 kept). */
  failures?: string[];
}

export interface NodeFigures {
  localMsat: string;
  remoteMsat: string;
  channels: number;
  usable: number;
  pendingHtlcs: number;
  /** The node's channels (the embedded set-up: a replaced channel has a new id). */
  channelIds?: string[];
}

export interface Figures {
  payer: NodeFigures;
  worker: NodeFigures;
  agent?: NodeFigures;
  agentHolds?: Record<string, number>;
  unfinishedHolds?: Array<{ paymentHash: string; state: string }>;
}

export interface RelayChains {
  /** Every agent transition per task, parsed (the relay also holds the people's listings and actions). */
  byTask: Map<string, ParsedTransition[]>;
  events: NostrEvent[];
}

export async function readChains(relayUrl: string, agent: string): Promise<RelayChains> {
  const fetched = await fetchAll([relayUrl], [{ kinds: [KINDS.label, KINDS.listing] }], {
    maxEvents: 1_000_000,
  });
  const failed = fetched.perRelay.get(relayUrl)?.failed;
  if (failed) throw new Error(`reading the relay's history failed: ${failed}`);
  const byTask = new Map<string, ParsedTransition[]>();
  for (const event of fetched.events) {
    const parsed = parseTransition(event, { agentPubkey: agent });
    if (!parsed.ok) continue;
    const list = byTask.get(parsed.transition.taskId) ?? [];
    list.push(parsed.transition);
    byTask.set(parsed.transition.taskId, list);
  }
  return { byTask, events: fetched.events };
}

function check(name: string, failures: string[], detail: string): Check {
  return {
    name,
    ok: failures.length === 0,
    detail,
    ...(failures.length > 0 ? { failures: failures.slice(0, 20) } : {}),
  };
}

const END_STATES = new Set(['paid', 'refunded', 'cancelled', 'expired']);

/** The terminal state the relay's chain ends in, per task (null when it ends elsewhere or has no head). */
export function endOf(transitions: readonly ParsedTransition[]): string | null {
  const followed = new Set(transitions.map((one) => one.prev).filter((prev) => prev !== null));
  const heads = transitions.filter((one) => !followed.has(one.eventId));
  return heads.length === 1 ? heads[0]!.state : null;
}

/** Whether the task ended refunded because its node cancelled the hold (`node_cancelled`). */
export function lostHold(transitions: readonly ParsedTransition[]): boolean {
  return transitions.some(
    (one) => one.state === 'refunded' && (one.details as { reason?: string }).reason === 'node_cancelled',
  );
}

/**
 * Each task's chain ends where its kind must end. With `allowLostHolds` (the embedded set-up after LDK replaced a
 * channel), a funded task may instead end refunded because the node cancelled its hold: it was in the closed
 * channel. Those are counted in the detail.
 */
export function terminalStates(
  results: readonly LifecycleResult[],
  chains: RelayChains,
  options: { allowLostHolds?: boolean } = {},
): Check {
  const failures: string[] = [];
  let lost = 0;
  for (const result of results) {
    if (!result.taskId) {
      failures.push(`lifecycle ${result.index} (${result.kind}): never posted: ${result.error}`);
      continue;
    }
    const transitions = chains.byTask.get(result.taskId) ?? [];
    const end = endOf(transitions);
    if (options.allowLostHolds && end === 'refunded' && lostHold(transitions)) {
      lost++;
      continue;
    }
    if (end !== result.expected || !END_STATES.has(end ?? '')) {
      failures.push(
        `lifecycle ${result.index} (${result.kind}) task ${result.taskId}: the relay's chain ends ${end ?? 'nowhere terminal'}, expected ${result.expected}${result.error ? ` (driver: ${result.error})` : ''}`,
      );
    }
  }
  return check(
    'terminal-states',
    failures,
    `${results.length} lifecycles, each in the state its kind must end in${lost > 0 ? ` (${lost} refunded instead: their holds were in a channel LDK closed at a restart)` : ''}`,
  );
}

export interface MoneyFigures {
  payerSentMsat: { expected: string; measured: string; compared?: false };
  workerReceivedMsat: { expected: string; measured: string; compared?: false };
}

/**
 * Money from the nodes' own figures: the payer's node can send exactly the settled tasks' amounts less than before
 * (refunds returned everything), the worker's node can receive exactly amount - fee per paid task less than before
 * (what it was paid). A double payout, a lost refund or a wrong fee shows as a difference in msat.
 */
export function money(
  results: readonly LifecycleResult[],
  chains: RelayChains,
  before: Figures,
  after: Figures,
): { check: Check; figures: MoneyFigures } {
  let settled = 0n;
  let paidOut = 0n;
  for (const result of results) {
    if (!result.taskId) continue;
    const transitions = chains.byTask.get(result.taskId) ?? [];
    if (endOf(transitions) !== 'paid') continue;
    const offered = transitions.find((one) => one.state === 'offered');
    if (!offered) continue;
    const details = offered.details as { amountMsat: bigint; feeMsat: bigint };
    settled += details.amountMsat;
    paidOut += details.amountMsat - details.feeMsat;
  }
  const payerSent = BigInt(before.payer.localMsat) - BigInt(after.payer.localMsat);
  const workerReceived = BigInt(before.worker.remoteMsat) - BigInt(after.worker.remoteMsat);
  const failures: string[] = [];
  // A channel LDK closed and the sandbox replaced took its balance on chain: its figures are not comparable.
  const replaced = (name: 'payer' | 'worker') =>
    before[name].channelIds !== undefined &&
    before[name].channelIds!.join() !== (after[name].channelIds ?? []).join();
  const notComparable = (['payer', 'worker'] as const).filter(replaced);
  if (notComparable.includes('payer')) {
    // not compared
  } else if (payerSent !== settled)
    failures.push(
      `the payer's node sent ${payerSent} msat; the paid tasks' amounts are ${settled} msat (${payerSent - settled} off)`,
    );
  if (!notComparable.includes('worker') && workerReceived !== paidOut)
    failures.push(
      `the worker's node received ${workerReceived} msat; amount - fee of the paid tasks is ${paidOut} msat (${workerReceived - paidOut} off)`,
    );
  return {
    check: check(
      'money',
      failures,
      `the payer's and the worker's nodes' channel figures against the paid tasks, to the msat${notComparable.length > 0 ? `; not compared: the ${notComparable.join(' and ')}'s channel was replaced (closed by LDK at a restart), its balance went on chain` : ''}`,
    ),
    figures: {
      payerSentMsat: {
        expected: settled.toString(),
        measured: payerSent.toString(),
        ...(notComparable.includes('payer') ? { compared: false } : {}),
      },
      workerReceivedMsat: {
        expected: paidOut.toString(),
        measured: workerReceived.toString(),
        ...(notComparable.includes('worker') ? { compared: false } : {}),
      },
    },
  };
}

/** At most one `paid` transition and one payout per task on the relay. */
export function noDoublePayout(chains: RelayChains): Check {
  const failures: string[] = [];
  for (const [taskId, transitions] of chains.byTask) {
    const paid = transitions.filter((one) => one.state === 'paid');
    if (paid.length > 1) failures.push(`task ${taskId}: ${paid.length} paid transitions`);
    const settled = transitions.filter((one) => one.state === 'settled');
    if (settled.length > 1) failures.push(`task ${taskId}: ${settled.length} settled transitions`);
  }
  return check('no-double-payout', failures, 'at most one settled and one paid transition per task');
}

/**
 * Nothing left in flight at the end: no hold ACCEPTED at the agent's node, no HTLC pending on any channel, and no
 * offer of a finished task still payable (its hold OPEN). An OPEN hold that no task offered (made, then the agent
 * was killed or another replica won the offer) is no money and cannot be paid (its invoice was never published):
 * it is counted in the detail, not failed.
 */
export function noHoldLeft(after: Figures, chains?: RelayChains): Check {
  const failures: string[] = [];
  const accepted = after.agentHolds?.ACCEPTED ?? 0;
  if (accepted > 0) failures.push(`${accepted} hold(s) still ACCEPTED at the agent's node`);
  for (const [name, node] of Object.entries({
    payer: after.payer,
    worker: after.worker,
    agent: after.agent,
  })) {
    if (node && node.pendingHtlcs > 0)
      failures.push(`${node.pendingHtlcs} HTLC(s) still pending on the ${name} node`);
  }
  const offeredBy = new Map<string, string>();
  for (const [taskId, transitions] of chains?.byTask ?? []) {
    for (const one of transitions) {
      if (one.state === 'offered')
        offeredBy.set((one.details as { paymentHash: string }).paymentHash, taskId);
    }
  }
  let orphans = 0;
  for (const hold of after.unfinishedHolds ?? []) {
    if (hold.state !== 'OPEN') continue;
    const taskId = offeredBy.get(hold.paymentHash);
    if (taskId === undefined) orphans++;
    else
      failures.push(
        `task ${taskId}: its hold ${hold.paymentHash} is still OPEN (payable) at the agent's node`,
      );
  }
  const holds = after.agentHolds
    ? `holds by state at the agent's node: ${JSON.stringify(after.agentHolds)}`
    : '';
  return check(
    'no-hold-left',
    failures,
    `${holds || 'pending HTLCs on every node'}${orphans > 0 ? `; ${orphans} OPEN hold(s) no task offered (never published, unpayable; they expire)` : ''}`,
  );
}

/** Every task's chain on the relay: it verifies (verifyTaskHistory), one root, no fork, no transition twice. */
export function chainsValid(results: readonly LifecycleResult[], chains: RelayChains, agent: string): Check {
  const failures: string[] = [];
  const ours = new Set(results.flatMap((result) => (result.taskId ? [result.taskId] : [])));
  for (const taskId of ours) {
    const transitions = chains.byTask.get(taskId) ?? [];
    if (transitions.length === 0) {
      failures.push(`task ${taskId}: no transition on the relay`);
      continue;
    }
    const roots = transitions.filter((one) => one.prev === null);
    if (roots.length !== 1)
      failures.push(`task ${taskId}: ${roots.length} first transitions (one chain per task)`);
    const byPrev = new Map<string, number>();
    for (const one of transitions) {
      if (one.prev === null) continue;
      byPrev.set(one.prev, (byPrev.get(one.prev) ?? 0) + 1);
    }
    for (const [prev, count] of byPrev)
      if (count > 1) failures.push(`task ${taskId}: fork: ${count} transitions follow ${prev}`);
    const seen = new Set<string>();
    for (const one of transitions) {
      const key = `${one.prev}:${one.state}:${one.cause}`;
      if (seen.has(key))
        failures.push(`task ${taskId}: duplicate transition to ${one.state} after ${one.prev}`);
      seen.add(key);
    }
    const report = verifyTaskHistory({ agentPubkey: agent, taskId, events: chains.events });
    if (!report.ok) failures.push(`task ${taskId}: ${report.problems.slice(0, 3).join('; ')}`);
  }
  for (const taskId of chains.byTask.keys()) {
    if (!ours.has(taskId)) failures.push(`task ${taskId}: on the relay, but no lifecycle posted it`);
  }
  return check(
    'relay-chains',
    failures,
    `${ours.size} tasks: one chain each, no fork, no duplicate, verifyTaskHistory ok`,
  );
}
