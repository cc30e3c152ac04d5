// Reputation assertions: what the agent builds reads back exactly once signed, the parser refuses anything
// not spelled the one way, the sources stay under the tag limits, and a task's outcome is read from the
// agent's own signed transitions alone (evidence, when given, is checked), equal to the outcome the agent reads
// from its own record of the task.
import { finalizeEvent } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EXAMPLE_KEYS, SECRET, sign } from '../../scripts/examples/fixtures.ts';
import { buildExamples } from '../../scripts/examples/lifecycles.ts';
import { sha256Hex } from '../../src/domain/canonical.ts';
import { decide } from '../../src/domain/decide.ts';
import { evolve } from '../../src/domain/evolve.ts';
import { taskOutcomeOf } from '../../src/domain/reputation.ts';
import type { Command, Policy, Task } from '../../src/domain/types.ts';
import { KINDS, LIMITS } from '../../src/protocol/constants.ts';
import { describeTransition } from '../../src/protocol/describe-transition.ts';
import {
  buildReputationAssertion,
  emptyReputationCounters,
  parseReputationAssertion,
  REPUTATION_SOURCES_CAP,
  type Reputation,
  reputationOf,
  taskOutcomeFromTransitions,
} from '../../src/protocol/index.ts';
import { type ParsedTransition, parseTransition } from '../../src/protocol/parse-transition.ts';
import { ProtocolInputError } from '../../src/protocol/protocol-input-error.ts';
import { type NostrEvent, parseEventJson } from '../../src/protocol/schemas.ts';
import { verifyEvent } from '../../src/protocol/verify-event.ts';
import { verifyTaskHistory } from '../../src/protocol/verify-history.ts';
import {
  AMOUNT,
  ARBITRATOR,
  ARBITRATOR_2,
  ARBITRATOR_3,
  FEE,
  H0,
  HOLD_INVOICE,
  PAYMENT_HASH,
  POSTER,
  POSTER_INVOICE,
  T0,
  TASK_ID,
  threeArbitratorPolicy,
  WORKER,
  WORKER_INVOICE,
} from '../fakes/domain.ts';

const AGENT_SECRET = SECRET.agent;
const SUBJECT = EXAMPLE_KEYS.worker;
const id = (n: number) => n.toString(16).padStart(64, '0');

const REPUTATION: Reputation = {
  pubkey: SUBJECT,
  counters: {
    tasksPaidAsWorker: 3,
    earnedMsat: 123_456_789n,
    tasksPaidAsPoster: 1,
    spentMsat: 21_000_000n,
    tasksRefunded: 2,
    refundedMsat: 3_000_000_000_000_000_000n, // more than one amount may be: a total over tasks
    disputesOpened: 1,
    disputesWon: 1,
    disputesLost: 0,
    verdictsGiven: 0,
  },
  sources: [id(3), id(1), id(2), id(5), id(4)].sort(),
};

function signed(reputation: Reputation = REPUTATION, rulesVersion = 7): NostrEvent {
  return finalizeEvent(
    buildReputationAssertion({ reputation, rulesVersion, createdAt: 1_750_000_000 }),
    AGENT_SECRET,
  ) as NostrEvent;
}
function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.instance(error, ProtocolInputError);
    return (error as Error).message;
  }
  throw new Error('not refused');
}
function withTags(event: NostrEvent, edit: (tags: string[][]) => string[][]): NostrEvent {
  return { ...event, tags: edit(event.tags.map((tag) => [...tag])) };
}
const replaceTag = (name: string, value: string) => (tags: string[][]) =>
  tags.map((tag) => (tag[0] === name ? [name, value] : tag));

