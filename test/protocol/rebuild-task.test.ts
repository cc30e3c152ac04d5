// Rebuilding a task's domain events from its public log: every example task in docs/examples rebuilds to the state
// and the ledger its transitions say; lifecycles the real decider runs (every path to paid, refunded, expired and
// cancelled, custody, verdicts, payout failures, late invoices) rebuild to the same public projection as the task
// the decider folded; what the log cannot tell (an invoice fetched from a Lightning address, a missing cause, an
// impossible sequence, a window nobody dated) is reported as a problem, never thrown.
import { getPublicKey } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  EXAMPLE_KEYS,
  EXAMPLE_POLICY,
  exampleInvoice,
  exampleNodeKey,
  hashHex,
  payoutInvoice,
  preimage,
  sign,
} from '../../scripts/examples/fixtures.ts';
import { buildExamples } from '../../scripts/examples/lifecycles.ts';
import { requiredFinalCltv } from '../../src/domain/deadlines.ts';
import { decide } from '../../src/domain/decide.ts';
import { evolve } from '../../src/domain/evolve.ts';
import { conservationViolation, feeFor, splitShares } from '../../src/domain/money.ts';
import {
  publicProjection,
  publicProjectionHash,
  publicTaskHash,
} from '../../src/domain/public-projection.ts';
import type { Command, Hex32, Policy, Task } from '../../src/domain/types.ts';
import { type ActionInput, actionTemplate, buildAction } from '../../src/protocol/build-action.ts';
import { parseAnnouncement } from '../../src/protocol/build-announcement.ts';
import { buildListing } from '../../src/protocol/build-listing.ts';
import { buildRejection } from '../../src/protocol/build-notices.ts';
import { buildTransition } from '../../src/protocol/build-transition.ts';
import { describeTransition } from '../../src/protocol/describe-transition.ts';
import { parseAction } from '../../src/protocol/parse-action.ts';
import { parseTaskListing } from '../../src/protocol/parse-task-listing.ts';
import {
  type RebuildInput,
  type RebuildResult,
  type RebuiltTask,
  rebuildTaskEvents,
  refusedActionIds,
} from '../../src/protocol/rebuild-task.ts';
import type { NostrEvent } from '../../src/protocol/schemas.ts';
import { verifyTaskHistory } from '../../src/protocol/verify-history.ts';

// ------------------------------------------------------------------------------------------- helpers

function rebuilt(result: RebuildResult): RebuiltTask {
  if ('problem' in result) throw new Error(`not rebuildable: ${result.problem}`);
  return result;
}

function problemOf(result: RebuildResult): string {
  if (!('problem' in result)) throw new Error(`rebuilt as ${result.task.state}, expected a problem`);
  return result.problem;
}

/** Everything a rebuild gets from relay events: the verified chain, the inputs by id, the refusals. */
function inputsFrom(
  agentPubkey: Hex32,
  taskId: Hex32,
  events: readonly NostrEvent[],
  policy?: RebuildInput['policy'],
): RebuildInput {
  const report = verifyTaskHistory({ agentPubkey, taskId, events });
  assert.ok(report.ok, report.problems.join('\n'));
  return {
    agentPubkey,
    transitions: report.chain,
    inputs: new Map(events.filter((event) => event.pubkey !== agentPubkey).map((event) => [event.id, event])),
    refused: refusedActionIds(agentPubkey, events),
    ...(policy ? { policy } : {}),
  };
}

const taskOf = (event: NostrEvent) => event.tags.find((tag) => tag[0] === 'e' && tag[3] === 'task')?.[1];

// ------------------------------------------------------------------------------------------- examples

const examples = buildExamples();
const exampleEvents = examples.map(({ event }) => event);
const announcement = parseAnnouncement(
  examples.find(({ file }) => file.endsWith('-agent-announcement.json'))!.event,
);
if (!announcement.ok) throw new Error(announcement.reason);
const announcedPolicy = announcement.announcement.policy;
const exampleTaskIds = [
  ...new Set(
    exampleEvents
      .filter((event) => event.pubkey === EXAMPLE_KEYS.agent && event.kind === 1985)
      .map(taskOf)
      .filter((id): id is string => id !== undefined),
  ),
];

