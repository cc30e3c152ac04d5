// The driver's lifecycles: each posts one task and plays its people (poster, worker, arbitrator) through one of the
// outcomes the torture mixes, signing with their keys and publishing on the relay the way `escrow-agent task` does
// (src/protocol's builders), paying the hold from the payer's wallet and making the payout invoice on the worker's.
// It waits for the agent's answer at each step; a kill of the agent in between only makes the wait longer.
import { randomBytes } from 'node:crypto';
import { finalizeEvent, getPublicKey } from 'nostr-tools/pure';
import { type ActionInputWithout, buildAction } from '../../src/protocol/build-action.ts';
import { buildListing, type ListingInput } from '../../src/protocol/build-listing.ts';
import type { ParsedTransition } from '../../src/protocol/parse-transition.ts';
import type { NostrEvent } from '../../src/protocol/schemas.ts';
import type { PeopleWallet } from './people-wallet.ts';
import type { Random } from './random.ts';
import type { TaskWatch } from './task-watch.ts';

export const LIFECYCLE_KINDS = [
  'paid',
  'review_timeout',
  'cancel_unfunded',
  'cancel_funded',
  'claim_timeout',
  'dispute_worker',
  'dispute_poster',
] as const;
export type LifecycleKind = (typeof LIFECYCLE_KINDS)[number];

/** The state each kind must end in. */
export const EXPECTED_END: Record<LifecycleKind, 'paid' | 'refunded' | 'cancelled'> = {
  paid: 'paid',
  review_timeout: 'paid',
  cancel_unfunded: 'cancelled',
  cancel_funded: 'refunded',
  claim_timeout: 'refunded',
  dispute_worker: 'paid',
  dispute_poster: 'refunded',
};

export const TERMINAL = ['paid', 'refunded', 'cancelled', 'expired'] as const;

export interface Person {
  secretKey: Uint8Array;
  pubkey: string;
}

export function person(): Person {
  const secretKey = new Uint8Array(randomBytes(32));
  return { secretKey, pubkey: getPublicKey(secretKey) };
}

export interface DriverContext {
  agent: string;
  watch: TaskWatch;
  payer: PeopleWallet;
  worker: PeopleWallet;
  poster: Person;
  workerKey: Person;
  arbitrator: Person;
  random: Random;
  /** How long one step may wait for the agent's answer (kills and restarts included). */
  stepTimeoutMs: number;
  /** Called right after an approval (or a verdict that pays) was published: the harness may kill an agent now. */
  afterApproval(): void;
}

export interface LifecycleResult {
  index: number;
  kind: LifecycleKind;
  taskId: string | null;
  amountMsat: string;
  feeMsat: string | null;
  expected: string;
  /** The terminal state the agent published, or the last state seen. */
  ended: string | null;
  /** Whether the payer's node was asked to pay the hold. */
  paidHold: boolean;
  ok: boolean;
  error: string | null;
  seconds: number;
  /** `paid` lifecycles that ended paid: from the approval's publication to the `paid` event seen on the relay. */
  approvalToPaidMs: number | null;
}

/** Long enough that no kill and restart lets a window close by itself; the timeout kinds shorten one to the
 * shortest the agent takes (60 s), and it acts on it at its next tick (every 15 s). */
const WINDOWS = { claim: 900, work: 900, review: 900, dispute: 900 };

export async function runLifecycle(
  context: DriverContext,
  index: number,
  kind: LifecycleKind,
  amountMsat: bigint,
): Promise<LifecycleResult> {
  const started = Date.now();
  const result: LifecycleResult = {
    index,
    kind,
    taskId: null,
    amountMsat: amountMsat.toString(),
    feeMsat: null,
    expected: EXPECTED_END[kind],
    ended: null,
    paidHold: false,
    ok: false,
    error: null,
    seconds: 0,
    approvalToPaidMs: null,
  };
  let approvedAt: number | null = null;
  try {
    await play(context, kind, amountMsat, result, (at) => {
      approvedAt = at;
    });
    const end = await step(context, result, TERMINAL, 'its end');
    if (approvedAt !== null && end.state === 'paid') result.approvalToPaidMs = Date.now() - approvedAt;
    result.ended = end.state;
    result.ok = end.state === result.expected;
    if (!result.ok) result.error = `ended ${end.state}, expected ${result.expected}`;
  } catch (error) {
    result.error = (error as Error).message;
    const seen = result.taskId ? context.watch.task(result.taskId)?.transitions : undefined;
    result.ended = seen?.at(-1)?.state ?? null;
  }
  result.seconds = Math.round((Date.now() - started) / 100) / 10;
  return result;
}