test('an assertion builds, signs and reads back exactly, with the NIP-85 d and p tags and our label', () => {
  const event = signed();
  assert.ok(verifyEvent(event).ok);
  assert.is(event.kind, KINDS.trustedAssertion);
  assert.is(event.content, '');
  assert.equal(event.tags, [
    ['d', SUBJECT],
    ['p', SUBJECT],
    ['L', 'nostr-escrow/v1'],
    ['l', 'reputation', 'nostr-escrow/v1'],
    ['rules_version', '7'],
    ['tasks_paid_as_worker', '3'],
    ['earned_msat', '123456789'],
    ['tasks_paid_as_poster', '1'],
    ['spent_msat', '21000000'],
    ['tasks_refunded', '2'],
    ['refunded_msat', '3000000000000000000'],
    ['disputes_opened', '1'],
    ['disputes_won', '1'],
    ['disputes_lost', '0'],
    ['verdicts_given', '0'],
    ['sources', '5'],
    ...REPUTATION.sources.map((source) => ['e', source]),
  ]);
  assert.equal(parseReputationAssertion(event), { ...REPUTATION, rulesVersion: 7, sourcesTotal: 5 });
});

test('tags the protocol does not name are ignored; our own tags appear exactly once', () => {
  const event = signed();
  assert.equal(
    parseReputationAssertion(withTags(event, (tags) => [...tags, ['client', 'x'], ['alt', 'reputation']]))
      .counters,
    REPUTATION.counters,
  );
  assert.match(
    refusal(() => parseReputationAssertion(withTags(event, (tags) => [...tags, ['disputes_won', '1']]))),
    'disputes_won tag: needs exactly one',
  );
});

test('a counter in any spelling but the canonical decimal one is refused', () => {
  const event = signed();
  for (const spelling of ['01', '+1', '1e3', '1.0', '-1', ' 1', '0x1', '']) {
    assert.match(
      refusal(() => parseReputationAssertion(withTags(event, replaceTag('tasks_paid_as_worker', spelling)))),
      'tasks_paid_as_worker tag: must be a count',
    );
    assert.match(
      refusal(() => parseReputationAssertion(withTags(event, replaceTag('earned_msat', spelling)))),
      'earned_msat tag: must be',
    );
  }
  assert.match(
    refusal(() => parseReputationAssertion(withTags(event, replaceTag('rules_version', '0')))),
    'rules_version tag',
  );
});

test('the wrong kind, a missing or malformed d, a p for someone else and non-empty content are refused', () => {
  const event = signed();
  assert.match(
    refusal(() => parseReputationAssertion({ ...event, kind: 30383 })),
    'kind 30383 is not',
  );
  assert.match(
    refusal(() => parseReputationAssertion(withTags(event, (tags) => tags.filter((tag) => tag[0] !== 'd')))),
    'd tag: needs exactly one',
  );
  assert.match(
    refusal(() => parseReputationAssertion(withTags(event, replaceTag('d', SUBJECT.toUpperCase())))),
    'd tag',
  );
  assert.match(
    refusal(() => parseReputationAssertion(withTags(event, replaceTag('p', EXAMPLE_KEYS.poster)))),
    'p tag: must name the pubkey of the d tag',
  );
  assert.match(
    refusal(() => parseReputationAssertion({ ...event, content: 'hi' })),
    'content',
  );
  assert.match(
    refusal(() => parseReputationAssertion(withTags(event, (tags) => tags.filter((tag) => tag[0] !== 'L')))),
    'L tag',
  );
});

test('sources must be sorted, each once, as many as the count says (up to the cap), and no count may exceed them', () => {
  const event = signed();
  assert.match(
    refusal(() => parseReputationAssertion(withTags(event, (tags) => tags.reverse()))),
    'must list the sources sorted',
  );
  assert.match(
    refusal(() => parseReputationAssertion(withTags(event, replaceTag('sources', '6')))),
    'must list min(sources',
  );
  assert.match(
    refusal(() => parseReputationAssertion(withTags(event, (tags) => [...tags, ['e', id(1), 'wss://x']]))),
    'e tag',
  );
  const few = { ...REPUTATION, sources: [id(1)] };
  assert.match(
    refusal(() => buildReputationAssertion({ reputation: few, rulesVersion: 1, createdAt: 1 })),
    'sources',
  );
  const paidNothing = { ...REPUTATION, counters: { ...REPUTATION.counters, earnedMsat: 0n } };
  assert.match(
    refusal(() => buildReputationAssertion({ reputation: paidNothing, rulesVersion: 1, createdAt: 1 })),
    'earned_msat tag: must be 0 exactly when its count is 0',
  );
});