function rebuildExample(taskId: string, events = exampleEvents, policy = announcedPolicy) {
  return rebuildTaskEvents(inputsFrom(EXAMPLE_KEYS.agent, taskId, events, policy));
}

test('every example task rebuilds to the state and the ledger its transitions say', () => {
  assert.is(exampleTaskIds.length, 5);
  for (const taskId of exampleTaskIds) {
    const report = verifyTaskHistory({ agentPubkey: EXAMPLE_KEYS.agent, taskId, events: exampleEvents });
    const last = report.chain[report.chain.length - 1]!;
    const { task, warnings } = rebuilt(rebuildExample(taskId));
    assert.is(task.state, last.state, `task ${taskId.slice(0, 8)}`);
    assert.equal(warnings, [], `task ${taskId.slice(0, 8)}: ${warnings.join('; ')}`);
    assert.is(conservationViolation(task.ledger), null);
    // The ledger is what verify-history's totals say the log proves.
    assert.is(task.ledger.receivedMsat, report.totals.receivedMsat, 'received');
    assert.is(task.ledger.paidToWorkerMsat + task.ledger.paidToPosterMsat, report.totals.paidMsat, 'paid');
    assert.is(task.ledger.feeMsat, report.totals.feeMsat, 'fee');
    assert.is(task.ledger.refundedMsat, report.totals.refundedMsat, 'refunded');
    assert.is(task.ledger.routingFeeMsat, report.totals.routingFeeMsat, 'routing fee');
    assert.is(task.ledger.heldMsat, 0n, 'nothing held at the end');
  }
});

test('the happy path example: the listing, the window override, the worker paid with the submitted invoice', () => {
  const events = new Map(examples.map(({ file, event }) => [file, event]));
  const listing = events.get('04-task-listing.json')!;
  const { task, used, events: domainEvents } = rebuilt(rebuildExample(listing.id));
  assert.is(task.state, 'paid');
  assert.is(task.title, 'Translate the README into Spanish');
  assert.equal(
    task.windows,
    { ...EXAMPLE_POLICY.windows, workSeconds: 28_800 },
    'the listing sets the work window',
  );
  assert.is(task.feeMsat, feeFor(21_000_000n, EXAMPLE_POLICY.fee));
  assert.equal(task.arbitration.arbitrators, [EXAMPLE_KEYS.arbitrator]);
  assert.is(task.workerInvoice, events.get('10-submit.json')!.tags.find((tag) => tag[0] === 'bolt11')![1]);
  assert.is(task.payouts[0]!.bolt11, task.workerInvoice);
  assert.is(task.ledger.paidToWorkerMsat, 21_000_000n - task.feeMsat);
  assert.is(task.ledger.routingFeeMsat, 2_000n);
  const htlcExpiry = events.get('07-funded.json')!.tags.find((tag) => tag[0] === 'htlc_expiry')![1];
  assert.is(task.funding?.htlcExpiryHeight, Number(htlcExpiry));
  assert.equal(
    domainEvents.map((event) => event.type),
    [
      'task_posted',
      'offered',
      'funded',
      'claimed',
      'submitted',
      'settle_requested',
      'hold_settled',
      'payout_started',
      'payout_succeeded',
    ],
  );
  // Every event is dated at its transition's created_at.
  assert.is(domainEvents[0]!.at, events.get('05-offered.json')!.created_at);
  // The refused approve (the worker approving their own work) is not among what the agent handled.
  assert.ok(used.includes(events.get('14-approve.json')!.id));
  assert.not.ok(used.includes(events.get('12-rejected-approve.json')!.id));
});