async function play(
  context: DriverContext,
  kind: LifecycleKind,
  amountMsat: bigint,
  result: LifecycleResult,
  approved: (at: number) => void,
): Promise<void> {
  const { poster, workerKey, arbitrator } = context;
  const windows = {
    ...WINDOWS,
    ...(kind === 'claim_timeout' ? { claim: 60 } : {}),
    ...(kind === 'review_timeout' ? { review: 60 } : {}),
  };
  const listingInput: ListingInput = {
    d: `torture-${randomBytes(6).toString('hex')}`,
    title: `torture ${result.index} ${kind}`,
    amountMsat,
    agent: context.agent,
    windows,
    ...(kind.startsWith('dispute') ? { arbitrators: [arbitrator.pubkey] } : {}),
    content: 'a task of the crash-torture harness',
    createdAt: now(),
  };
  const listing = sign(buildListing(listingInput), poster);
  result.taskId = listing.id;
  await publish(context, result, listing);
  const offered = await step(context, result, ['offered'], 'the offer');
  if (offered.state !== 'offered') throw new Error(`the agent answered the listing with ${offered.state}`);
  const details = offered.details as { bolt11: string; feeMsat: bigint; amountMsat: bigint };
  result.feeMsat = details.feeMsat.toString();
  const taskId = listing.id;
  const act = (who: Person, action: ActionInputWithout<'taskId' | 'agent' | 'createdAt'>) =>
    publish(
      context,
      result,
      sign(buildAction({ ...action, taskId, agent: context.agent, createdAt: now() } as never), who),
    );

  if (kind === 'cancel_unfunded') {
    await act(poster, { action: 'cancel' });
    return;
  }
  result.paidHold = true;
  await payUntilFunded(context, result, details.bolt11);
  if (kind === 'cancel_funded') {
    await act(poster, { action: 'cancel' });
    return;
  }
  if (kind === 'claim_timeout') return;
  await act(workerKey, { action: 'claim' });
  await step(context, result, ['claimed'], 'the claim');
  const invoice = await context.worker.makeInvoice(
    details.amountMsat - details.feeMsat,
    `torture payout ${result.index}`,
  );
  await act(workerKey, { action: 'submit', delivery: 'done, see the attached work', bolt11: invoice });
  await step(context, result, ['submitted'], 'the submission');
  if (kind === 'review_timeout') return;
  if (kind === 'paid') {
    const at = Date.now();
    await act(poster, { action: 'approve' });
    approved(at);
    context.afterApproval();
    return;
  }
  await act(poster, { action: 'dispute', reason: 'the work is not what was asked' });
  await step(context, result, ['disputed'], 'the dispute');
  const outcome = kind === 'dispute_worker' ? 'worker' : 'poster';
  await act(arbitrator, { action: 'verdict', outcome });
  if (outcome === 'worker') context.afterApproval();
}

/**
 * Pays the hold and waits for `funded`. A payment the payer's node reports failed (no usable channel while the
 * embedded set-up restarts or replaces one) is made again while the task is still only offered; a payment in
 * flight is never doubled (the node would refuse a second payment of the same hash anyway).
 */
async function payUntilFunded(
  context: DriverContext,
  result: LifecycleResult,
  bolt11: string,
): Promise<void> {
  const giveUp = Date.now() + context.stepTimeoutMs;
  for (;;) {
    const outcome = context.payer.payAndForget(bolt11);
    const funded = await Promise.race([
      context.watch.waitFor(result.taskId!, ['funded'], Math.max(1, giveUp - Date.now())),
      outcome.then((text) => (text.startsWith('error') ? ('failed' as const) : new Promise<null>(() => {}))),
    ]);
    if (funded === 'failed' && Date.now() < giveUp) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      if (context.watch.task(result.taskId!)?.states.has('funded')) return;
      continue;
    }
    if (funded && funded !== 'failed') return;
    await step(context, result, ['funded'], 'funding');
    return;
  }
}

async function step(
  context: DriverContext,
  result: LifecycleResult,
  states: readonly string[],
  what: string,
): Promise<ParsedTransition> {
  const taskId = result.taskId!;
  const last = lastEvent.get(result);
  const found = await Promise.race([
    context.watch.waitFor(taskId, states, context.stepTimeoutMs),
    last
      ? context.watch.waitRefusal(last, context.stepTimeoutMs).then((refusal) => {
          if (refusal)
            throw new Error(
              `the agent refused ${what === 'its end' ? 'the last action' : 'the action'}: ${refusal.code}: ${refusal.reason}`,
            );
          return new Promise<null>(() => {});
        })
      : new Promise<null>(() => {}),
  ]);
  if (found) return found;
  const seen = context.watch.task(taskId)?.transitions.map((one) => one.state) ?? [];
  throw new Error(
    `no ${what} (${states.join('|')}) within ${context.stepTimeoutMs / 1000} s; the agent published: ${seen.join(' -> ') || 'nothing'}`,
  );
}

/** The last event each lifecycle published: a refusal of it ends the wait for the next step at once. */
const lastEvent = new WeakMap<LifecycleResult, string>();

async function publish(context: DriverContext, result: LifecycleResult, event: NostrEvent): Promise<void> {
  lastEvent.set(result, event.id);
  // In the embedded set-up the relay dies with the agent: it is tried again until it is back (a step's wait).
  const giveUp = Date.now() + context.stepTimeoutMs;
  for (;;) {
    const report = await context.watch.session.publish(event);
    if (report.accepted.length > 0) return;
    if (Date.now() > giveUp)
      throw new Error(`the relay did not take event ${event.id}: ${JSON.stringify(report.refused)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function sign(template: Parameters<typeof finalizeEvent>[0], who: Person): NostrEvent {
  return finalizeEvent(template, who.secretKey) as NostrEvent;
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}