test('the builder refuses what the parser would: a bad pubkey, rules version or time', () => {
  const bad = (reputation: Reputation, rulesVersion = 1, createdAt = 1) =>
    refusal(() => buildReputationAssertion({ reputation, rulesVersion, createdAt }));
  assert.match(bad({ ...REPUTATION, pubkey: SUBJECT.toUpperCase() }), 'd tag');
  assert.match(bad({ ...REPUTATION, sources: ['x'] }), 'e tag');
  assert.match(bad(REPUTATION, 1.5), 'rules_version tag');
  assert.match(bad(REPUTATION, 1, -1), 'createdAt');
});

test(`sources are capped at ${REPUTATION_SOURCES_CAP}: the first in sorted order, with the total, under every size and tag limit`, () => {
  const many = Array.from({ length: 200 }, (_, n) => id(1000 - n));
  const reputation: Reputation = {
    pubkey: SUBJECT,
    counters: { ...emptyReputationCounters(), tasksPaidAsWorker: 200, earnedMsat: 200_000n },
    sources: many,
  };
  const event = signed(reputation);
  const listed = event.tags.filter((tag) => tag[0] === 'e').map((tag) => tag[1]);
  assert.is(listed.length, REPUTATION_SOURCES_CAP);
  assert.equal(listed, [...many].sort().slice(0, REPUTATION_SOURCES_CAP));
  assert.equal(
    event.tags.find((tag) => tag[0] === 'sources'),
    ['sources', '200'],
  );
  const json = JSON.stringify(event);
  assert.ok(json.length < LIMITS.eventBytes, `${json.length} bytes`);
  assert.ok(event.tags.length <= LIMITS.tags, `${event.tags.length} tags`);
  assert.ok(parseEventJson(json).ok, "the agent's own intake shape check takes it");
  const parsed = parseReputationAssertion(event);
  assert.is(parsed.sourcesTotal, 200);
  assert.equal(parsed.sources, listed);
  // One more e tag than the cap allows is refused.
  assert.match(
    refusal(() => parseReputationAssertion(withTags(event, (tags) => [...tags, ['e', 'f'.repeat(64)]]))),
    `at most ${REPUTATION_SOURCES_CAP}`,
  );
});

// -------------------------------------------------------------- outcomes from the example tasks' logs

const examples = buildExamples();
const byFile = (suffix: string) => examples.find((item) => item.file.endsWith(`${suffix}.json`))!.event;
const allEvents = examples.map((item) => item.event);
const actionsById = new Map(
  allEvents
    .filter((event) => event.kind === 1985 && event.pubkey !== EXAMPLE_KEYS.agent)
    .map((e) => [e.id, e]),
);
function chainOf(listingFile: string, events: NostrEvent[] = allEvents) {
  const taskId = byFile(listingFile).id;
  const report = verifyTaskHistory({ agentPubkey: EXAMPLE_KEYS.agent, taskId, events });
  return report.chain;
}

test('a paid task: the worker payout, the paid transition and its time, no dispute', () => {
  const chain = chainOf('04-task-listing');
  const outcome = taskOutcomeFromTransitions(chain);
  assert.equal(outcome, {
    taskId: byFile('04-task-listing').id,
    finalEventId: byFile('17-paid').id,
    ending: 'paid',
    poster: EXAMPLE_KEYS.poster,
    worker: EXAMPLE_KEYS.worker,
    paidToWorkerMsat: 21_000_000n - 106_000n,
    paidToPosterMsat: 0n,
    refundedMsat: 0n,
    dispute: null,
  });
  // Unfinished: the same task before it was paid counts for nobody.
  assert.is(taskOutcomeFromTransitions(chain.slice(0, -1)), null);
  assert.is(taskOutcomeFromTransitions([]), null);
});

test('a refunded task: the refunded amount; expired and cancelled tasks received nothing and are no outcome', () => {
  const outcome = taskOutcomeFromTransitions(chainOf('refund-task-listing'));
  assert.is(outcome?.ending, 'refunded');
  assert.is(outcome?.refundedMsat, 15_000_000n);
  assert.is(outcome?.finalEventId, byFile('refund-refunded').id);
  assert.is(outcome?.worker, null);
  assert.is(taskOutcomeFromTransitions(chainOf('expire-task-listing')), null);
  assert.is(taskOutcomeFromTransitions(chainOf('cancel-task-listing')), null);
});