test('the split example: the worker gave its invoice without a transition, the poster then; each paid its share', () => {
  const events = new Map(examples.map(({ file, event }) => [file, event]));
  const listing = events.get('24-dispute-task-listing.json')!;
  const { task, used } = rebuilt(rebuildExample(listing.id));
  const shares = splitShares(50_000_000n - task.feeMsat, 6_000);
  assert.is(task.state, 'paid');
  assert.equal(task.resolution, { kind: 'split', workerShareBps: 6_000 });
  assert.is(task.disputedBy, EXAMPLE_KEYS.poster);
  assert.is(task.verdicts.length, 1);
  assert.is(task.ledger.paidToWorkerMsat, shares.worker);
  assert.is(task.ledger.paidToPosterMsat, shares.poster);
  assert.is(task.ledger.routingFeeMsat, 3_000n);
  for (const file of [
    '36-dispute-worker-payout-invoice.json',
    '37-dispute-payout-invoice.json',
    '33-dispute-verdict.json',
  ])
    assert.ok(used.includes(events.get(file)!.id), file);
  // Without the worker's invoice (a relay lost it) the custody transition cannot be explained.
  const without = exampleEvents.filter(
    (event) => event.id !== events.get('36-dispute-worker-payout-invoice.json')!.id,
  );
  assert.match(problemOf(rebuildExample(listing.id, without)), /no payout invoice from the worker/);
});

test('a missing cause, an impossible sequence, or a window nobody dated is a problem, not an exception', () => {
  const events = new Map(examples.map(({ file, event }) => [file, event]));
  const happy = events.get('04-task-listing.json')!.id;
  // The submit action is gone: the worker's payout invoice is unknown.
  const noSubmit = exampleEvents.filter((event) => event.id !== events.get('10-submit.json')!.id);
  assert.match(problemOf(rebuildExample(happy, noSubmit)), /submit action .* is not among the events/);
  // The happy path's dispute window is in neither the listing nor the log: the policy is needed.
  const input = inputsFrom(EXAMPLE_KEYS.agent, happy, exampleEvents);
  assert.match(problemOf(rebuildTaskEvents(input)), /the dispute window is neither in the listing nor dated/);
  // The disputed task dates its dispute window itself: no policy needed.
  const dispute = events.get('24-dispute-task-listing.json')!.id;
  const withoutPolicy = rebuilt(rebuildTaskEvents(inputsFrom(EXAMPLE_KEYS.agent, dispute, exampleEvents)));
  assert.equal(withoutPolicy.task.windows, EXAMPLE_POLICY.windows);
  // A chain without its funded transition: claimed cannot follow offered.
  const skipped = input.transitions.filter((transition) => transition.state !== 'funded');
  assert.match(
    problemOf(rebuildTaskEvents({ ...input, transitions: skipped, policy: announcedPolicy })),
    /do not fold into a task: evolve: claimed on task .*, which is offered/,
  );
});

// ------------------------------------------------------------------------------- the decider's lifecycles

const AGENT_SECRET = new Uint8Array(Buffer.from(preimage('rebuild agent key'), 'hex'));
const POSTER_SECRET = new Uint8Array(Buffer.from(preimage('rebuild poster key'), 'hex'));
const WORKER_SECRET = new Uint8Array(Buffer.from(preimage('rebuild worker key'), 'hex'));
const ARBITER_SECRETS = [1, 2, 3].map(
  (n) => new Uint8Array(Buffer.from(preimage(`rebuild arbitrator ${n}`), 'hex')),
);
const AGENT = getPublicKey(AGENT_SECRET);
const ARBITERS = ARBITER_SECRETS.map((secret) => getPublicKey(secret));
const T = 1_760_000_000;
const AMOUNT = 40_000_000n;

function simPolicy(overrides: Partial<Policy> = {}): Policy {
  return {
    ...EXAMPLE_POLICY,
    arbitrators: ARBITERS,
    arbitratorProfiles: undefined,
    windows: { claimSeconds: 3_600, workSeconds: 7_200, reviewSeconds: 3_600, disputeSeconds: 1_800 },
    ...overrides,
  };
}

/**
 * One task run by the real decider, as the agent runs it: each command is decided and folded, each change of state
 * becomes the transition describeTransition says, built and signed as the agent signs it; people's actions are
 * signed labels parsed as the agent parses them, and a refused action gets its `rejected` label.
 */
