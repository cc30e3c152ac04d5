// Reputation assertions: what the agent builds reads back exactly once signed, the parser refuses anything
// not spelled the one way, the sources stay under the tag limits, and a task's outcome is read from the
// agent's own signed transitions (and, for a dispute, the dispute and verdict events they name).
import { finalizeEvent } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EXAMPLE_KEYS, SECRET, sign } from '../../scripts/examples/fixtures.ts';
import { buildExamples } from '../../scripts/examples/lifecycles.ts';
import { KINDS, LIMITS } from '../../src/protocol/constants.ts';
import {
  buildReputationAssertion,
  emptyReputationCounters,
  parseReputationAssertion,
  REPUTATION_SOURCES_CAP,
  type Reputation,
  reputationOf,
  taskOutcomeFromTransitions,
  verdictIdsOf,
} from '../../src/protocol/index.ts';
import { parseTransition } from '../../src/protocol/parse-transition.ts';
import { ProtocolInputError } from '../../src/protocol/protocol-input-error.ts';
import { type NostrEvent, parseEventJson } from '../../src/protocol/schemas.ts';
import { verifyEvent } from '../../src/protocol/verify-event.ts';
import { verifyTaskHistory } from '../../src/protocol/verify-history.ts';

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

test('a paid task: the worker payout, the paid transition, no dispute', () => {
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

test('a disputed task needs its evidence: who opened it comes from the dispute event (the transition does not say)', () => {
  const chain = chainOf('dispute-task-listing');
  assert.match(
    refusal(() => taskOutcomeFromTransitions(chain)),
    'the dispute event',
  );
  assert.match(
    refusal(() => taskOutcomeFromTransitions(chain, { actionsById })),
    'was not given: its verdict tags',
  );
  const outcome = taskOutcomeFromTransitions(chain, { actionsById, transitionEvents: allEvents });
  assert.equal(outcome?.dispute, { openedBy: EXAMPLE_KEYS.poster, verdicts: [] });
  assert.ok(outcome!.paidToWorkerMsat > 0n && outcome!.paidToPosterMsat > 0n);
});

/** The dispute example with the verdict tag the agent puts on its `settling` transition. */
function withVerdictTag(tag: string[]) {
  const settling = byFile('dispute-settling');
  const tagged = sign(
    { kind: settling.kind, created_at: settling.created_at, tags: [...settling.tags, tag], content: '' },
    SECRET.agent,
  );
  const parsed = parseTransition(tagged, { agentPubkey: EXAMPLE_KEYS.agent });
  if (!parsed.ok) throw new Error(parsed.reason);
  const chain = chainOf('dispute-task-listing').map((transition) =>
    transition.eventId === settling.id ? parsed.transition : transition,
  );
  return { chain, transitionEvents: [...allEvents, tagged] };
}

test('verdicts are the ones the agent names with ["e", id, "", "verdict"] tags, each checked', () => {
  const verdict = byFile('dispute-verdict');
  const { chain, transitionEvents } = withVerdictTag(['e', verdict.id, '', 'verdict']);
  const outcome = taskOutcomeFromTransitions(chain, { actionsById, transitionEvents });
  assert.equal(outcome?.dispute, {
    openedBy: EXAMPLE_KEYS.poster,
    verdicts: [{ by: EXAMPLE_KEYS.arbitrator, outcome: 'split' }],
  });
  assert.equal(verdictIdsOf(transitionEvents.at(-1)!), [verdict.id]);

  // Counted end to end: the arbitrator gets a verdict, the split is won by nobody.
  const outcomes = [outcome!, taskOutcomeFromTransitions(chainOf('04-task-listing'))!];
  assert.is(reputationOf(EXAMPLE_KEYS.arbitrator, outcomes).counters.verdictsGiven, 1);
  const poster = reputationOf(EXAMPLE_KEYS.poster, outcomes).counters;
  assert.equal(
    [poster.tasksPaidAsPoster, poster.tasksRefunded, poster.disputesOpened, poster.disputesWon],
    [2, 1, 1, 0],
  );
  const worker = reputationOf(EXAMPLE_KEYS.worker, outcomes);
  assert.equal([worker.counters.tasksPaidAsWorker, worker.counters.disputesLost], [2, 0]);
  const event = signed(worker);
  assert.equal(parseReputationAssertion(event).sources, worker.sources);

  // A verdict missing from the evidence, forged, not a verdict, or by someone who is no arbitrator is refused.
  const without = new Map(actionsById);
  without.delete(verdict.id);
  assert.match(
    refusal(() => taskOutcomeFromTransitions(chain, { actionsById: without, transitionEvents })),
    'was not given',
  );
  const forged = new Map(actionsById).set(verdict.id, { ...verdict, content: 'all to the worker' });
  assert.match(
    refusal(() => taskOutcomeFromTransitions(chain, { actionsById: forged, transitionEvents })),
    'invalid:',
  );
  const dispute = byFile('dispute-dispute');
  const wrongLabel = withVerdictTag(['e', dispute.id, '', 'verdict']);
  assert.match(
    refusal(() =>
      taskOutcomeFromTransitions(wrongLabel.chain, {
        actionsById,
        transitionEvents: wrongLabel.transitionEvents,
      }),
    ),
    'is not a verdict action',
  );
  const byWorker = sign(
    { kind: verdict.kind, created_at: verdict.created_at, tags: verdict.tags, content: '' },
    SECRET.worker,
  );
  const selfJudged = withVerdictTag(['e', byWorker.id, '', 'verdict']);
  assert.match(
    refusal(() =>
      taskOutcomeFromTransitions(selfJudged.chain, {
        actionsById: new Map(actionsById).set(byWorker.id, byWorker),
        transitionEvents: selfJudged.transitionEvents,
      }),
    ),
    'not by an arbitrator',
  );
  const malformed = withVerdictTag(['e', verdict.id.toUpperCase(), '', 'verdict']);
  assert.match(
    refusal(() =>
      taskOutcomeFromTransitions(malformed.chain, {
        actionsById,
        transitionEvents: malformed.transitionEvents,
      }),
    ),
    'a verdict tag must be',
  );
});

test('transitions of two tasks are refused', () => {
  const mixed = [...chainOf('04-task-listing'), ...chainOf('refund-task-listing')];
  assert.match(
    refusal(() => taskOutcomeFromTransitions(mixed)),
    'not all of one task',
  );
});

test.run();