test('a disputed task is read from the transitions alone: opened_by says who opened it, the citations which verdicts were given', () => {
  const chain = chainOf('dispute-task-listing');
  const verdict = byFile('dispute-verdict');
  const expected = {
    openedBy: EXAMPLE_KEYS.poster,
    verdicts: [{ by: EXAMPLE_KEYS.arbitrator, eventId: verdict.id }],
  };
  const outcome = taskOutcomeFromTransitions(chain);
  assert.equal(outcome?.dispute, expected);
  assert.ok(outcome!.paidToWorkerMsat > 0n && outcome!.paidToPosterMsat > 0n, 'a split pays both');
  assert.is(outcome?.finalEventId, byFile('dispute-paid').id);
  // The evidence, when given, holds: the dispute is the poster's, the verdict the arbitrator's.
  assert.equal(taskOutcomeFromTransitions(chain, { actionsById })?.dispute, expected);

  // Counted end to end: the arbitrator gave a verdict, the split is won by nobody.
  const outcomes = [outcome!, taskOutcomeFromTransitions(chainOf('04-task-listing'))!];
  assert.is(reputationOf(EXAMPLE_KEYS.arbitrator, outcomes).counters.verdictsGiven, 1);
  const poster = reputationOf(EXAMPLE_KEYS.poster, outcomes).counters;
  assert.equal(
    [poster.tasksPaidAsPoster, poster.tasksRefunded, poster.disputesOpened, poster.disputesWon],
    [2, 1, 1, 0],
  );
  const worker = reputationOf(EXAMPLE_KEYS.worker, outcomes);
  assert.equal([worker.counters.tasksPaidAsWorker, worker.counters.disputesLost], [2, 0]);
  assert.equal(parseReputationAssertion(signed(worker)).sources, worker.sources);
});

/** The dispute example with its `settling` transition re-signed with `edit`ed tags (the rest of the chain as is). */
function withSettlingTags(edit: (tags: string[][]) => string[][]) {
  const settling = byFile('dispute-settling');
  const tagged = sign(
    { kind: settling.kind, created_at: settling.created_at, tags: edit(settling.tags), content: '' },
    SECRET.agent,
  );
  const parsed = parseTransition(tagged, { agentPubkey: EXAMPLE_KEYS.agent });
  if (!parsed.ok) throw new Error(parsed.reason);
  return chainOf('dispute-task-listing').map((transition) =>
    transition.eventId === settling.id ? parsed.transition : transition,
  );
}
const isCitation = (tag: string[]) => tag[0] === 'e' && (tag[3] === 'verdict' || tag[3] === 'dissent');

test('a dissent is a verdict given; citations of anyone the offer does not name count for nobody', () => {
  const verdict = byFile('dispute-verdict');
  const dissent = withSettlingTags((tags) =>
    tags.map((tag) => (isCitation(tag) ? ['e', tag[1]!, '', 'dissent', tag[4]!] : tag)),
  );
  const outcome = taskOutcomeFromTransitions(dissent);
  assert.equal(outcome?.dispute?.verdicts, [{ by: EXAMPLE_KEYS.arbitrator, eventId: verdict.id }]);
  assert.is(reputationOf(EXAMPLE_KEYS.arbitrator, [outcome!]).counters.verdictsGiven, 1);

  // The worker is no arbitrator of this task: a citation naming them is not a verdict of theirs.
  const stranger = withSettlingTags((tags) => [...tags, ['e', id(77), '', 'dissent', EXAMPLE_KEYS.worker]]);
  const strangers = taskOutcomeFromTransitions(stranger);
  assert.equal(strangers?.dispute?.verdicts, [{ by: EXAMPLE_KEYS.arbitrator, eventId: verdict.id }]);
  assert.is(reputationOf(EXAMPLE_KEYS.worker, [strangers!]).counters.verdictsGiven, 0);
});