class Lifecycle {
  task: Task | null = null;
  readonly log: NostrEvent[] = [];
  now = T;
  height = 1_000;
  private prev: string | null = null;
  private prevAt = 0;
  readonly listing: NostrEvent;
  readonly escrowPreimage: string;

  constructor(
    readonly policy: Policy,
    listingExtra: { windows?: Record<string, number>; tags?: string[][] } = {},
  ) {
    const template = buildListing({
      d: `task-${Math.random()}`,
      title: 'Rebuild me',
      amountMsat: AMOUNT,
      agent: AGENT,
      windows: listingExtra.windows ?? {},
      content: 'A task',
      createdAt: this.now,
    });
    this.listing = sign(
      { ...template, tags: [...template.tags, ...(listingExtra.tags ?? [])] },
      POSTER_SECRET,
    );
    this.log.push(this.listing);
    this.escrowPreimage = preimage(`escrow ${this.listing.id}`);
  }

  get id() {
    return this.listing.id;
  }

  tick(seconds: number, blocks = 0) {
    this.now += seconds;
    this.height += blocks;
  }

  async post() {
    const parsed = parseTaskListing(this.listing, { agentPubkey: AGENT });
    if (!parsed.ok) throw new Error(parsed.reason);
    await this.apply(parsed.listing.command, this.listing);
  }

  async offer() {
    const windows = this.task!.windows;
    const cltv = requiredFinalCltv(windows, this.policy);
    await this.apply({
      type: 'offer',
      paymentHash: hashHex(this.escrowPreimage),
      bolt11: exampleInvoice({
        node: exampleNodeKey('agent'),
        amountMsat: AMOUNT,
        timestamp: this.now,
        paymentHash: hashHex(this.escrowPreimage),
        description: 'escrow',
        expirySeconds: this.policy.invoiceExpirySeconds,
        minFinalCltv: cltv,
      }),
      invoiceExpiresAt: this.now + this.policy.invoiceExpirySeconds,
      finalCltvDelta: cltv,
    });
  }

  async fund(amountMsat = AMOUNT) {
    const htlc = this.height + 200;
    await this.apply({
      type: 'hold_accepted',
      paymentHash: hashHex(this.escrowPreimage),
      amountMsat,
      htlcExpiryHeight: htlc,
      claimDeadlineHeight: htlc - this.policy.backendAutoCancelBlocks,
    });
  }

  /** A person's action, signed, parsed as the agent parses it, and applied. */
  async act(secret: Uint8Array, input: Record<string, unknown>, raw?: { name: string; tags: string[][] }) {
    this.tick(5);
    const template = raw
      ? actionTemplate({
          name: raw.name,
          taskId: this.id,
          agent: AGENT,
          createdAt: this.now,
          extraTags: raw.tags,
        })
      : buildAction({ ...input, taskId: this.id, agent: AGENT, createdAt: this.now } as ActionInput);
    const event = sign(template, secret);
    this.log.push(event);
    const parsed = parseAction(event, { agentPubkey: AGENT });
    if (!parsed.ok) throw new Error(parsed.reason);
    const command =
      parsed.action.command.type === 'verdict'
        ? { ...parsed.action.command, eventId: event.id }
        : parsed.action.command;
    return this.apply(command, event);
  }

  settle() {
    return this.apply({ type: 'hold_settled', paymentHash: hashHex(this.escrowPreimage) });
  }

  cancelled() {
    return this.apply({ type: 'hold_cancelled', paymentHash: hashHex(this.escrowPreimage) });
  }

  /** Pays the recipient's due payout: its invoice's payment hash, and the proof its node reveals. */
  async pay(recipient: 'worker' | 'poster', proof: string, routingFeeMsat = 0n) {
    const payout = this.task!.payouts.find((candidate) => candidate.recipient === recipient)!;
    await this.apply({
      type: 'payout_start',
      recipient,
      bolt11: payout.bolt11!,
      paymentHash: hashHex(proof),
      amountMsat: payout.amountMsat,
    });
    await this.apply({ type: 'payout_succeeded', recipient, routingFeeMsat, preimage: proof });
  }

  async failPayout(recipient: 'worker' | 'poster', proofOfInvoice: string) {
    const payout = this.task!.payouts.find((candidate) => candidate.recipient === recipient)!;
    await this.apply({
      type: 'payout_start',
      recipient,
      bolt11: payout.bolt11!,
      paymentHash: hashHex(proofOfInvoice),
      amountMsat: payout.amountMsat,
    });
    await this.apply({ type: 'payout_failed', recipient, reason: 'no route' });
  }

  async apply(command: Command, cause: NostrEvent | null = null): Promise<boolean> {
    this.tick(1);
    const decision = decide(this.task, command, { now: this.now, height: this.height, policy: this.policy });
    if (!decision.ok) {
      if (cause) {
        this.log.push(
          sign(
            buildRejection({
              eventId: cause.id,
              author: cause.pubkey,
              taskId: this.id,
              code: decision.rejection.code,
              reason: decision.rejection.message,
              createdAt: this.now,
            }),
            AGENT_SECRET,
          ),
        );
      }
      return false;
    }
    for (const event of decision.events) {
      const before = this.task;
      const after = evolve(before, event);
      this.task = after;
      const body = await describeTransition(before, after, event, {
        policy: this.policy,
        height: this.height,
        listing: () => this.listing,
        preimage: async () => this.escrowPreimage,
      });
      if (body === null) continue;
      const createdAt = Math.max(this.now, this.prevAt + 1);
      const signed = sign(
        buildTransition({
          ...body,
          taskId: this.id,
          prev: this.prev,
          cause: cause?.id ?? null,
          poster: after.poster,
          worker: after.worker,
          createdAt,
        } as Parameters<typeof buildTransition>[0]),
        AGENT_SECRET,
      );
      this.log.push(signed);
      this.prev = signed.id;
      this.prevAt = createdAt;
    }
    return true;
  }

  rebuild(policy: RebuildInput['policy'] = this.policy): RebuildResult {
    return rebuildTaskEvents(inputsFrom(AGENT, this.id, this.log, policy));
  }

  /** The rebuilt task has the live task's public projection, and its events fold into it. */
  assertRebuilds(state: string) {
    const live = this.task!;
    assert.is(live.state, state, 'the decider got where the scenario meant');
    const { task } = rebuilt(this.rebuild());
    assert.equal(publicProjection(task), publicProjection(live));
    assert.is(publicTaskHash(task), publicTaskHash(live));
    assert.is(publicProjectionHash([task]), publicProjectionHash([live]));
  }
}

async function funded(policy = simPolicy(), listing?: ConstructorParameters<typeof Lifecycle>[1]) {
  const life = new Lifecycle(policy, listing);
  await life.post();
  await life.offer();
  life.tick(60);
  await life.fund();
  return life;
}

const invoiceFor = (label: string, whose: 'worker' | 'poster', amountMsat: bigint) =>
  payoutInvoice(`rebuild ${label}`, whose, amountMsat, T);

async function submitted(life: Lifecycle, withInvoice = true) {
  const net = AMOUNT - life.task!.feeMsat;
  const invoice = invoiceFor(`${life.id} submit`, 'worker', net);
  await life.act(WORKER_SECRET, { action: 'claim' });
  await life.act(WORKER_SECRET, {
    action: 'submit',
    delivery: 'done',
    ...(withInvoice ? { bolt11: invoice.bolt11 } : {}),
  });
  return invoice;
}

test('approved, paid: the worker gets amount - fee and the routing fee is on the ledger', async () => {
  const life = await funded();
  const invoice = await submitted(life);
  await life.act(POSTER_SECRET, { action: 'approve' });
  await life.settle();
  await life.pay('worker', invoice.proof, 1_234n);
  life.assertRebuilds('paid');
});