test('the same verdict cited twice counts once; two verdicts of one arbitrator contradict the log', () => {
  const verdict = byFile('dispute-verdict');
  const twice = withSettlingTags((tags) => [...tags, ...tags.filter(isCitation)]);
  assert.equal(taskOutcomeFromTransitions(twice)?.dispute?.verdicts, [
    { by: EXAMPLE_KEYS.arbitrator, eventId: verdict.id },
  ]);
  const contradicting = withSettlingTags((tags) => [
    ...tags,
    ['e', id(78), '', 'dissent', EXAMPLE_KEYS.arbitrator],
  ]);
  assert.match(
    refusal(() => taskOutcomeFromTransitions(contradicting)),
    'cites two verdicts of arbitrator',
  );
});

test('given evidence must hold: each cited verdict and the dispute present, genuine, of their label and author', () => {
  const chain = chainOf('dispute-task-listing');
  const verdict = byFile('dispute-verdict');
  const dispute = byFile('dispute-dispute');
  const without = new Map(actionsById);
  without.delete(verdict.id);
  assert.match(
    refusal(() => taskOutcomeFromTransitions(chain, { actionsById: without })),
    `the verdict event ${verdict.id} was not given`,
  );
  const forged = new Map(actionsById).set(verdict.id, { ...verdict, content: 'all to the worker' });
  assert.match(
    refusal(() => taskOutcomeFromTransitions(chain, { actionsById: forged })),
    'invalid:',
  );
  // A citation of the dispute event as if it were a verdict.
  const wrongLabel = withSettlingTags((tags) =>
    tags.map((tag) => (isCitation(tag) ? ['e', dispute.id, '', 'verdict', tag[4]!] : tag)),
  );
  assert.match(
    refusal(() => taskOutcomeFromTransitions(wrongLabel, { actionsById })),
    'is not a verdict action',
  );
  // A verdict the worker signed, cited as the arbitrator's.
  const byWorker = sign(
    { kind: verdict.kind, created_at: verdict.created_at, tags: verdict.tags, content: '' },
    SECRET.worker,
  );
  const misattributed = withSettlingTags((tags) =>
    tags.map((tag) => (isCitation(tag) ? ['e', byWorker.id, '', 'verdict', tag[4]!] : tag)),
  );
  assert.match(
    refusal(() =>
      taskOutcomeFromTransitions(misattributed, {
        actionsById: new Map(actionsById).set(byWorker.id, byWorker),
      }),
    ),
    `is signed by ${EXAMPLE_KEYS.worker}, not by ${EXAMPLE_KEYS.arbitrator}`,
  );
  // `disputed` says the worker opened it; the dispute event is the poster's.
  const disputedEvent = byFile('dispute-disputed');
  const resigned = sign(
    {
      kind: disputedEvent.kind,
      created_at: disputedEvent.created_at,
      tags: disputedEvent.tags.map((tag) => (tag[0] === 'opened_by' ? ['opened_by', 'worker'] : tag)),
      content: disputedEvent.content,
    },
    SECRET.agent,
  );
  const parsed = parseTransition(resigned, { agentPubkey: EXAMPLE_KEYS.agent });
  if (!parsed.ok) throw new Error(parsed.reason);
  const byTheWorker = chain.map((transition) =>
    transition.eventId === disputedEvent.id ? parsed.transition : transition,
  );
  assert.is(taskOutcomeFromTransitions(byTheWorker)?.dispute?.openedBy, EXAMPLE_KEYS.worker);
  assert.match(
    refusal(() => taskOutcomeFromTransitions(byTheWorker, { actionsById })),
    `dispute ${dispute.id} is signed by ${EXAMPLE_KEYS.poster}, not by ${EXAMPLE_KEYS.worker}`,
  );
});

test('transitions of two tasks are refused, and so is a task that ends twice', () => {
  const mixed = [...chainOf('04-task-listing'), ...chainOf('refund-task-listing')];
  assert.match(
    refusal(() => taskOutcomeFromTransitions(mixed)),
    'not all of one task',
  );
  const paid = chainOf('04-task-listing');
  assert.match(
    refusal(() => taskOutcomeFromTransitions([...paid, { ...paid.at(-1)!, eventId: id(79) }])),
    'ends more than once',
  );
});