test('silence approves; a claim timeout, an amount mismatch and a node cancel refund', async () => {
  const review = await funded();
  const invoice = await submitted(review);
  review.tick(4_000);
  await review.apply({ type: 'tick' });
  await review.settle();
  await review.pay('worker', invoice.proof);
  review.assertRebuilds('paid');

  const unclaimed = await funded();
  unclaimed.tick(4_000);
  await unclaimed.apply({ type: 'tick' });
  await unclaimed.cancelled();
  unclaimed.assertRebuilds('refunded');

  const mismatch = new Lifecycle(simPolicy());
  await mismatch.post();
  await mismatch.offer();
  await mismatch.fund(AMOUNT + 1n);
  await mismatch.cancelled();
  mismatch.assertRebuilds('refunded');

  const nodeCancelled = await funded();
  await nodeCancelled.act(WORKER_SECRET, { action: 'claim' });
  await nodeCancelled.cancelled();
  nodeCancelled.assertRebuilds('refunded');
});

test('an invoice that expires unpaid, a poster who cancels before paying or before any offer', async () => {
  const expired = new Lifecycle(simPolicy());
  await expired.post();
  await expired.offer();
  expired.tick(4_000);
  await expired.apply({ type: 'tick' });
  await expired.cancelled();
  expired.assertRebuilds('expired');

  const cancelled = new Lifecycle(simPolicy());
  await cancelled.post();
  await cancelled.offer();
  await cancelled.act(POSTER_SECRET, { action: 'cancel' });
  await cancelled.cancelled();
  cancelled.assertRebuilds('cancelled');

  // Before any offer: the first transition is `cancelled`, the listing is not embedded, the policy fills in.
  const early = new Lifecycle(simPolicy(), { tags: [['p', ARBITERS[1]!, '', 'arbitrator']] });
  await early.post();
  await early.act(POSTER_SECRET, { action: 'cancel' });
  early.assertRebuilds('cancelled');
  assert.equal(early.task!.arbitration.arbitrators, [ARBITERS[1]]);
  assert.match(
    problemOf(rebuildTaskEvents(inputsFrom(AGENT, early.id, early.log))),
    /cancelled before its offer: its fee and arbitrators/,
  );
  const withoutListing = rebuildTaskEvents({
    ...inputsFrom(AGENT, early.id, early.log, early.policy),
    inputs: new Map(),
  });
  assert.match(problemOf(withoutListing), /listing is not among the events/);
});

test('2 of 3 arbitrators split, with a dissent and the other party statement; the shares are paid', async () => {
  const life = await funded(simPolicy(), { tags: [['threshold', '2']] });
  await submitted(life);
  await life.act(WORKER_SECRET, { action: 'dispute', reason: 'The poster wants more than was asked.' });
  await life.act(POSTER_SECRET, { action: 'dispute', reason: 'Half of it is missing.' });
  await life.act(ARBITER_SECRETS[0]!, { action: 'verdict', outcome: 'worker' });
  await life.act(ARBITER_SECRETS[1]!, { action: 'verdict', outcome: 'split', workerShareBps: 7_000 });
  await life.act(ARBITER_SECRETS[2]!, { action: 'verdict', outcome: 'split', workerShareBps: 7_000 });
  assert.is(life.task!.state, 'settling');
  await life.settle();
  const net = AMOUNT - life.task!.feeMsat;
  const shares = splitShares(net, 7_000);
  // An early invoice from the worker, before the hold settled, was refused; the rebuild leaves it out.
  const workerShare = invoiceFor(`${life.id} worker share`, 'worker', shares.worker);
  const posterShare = invoiceFor(`${life.id} poster share`, 'poster', shares.poster);
  await life.act(WORKER_SECRET, {
    action: 'payout_invoice',
    recipient: 'worker',
    bolt11: workerShare.bolt11,
  });
  await life.pay('worker', workerShare.proof, 10n);
  await life.act(POSTER_SECRET, {
    action: 'payout_invoice',
    recipient: 'poster',
    bolt11: posterShare.bolt11,
  });
  await life.pay('poster', posterShare.proof, 20n);
  life.assertRebuilds('paid');
  const { task } = rebuilt(life.rebuild());
  assert.is(task.statements.length, 2, 'both statements');
  assert.is(task.verdicts.length, 3, 'the dissent is on record');
  assert.is(task.ledger.routingFeeMsat, 30n);
  assert.is(task.payouts[0]!.routingFeeMsat + task.payouts[1]!.routingFeeMsat, 30n);
});