// ------------------------------------------- the agent's record and its published transitions agree

// What applyInTransaction does, without a store: decide, fold, and describe each change as the transition the agent
// publishes (typed, as parseTransition gives it back; the tags' round trip is tested with buildTransition). Then
// the outcome read from the task record (what the agent publishes from) must equal the one read from the
// transitions (what anyone recomputes).
class Agent {
  task: Task | null = null;
  readonly transitions: ParsedTransition[] = [];
  now = T0;
  height = H0;
  constructor(readonly policy: Policy) {}

  async do(command: Command): Promise<void> {
    this.now += 10;
    const decision = decide(this.task, command, { now: this.now, height: this.height, policy: this.policy });
    if (!decision.ok) throw new Error(`${command.type}: ${decision.rejection.message}`);
    const cause = 'by' in command ? sha256Hex(`${command.type}:${this.now}`) : null;
    for (const event of decision.events) {
      const after = evolve(this.task, event);
      const body = await describeTransition(this.task, after, event, {
        policy: this.policy,
        height: this.height,
        listing: () => ({}) as NostrEvent,
        preimage: async () => '0'.repeat(64),
      });
      this.task = after;
      if (body === null) continue;
      const previous = this.transitions.at(-1);
      const createdAt = previous ? Math.max(this.now, previous.createdAt + 1) : this.now;
      this.transitions.push({
        ...body,
        taskId: after.id,
        prev: previous?.eventId ?? null,
        cause,
        poster: after.poster,
        worker: after.worker,
        eventId: sha256Hex(`transition ${this.transitions.length} ${body.state}`),
        createdAt,
      } as ParsedTransition);
    }
  }

  async fund(arbitration: { arbitrators?: string[]; threshold?: number } = {}): Promise<void> {
    await this.do({
      type: 'post',
      taskId: TASK_ID,
      by: POSTER,
      amountMsat: AMOUNT,
      title: 'A task',
      ...arbitration,
    });
    await this.do({
      type: 'offer',
      paymentHash: PAYMENT_HASH,
      bolt11: HOLD_INVOICE,
      invoiceExpiresAt: this.now + 3600,
      finalCltvDelta: 300,
    });
    await this.do({
      type: 'hold_accepted',
      paymentHash: PAYMENT_HASH,
      amountMsat: AMOUNT,
      htlcExpiryHeight: H0 + 303,
      claimDeadlineHeight: H0 + 282,
    });
  }

  async submit(): Promise<void> {
    await this.do({ type: 'claim', by: WORKER });
    await this.do({ type: 'submit', by: WORKER, payoutInvoice: WORKER_INVOICE });
  }

  /** The node settles, and every payout is paid (its recipient gives an invoice when one is needed). */
  async settleAndPay(): Promise<void> {
    if (this.task?.state === 'settling') await this.do({ type: 'hold_settled', paymentHash: PAYMENT_HASH });
    for (const payout of this.task!.payouts) {
      if (payout.state === 'needs_invoice') {
        const [by, bolt11] =
          payout.recipient === 'poster' ? [POSTER, POSTER_INVOICE] : [WORKER, WORKER_INVOICE];
        await this.do({ type: 'payout_invoice', by, recipient: payout.recipient, bolt11 });
      }
      const due = this.task!.payouts.find((one) => one.recipient === payout.recipient)!;
      await this.do({
        type: 'payout_start',
        recipient: due.recipient,
        bolt11: due.bolt11!,
        paymentHash: sha256Hex(`payout ${due.recipient}`),
        amountMsat: due.amountMsat,
      });
      await this.do({
        type: 'payout_succeeded',
        recipient: due.recipient,
        routingFeeMsat: 1n,
        preimage: sha256Hex(`proof ${due.recipient}`),
      });
    }
  }

  async verdict(
    by: string,
    outcome: 'worker' | 'poster' | 'split',
    eventId: string | null = id(by.charCodeAt(0)),
  ) {
    await this.do({
      type: 'verdict',
      by,
      outcome,
      eventId,
      ...(outcome === 'split' ? { workerShareBps: 6000 } : {}),
    });
  }

  /** Both readings of the finished task; they must be equal. */
  outcomes() {
    const fromRecord = taskOutcomeOf(this.task!, this.transitions.at(-1)!.eventId);
    const fromLog = taskOutcomeFromTransitions(this.transitions);
    return { fromRecord, fromLog };
  }
}

async function agrees(
  name: string,
  story: (agent: Agent) => Promise<void>,
  policy = threeArbitratorPolicy(),
) {
  const agent = new Agent(policy);
  await story(agent);
  const { fromRecord, fromLog } = agent.outcomes();
  assert.ok(fromLog !== null, `${name}: the task finished (it is ${agent.task?.state})`);
  assert.equal(fromRecord, fromLog, `${name}: the record and the log agree`);
  for (const pubkey of [POSTER, WORKER, ARBITRATOR, ARBITRATOR_2, ARBITRATOR_3]) {
    assert.equal(reputationOf(pubkey, [fromRecord!]), reputationOf(pubkey, [fromLog!]));
  }
  return fromLog!;
}

test('the record and the log agree on a paid task and on a refund', async () => {
  const paid = await agrees('approved', async (agent) => {
    await agent.fund();
    await agent.submit();
    await agent.do({ type: 'approve', by: POSTER });
    await agent.settleAndPay();
  });
  assert.equal([paid.ending, paid.paidToWorkerMsat, paid.dispute], ['paid', AMOUNT - FEE, null]);
  const refunded = await agrees('cancelled after funding', async (agent) => {
    await agent.fund();
    await agent.do({ type: 'cancel', by: POSTER });
    await agent.do({ type: 'hold_cancelled', paymentHash: PAYMENT_HASH });
  });
  assert.equal([refunded.ending, refunded.refundedMsat, refunded.worker], ['refunded', AMOUNT, null]);
  const unfinishedWork = await agrees('work window over', async (agent) => {
    await agent.fund();
    await agent.do({ type: 'claim', by: WORKER });
    agent.now += 13 * 3600;
    await agent.do({ type: 'tick' });
    await agent.do({ type: 'hold_cancelled', paymentHash: PAYMENT_HASH });
  });
  assert.is(unfinishedWork.worker, WORKER);
});

test('the record and the log agree on disputes decided by verdicts, with dissents on record', async () => {
  const oneOfOne = await agrees('1-of-1 for the worker', async (agent) => {
    await agent.fund({ arbitrators: [ARBITRATOR], threshold: 1 });
    await agent.submit();
    await agent.do({ type: 'dispute', by: POSTER, reason: 'not done' });
    await agent.verdict(ARBITRATOR, 'worker');
    await agent.settleAndPay();
  });
  assert.equal(oneOfOne.dispute, {
    openedBy: POSTER,
    verdicts: [{ by: ARBITRATOR, eventId: id(ARBITRATOR.charCodeAt(0)) }],
  });

  const twoOfThree = await agrees('2-of-3 for the worker, one dissent', async (agent) => {
    await agent.fund({ arbitrators: [ARBITRATOR, ARBITRATOR_2, ARBITRATOR_3], threshold: 2 });
    await agent.submit();
    await agent.do({ type: 'dispute', by: WORKER, reason: 'no answer' });
    await agent.verdict(ARBITRATOR_3, 'poster');
    await agent.verdict(ARBITRATOR, 'worker');
    await agent.verdict(ARBITRATOR_2, 'worker');
    await agent.settleAndPay();
  });
  assert.equal(
    twoOfThree.dispute?.verdicts.map((verdict) => verdict.by),
    [ARBITRATOR, ARBITRATOR_2, ARBITRATOR_3].sort(),
  );
  for (const arbitrator of [ARBITRATOR, ARBITRATOR_2, ARBITRATOR_3]) {
    assert.is(reputationOf(arbitrator, [twoOfThree]).counters.verdictsGiven, 1, 'the dissent counts too');
  }

  await agrees('for the poster: the hold is cancelled', async (agent) => {
    await agent.fund({ arbitrators: [ARBITRATOR, ARBITRATOR_2], threshold: 1 });
    await agent.submit();
    await agent.do({ type: 'dispute', by: WORKER, reason: 'no answer' });
    await agent.verdict(ARBITRATOR_2, 'poster');
    await agent.do({ type: 'hold_cancelled', paymentHash: PAYMENT_HASH });
  });

  const split = await agrees('split: custody, the poster gives an invoice, both are paid', async (agent) => {
    await agent.fund({ arbitrators: [ARBITRATOR], threshold: 1 });
    await agent.submit();
    await agent.do({ type: 'dispute', by: POSTER, reason: 'half done' });
    await agent.verdict(ARBITRATOR, 'split');
    await agent.settleAndPay();
  });
  assert.ok(split.paidToWorkerMsat > 0n && split.paidToPosterMsat > 0n);

  // A verdict without an event id (none came as a label) cannot be cited, so it counts in neither reading.
  const uncited = await agrees('a verdict without an event id', async (agent) => {
    await agent.fund({ arbitrators: [ARBITRATOR], threshold: 1 });
    await agent.submit();
    await agent.do({ type: 'dispute', by: POSTER, reason: 'not done' });
    await agent.verdict(ARBITRATOR, 'worker', null);
    await agent.settleAndPay();
  });
  assert.equal(uncited.dispute, { openedBy: POSTER, verdicts: [] });
});