test('a dispute outlives the hold into custody; verdicts in custody decide for the poster, who then gives an invoice', async () => {
  const life = await funded(simPolicy({ disputeDeadlineRule: 'custody' }), { tags: [['threshold', '2']] });
  await submitted(life);
  await life.act(POSTER_SECRET, { action: 'dispute', reason: 'Nothing works.' });
  await life.act(ARBITER_SECRETS[0]!, { action: 'verdict', outcome: 'worker' });
  life.tick(60, 200);
  await life.apply({ type: 'tick' });
  assert.is(life.task!.state, 'settling');
  // A verdict while the hold settles into custody is recorded, and acts once it is settled.
  await life.act(ARBITER_SECRETS[1]!, { action: 'verdict', outcome: 'poster' });
  await life.settle();
  assert.is(life.task!.state, 'custody');
  await life.act(ARBITER_SECRETS[2]!, { action: 'verdict', outcome: 'poster' });
  assert.is(life.task!.state, 'payout_pending');
  const refund = invoiceFor(`${life.id} poster refund`, 'poster', AMOUNT - life.task!.feeMsat);
  await life.act(POSTER_SECRET, { action: 'payout_invoice', recipient: 'poster', bolt11: refund.bolt11 });
  await life.pay('poster', refund.proof, 7n);
  life.assertRebuilds('paid');

  // The same rule, the verdicts reaching k while the hold is settling: hold_settled and verdict_given together.
  const quick = await funded(simPolicy({ disputeDeadlineRule: 'custody' }));
  const submittedInvoice = await submitted(quick);
  await quick.act(POSTER_SECRET, { action: 'dispute', reason: 'Late.' });
  quick.tick(60, 200);
  await quick.apply({ type: 'tick' });
  await quick.act(ARBITER_SECRETS[0]!, { action: 'verdict', outcome: 'worker' });
  await quick.settle();
  assert.is(quick.task!.state, 'settled');
  await quick.pay('worker', submittedInvoice.proof);
  quick.assertRebuilds('paid');
});

test('payouts that fail until the worker is asked again; a submission without an invoice; a hold deadline', async () => {
  const life = await funded();
  const first = await submitted(life);
  await life.act(POSTER_SECRET, { action: 'approve' });
  await life.settle();
  for (let attempt = 0; attempt < 3; attempt++) await life.failPayout('worker', first.proof);
  assert.is(life.task!.state, 'payout_pending');
  const second = invoiceFor(`${life.id} second`, 'worker', AMOUNT - life.task!.feeMsat);
  await life.act(WORKER_SECRET, { action: 'payout_invoice', recipient: 'worker', bolt11: second.bolt11 });
  await life.pay('worker', second.proof, 3n);
  life.assertRebuilds('paid');

  const noInvoice = await funded();
  await submitted(noInvoice, false);
  await noInvoice.act(POSTER_SECRET, { action: 'approve' });
  await noInvoice.settle();
  assert.is(noInvoice.task!.state, 'payout_pending');
  const late = invoiceFor(`${noInvoice.id} late`, 'worker', AMOUNT - noInvoice.task!.feeMsat);
  await noInvoice.act(WORKER_SECRET, { action: 'payout_invoice', recipient: 'worker', bolt11: late.bolt11 });
  await noInvoice.pay('worker', late.proof);
  noInvoice.assertRebuilds('paid');

  const deadline = await funded();
  const invoice = await submitted(deadline);
  deadline.tick(60, 200);
  await deadline.apply({ type: 'tick' });
  assert.is(deadline.task!.reason, 'hold_deadline');
  await deadline.settle();
  await deadline.pay('worker', invoice.proof);
  deadline.assertRebuilds('paid');
});

test('tasks that hold money rebuild too (their public part), and an address-fetched invoice is named as the gap', async () => {
  const claimed = await funded();
  await claimed.act(WORKER_SECRET, { action: 'claim' });
  claimed.assertRebuilds('claimed');

  const disputed = await funded();
  await submitted(disputed);
  await disputed.act(WORKER_SECRET, { action: 'dispute', reason: 'No answer.' });
  await disputed.act(POSTER_SECRET, { action: 'dispute', reason: 'It is wrong.' });
  await disputed.act(ARBITER_SECRETS[0]!, { action: 'verdict', outcome: 'split', workerShareBps: 1 });
  // Threshold 1: the first verdict decides, and the hold is being settled.
  disputed.assertRebuilds('settling');

  const settlingSplit = await funded();
  await submitted(settlingSplit);
  await settlingSplit.act(POSTER_SECRET, { action: 'dispute', reason: 'Half.' });
  await settlingSplit.act(ARBITER_SECRETS[2]!, {
    action: 'verdict',
    outcome: 'split',
    workerShareBps: 5_000,
  });
  await settlingSplit.settle();
  await settlingSplit.act(
    POSTER_SECRET,
    {},
    {
      name: 'payout_invoice',
      tags: [
        ['lud16', 'poster@wallet.example.com'],
        ['recipient', 'poster'],
      ],
    },
  );
  assert.is(
    settlingSplit.task!.payouts.find((payout) => payout.recipient === 'poster')?.address,
    'poster@wallet.example.com',
  );
  settlingSplit.assertRebuilds('payout_pending');
  const shares = splitShares(AMOUNT - settlingSplit.task!.feeMsat, 5_000);
  const workerShare = invoiceFor(`${settlingSplit.id} worker`, 'worker', shares.worker);
  await settlingSplit.act(WORKER_SECRET, {
    action: 'payout_invoice',
    recipient: 'worker',
    bolt11: workerShare.bolt11,
  });
  const fetched = invoiceFor(`${settlingSplit.id} fetched`, 'poster', shares.poster);
  await settlingSplit.apply({ type: 'payout_address_invoice', recipient: 'poster', bolt11: fetched.bolt11 });
  assert.is(settlingSplit.task!.state, 'custody');
  assert.match(
    problemOf(settlingSplit.rebuild()),
    /the poster gave the Lightning address poster@wallet\.example\.com: the invoice the agent fetched from it is not on the log/,
  );
  await settlingSplit.pay('worker', workerShare.proof);
  await settlingSplit.pay('poster', fetched.proof);
  assert.is(settlingSplit.task!.state, 'paid');
  assert.match(problemOf(settlingSplit.rebuild()), /Lightning address poster@wallet\.example\.com/);
});

test('the public projection leaves out clocks, attempts and the audit, and sorts tasks by id', async () => {
  const life = await funded();
  const invoice = await submitted(life);
  await life.act(POSTER_SECRET, { action: 'approve' });
  await life.settle();
  await life.failPayout('worker', invoice.proof);
  const live = life.task!;
  const projection = publicProjection(live) as unknown as Record<string, unknown>;
  for (const key of [
    'postedAt',
    'fundedAt',
    'claimedAt',
    'submittedAt',
    'version',
    'statements',
    'verdicts',
    'custodySince',
  ])
    assert.not.ok(key in projection, key);
  assert.not.ok('acceptedAt' in (projection.funding as object));
  assert.equal(projection.payouts, [
    { recipient: 'worker', amountMsat: AMOUNT - live.feeMsat, state: 'not_succeeded' },
  ]);
  const other = { ...live, id: '0'.repeat(64) } as Task;
  assert.is(publicProjectionHash([live, other]), publicProjectionHash([other, live]));
  assert.is.not(publicProjectionHash([live]), publicProjectionHash([{ ...live, title: 'x' } as Task]));
  assert.is(
    publicProjectionHash([live]),
    publicProjectionHash([{ ...live, version: 99, postedAt: 1 } as Task]),
  );
});

test.run();