test('the record and the log agree when the rulebook ends a dispute at the hold deadline, citing the verdicts so far', async () => {
  const refunded = await agrees('rule "refund" after one verdict of two needed', async (agent) => {
    await agent.fund({ arbitrators: [ARBITRATOR, ARBITRATOR_2, ARBITRATOR_3], threshold: 2 });
    await agent.submit();
    await agent.do({ type: 'dispute', by: POSTER, reason: 'not done' });
    await agent.verdict(ARBITRATOR_2, 'worker');
    agent.height = H0 + 282 - agent.policy.safetyMarginBlocks;
    await agent.do({ type: 'tick' });
    await agent.do({ type: 'hold_cancelled', paymentHash: PAYMENT_HASH });
  });
  assert.equal(
    refunded.dispute?.verdicts.map((verdict) => verdict.by),
    [ARBITRATOR_2],
  );
  assert.equal(reputationOf(ARBITRATOR_2, [refunded]).counters.verdictsGiven, 1);
});

test('the record and the log agree when money waits in custody for the verdict, then the verdict comes', async () => {
  const custody = await agrees(
    'rule "custody", then a verdict for the worker',
    async (agent) => {
      await agent.fund({ arbitrators: [ARBITRATOR], threshold: 1 });
      await agent.submit();
      await agent.do({ type: 'dispute', by: POSTER, reason: 'not done' });
      agent.height = H0 + 282 - agent.policy.safetyMarginBlocks;
      await agent.do({ type: 'tick' });
      await agent.do({ type: 'hold_settled', paymentHash: PAYMENT_HASH });
      await agent.verdict(ARBITRATOR, 'worker');
      await agent.settleAndPay();
    },
    threeArbitratorPolicy({ disputeDeadlineRule: 'custody' }),
  );
  assert.equal(
    custody.dispute?.verdicts.map((verdict) => verdict.by),
    [ARBITRATOR],
  );
});

// A verdict recorded while the hold settles into custody (short of k), then the node cancels the hold: `refunding`
// comes from `settling`, not from `disputed`, and must still cite it, or the record would count a verdict the log
// does not (this failed before describeTransition treated settling-into-custody as an open dispute).
test('a verdict while settling into custody, then the node cancels: the refund cites it', async () => {
  await agrees(
    'rule "custody", one verdict of two, the node cancels',
    async (agent) => {
      await agent.fund({ arbitrators: [ARBITRATOR, ARBITRATOR_2], threshold: 2 });
      await agent.submit();
      await agent.do({ type: 'dispute', by: POSTER, reason: 'not done' });
      agent.height = H0 + 282 - agent.policy.safetyMarginBlocks;
      await agent.do({ type: 'tick' });
      await agent.verdict(ARBITRATOR, 'worker');
      await agent.do({ type: 'hold_cancelled', paymentHash: PAYMENT_HASH });
    },
    threeArbitratorPolicy({ disputeDeadlineRule: 'custody' }),
  );
});

test.run();
