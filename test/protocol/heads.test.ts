// Chain heads: what the agent builds reads back exactly once signed, the parser refuses anything not spelled the one
// way, the heads events chain by prev, and checkAgainstHeads tells a complete copy of the agent's transitions from a
// truncated or forked one, on the example tasks' real signed transitions.
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EXAMPLE_KEYS, SECRET, sign } from '../../scripts/examples/fixtures.ts';
import { buildExamples } from '../../scripts/examples/lifecycles.ts';
import { screenInput } from '../../src/agent/router.ts';
import {
  AGENT_ONLY_LABELS,
  buildHeads,
  type ChainHead,
  chainHeads,
  checkAgainstHeads,
  HEADS_LABEL,
  HEADS_PER_EVENT,
  isHeadsEvent,
  KINDS,
  LABEL_NAMESPACE,
  parseAction,
  parseHeads,
} from '../../src/protocol/index.ts';
import { ProtocolInputError } from '../../src/protocol/protocol-input-error.ts';
import type { NostrEvent } from '../../src/protocol/schemas.ts';
import { verifyEvent } from '../../src/protocol/verify-event.ts';
import { verifyTaskHistory } from '../../src/protocol/verify-history.ts';

const T = 1_750_100_000;
const hex = (char: string) => char.repeat(64);

const examples = buildExamples().map((item) => item.event);
const transitions = examples.filter(
  (event) =>
    event.pubkey === EXAMPLE_KEYS.agent &&
    event.kind === KINDS.label &&
    !event.tags.some((tag) => tag[0] === 'l' && tag[1] === 'rejected'),
);
const taskIds = [
  ...new Set(transitions.map((event) => event.tags.find((tag) => tag[3] === 'task')![1]!)),
].sort();

/** The true head of every example task, from verifyTaskHistory's chain. */
function trueHeads(events: readonly NostrEvent[] = examples): ChainHead[] {
  return taskIds.map((taskId) => {
    const { chain, ok } = verifyTaskHistory({ agentPubkey: EXAMPLE_KEYS.agent, taskId, events });
    assert.ok(ok, `example task ${taskId} verifies`);
    return { taskId, eventId: chain.at(-1)!.eventId, length: chain.length };
  });
}

function signedHeads(heads: readonly ChainHead[], prev: string | null, at = T, count?: number): NostrEvent {
  const total = count ?? heads.reduce((sum, head) => sum + head.length, 0);
  return sign(buildHeads({ count: total, heads, prev, createdAt: at }), SECRET.agent);
}

function refusal(tags: string[][], content = ''): string {
  try {
    parseHeads({ kind: KINDS.label, tags, content });
  } catch (error) {
    assert.instance(error, ProtocolInputError);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

const L = ['L', LABEL_NAMESPACE];
const l = ['l', HEADS_LABEL, LABEL_NAMESPACE];

test('a heads event builds, signs and reads back: heads by task id, the count, the prev', () => {
  const heads = [
    { taskId: hex('b'), eventId: hex('2'), length: 3 },
    { taskId: hex('a'), eventId: hex('1'), length: 7 },
  ];
  const first = signedHeads(heads, null, T, 12);
  assert.ok(verifyEvent(first).ok);
  assert.is(first.kind, 1985);
  assert.equal(first.tags, [
    L,
    l,
    ['count', '12'],
    ['head', hex('a'), hex('1'), '7'],
    ['head', hex('b'), hex('2'), '3'],
  ]);
  assert.equal(parseHeads(first), { count: 12, heads: [...heads].reverse(), prev: null });
  const second = signedHeads([{ taskId: hex('a'), eventId: hex('3'), length: 8 }], first.id, T + 1, 13);
  assert.equal(second.tags.at(-1), ['e', first.id, '', 'prev']);
  assert.is(parseHeads(second).prev, first.id);
  assert.ok(isHeadsEvent(second));
  assert.not.ok(isHeadsEvent(transitions[0]!));
});

test('the parser refuses every other spelling', () => {
  const head = ['head', hex('a'), hex('1'), '2'];
  assert.match(refusal([L, l, head]), /count/);
  assert.match(refusal([L, l, ['count', '02'], head]), /count tag/);
  assert.match(refusal([L, l, ['count', '1'], head]), /at least the sum/);
  assert.match(refusal([L, l, ['count', '5']]), /at least one \["head"/);
  assert.match(refusal([L, l, ['count', '5'], ['head', hex('a'), hex('1'), '0']]), /head tag/);
  assert.match(refusal([L, l, ['count', '5'], ['head', hex('a'), hex('1'), '2', 'x']]), /head tag/);
  assert.match(refusal([L, l, ['count', '5'], ['head', 'A'.repeat(64), hex('1'), '2']]), /head tag/);
  assert.match(
    refusal([L, l, ['count', '5'], ['head', hex('b'), hex('1'), '1'], ['head', hex('a'), hex('2'), '1']]),
    /by task id/,
  );
  assert.match(refusal([L, l, ['count', '5'], head, head]), /by task id, each task once/);
  assert.match(refusal([L, l, ['count', '5'], head], 'hello'), /content/);
  assert.match(
    refusal([L, l, ['count', '5'], head, ['e', hex('c'), '', 'prev'], ['e', hex('d'), '', 'prev']]),
    /prev/,
  );
  assert.match(refusal([L, ['l', 'funded', LABEL_NAMESPACE], ['count', '5'], head]), /not the heads label/);
  assert.match(refusal([l, ['count', '5'], head]), /"L"/);
  const many = Array.from({ length: HEADS_PER_EVENT + 1 }, (_, index) => [
    'head',
    index.toString(16).padStart(64, '0'),
    hex('1'),
    '1',
  ]);
  assert.match(refusal([L, l, ['count', '1000'], ...many]), /at most 80/);
  // Tags that are not ours are ignored.
  assert.is(
    parseHeads({ kind: 1985, tags: [L, l, ['count', '5'], head, ['client', 'x']], content: '' }).count,
    5,
  );
  assert.throws(
    () => buildHeads({ count: 1, heads: [], prev: null, createdAt: T }),
    (error: unknown) => error instanceof ProtocolInputError,
  );
});

test("a heads label is never input: the agent drops it from anyone, and the action parser says it is the agent's", () => {
  assert.ok(AGENT_ONLY_LABELS.includes(HEADS_LABEL));
  const someone = generateSecretKey();
  const agent = EXAMPLE_KEYS.agent;
  const event = finalizeEvent(
    {
      kind: KINDS.label,
      created_at: T,
      tags: [
        L,
        l,
        ['count', '1'],
        ['head', hex('a'), hex('1'), '1'],
        ['e', hex('a'), '', 'task'],
        ['p', agent],
      ],
      content: '',
    },
    someone,
  ) as NostrEvent;
  const screened = screenInput(event, agent);
  assert.equal(screened, {
    input: false,
    code: 'UnknownAction',
    reason: 'invalid: "heads" labels are published by the agent only',
  });
  const parsed = parseAction(event, { agentPubkey: agent });
  assert.is(parsed.ok, false);
  if (!parsed.ok) assert.match(parsed.reason, /published by the agent only/);
});

test("chainHeads orders the agent's heads events by prev and reports gaps, forks, falling counts and noise", () => {
  const a = signedHeads([{ taskId: hex('a'), eventId: hex('1'), length: 2 }], null, T, 2);
  const b = signedHeads([{ taskId: hex('b'), eventId: hex('2'), length: 3 }], a.id, T + 1, 5);
  const c = signedHeads([{ taskId: hex('a'), eventId: hex('3'), length: 4 }], b.id, T + 2, 7);
  const good = chainHeads([c, a, b], { agentPubkey: EXAMPLE_KEYS.agent });
  assert.equal(good.problems, []);
  assert.equal(
    good.chain.map((heads) => heads.eventId),
    [a.id, b.id, c.id],
  );
  assert.equal(
    good.chain.map((heads) => heads.count),
    [2, 5, 7],
  );
  // A heads event in the middle is gone.
  const gap = chainHeads([a, c], { agentPubkey: EXAMPLE_KEYS.agent });
  assert.ok(gap.problems.some((problem) => problem.includes(`its prev ${b.id} is missing`)));
  // Two heads events on one prev.
  const fork = signedHeads([{ taskId: hex('b'), eventId: hex('4'), length: 4 }], a.id, T + 1, 6);
  assert.ok(
    chainHeads([a, b, fork], { agentPubkey: EXAMPLE_KEYS.agent }).problems.some((p) => p.includes('a fork')),
  );
  // A count that goes down.
  const down = signedHeads([{ taskId: hex('c'), eventId: hex('5'), length: 1 }], b.id, T + 2, 4);
  assert.ok(
    chainHeads([a, b, down], { agentPubkey: EXAMPLE_KEYS.agent }).problems.some((p) =>
      p.includes('less than'),
    ),
  );
  // Someone else's heads, and a forged copy of the agent's, are noise, not problems.
  const stranger = sign(
    buildHeads({
      count: 1,
      heads: [{ taskId: hex('d'), eventId: hex('6'), length: 1 }],
      prev: null,
      createdAt: T,
    }),
    generateSecretKey(),
  );
  const forged = { ...b, sig: b.sig.replace(/^./, b.sig[0] === '0' ? '1' : '0') };
  // The forged copy comes first and does not censor the genuine b after it.
  const noisy = chainHeads([a, stranger, forged, c, b], { agentPubkey: EXAMPLE_KEYS.agent });
  assert.is(noisy.ignored, 2);
  assert.equal(noisy.problems, []);
  assert.is(noisy.chain.length, 3);
  const forgedOnly = chainHeads([a, forged, c], { agentPubkey: EXAMPLE_KEYS.agent });
  assert.is(forgedOnly.ignored, 1);
  assert.ok(forgedOnly.problems.some((problem) => problem.includes('is missing')));
});

test('checkAgainstHeads: the complete history matches, a truncated or forked one names its task', () => {
  const heads = trueHeads();
  assert.ok(heads.length >= 4, 'several example tasks');
  // Split over two heads events, as the agent does when more than one event is needed.
  const first = signedHeads(heads.slice(0, 2), null, T);
  const second = signedHeads(
    heads.slice(2),
    first.id,
    T + 1,
    heads.reduce((sum, head) => sum + head.length, 0),
  );
  const parsed = chainHeads([first, second], { agentPubkey: EXAMPLE_KEYS.agent }).chain;
  assert.is(parsed.length, 2);
  assert.equal(checkAgainstHeads(parsed, transitions), [], 'complete: nothing differs');
  assert.equal(
    checkAgainstHeads(parsed, examples),
    [],
    'other events (listings, actions, rejections) are skipped',
  );

  const longest = [...heads].sort((a, b) => b.length - a.length)[0]!;
  const chain = verifyTaskHistory({
    agentPubkey: EXAMPLE_KEYS.agent,
    taskId: longest.taskId,
    events: examples,
  }).chain;
  const without = (id: string) => transitions.filter((event) => event.id !== id);

  // The last transition deleted: the head the heads name is gone.
  const tail = checkAgainstHeads(parsed, without(longest.eventId));
  assert.equal(
    tail.map((mismatch) => [mismatch.taskId, mismatch.problem]),
    [[longest.taskId, 'missing_head']],
  );
  assert.equal(tail[0]!.expected, { eventId: longest.eventId, length: longest.length });
  assert.is(tail[0]!.found.transitions, longest.length - 1);
  assert.equal(tail[0]!.found.tips, [chain.at(-2)!.eventId]);

  // One in the middle deleted.
  const middle = checkAgainstHeads(parsed, without(chain[2]!.eventId));
  assert.equal(
    middle.map((mismatch) => [mismatch.taskId, mismatch.problem]),
    [[longest.taskId, 'broken_chain']],
  );

  // A whole task gone.
  const gone = checkAgainstHeads(
    parsed,
    transitions.filter((event) => !chain.some((step) => step.eventId === event.id)),
  );
  assert.equal(
    gone.map((mismatch) => [mismatch.taskId, mismatch.problem, mismatch.found.transitions]),
    [[longest.taskId, 'missing_head', 0]],
  );

  // A fork: a second transition on an existing prev, signed by the agent's key.
  const forkedFrom = transitions.find((event) => event.id === chain[3]!.eventId)!;
  const twin = sign(
    {
      kind: forkedFrom.kind,
      created_at: forkedFrom.created_at + 7,
      tags: forkedFrom.tags,
      content: forkedFrom.content,
    },
    SECRET.agent,
  );
  const forked = checkAgainstHeads(parsed, [...transitions, twin]);
  assert.equal(
    forked.map((mismatch) => [mismatch.taskId, mismatch.problem]),
    [[longest.taskId, 'fork']],
  );
  assert.is(forked[0]!.found.tips.length, 2);

  // Heads that claim another length than the chain has.
  const lying = parseHeads(signedHeads([{ ...longest, length: longest.length + 1 }], null));
  assert.equal(
    checkAgainstHeads([lying], transitions).map((mismatch) => mismatch.problem),
    ['length'],
  );

  // Transitions after the last heads event follow the named head: still complete.
  const earlier = parseHeads(
    signedHeads([{ taskId: longest.taskId, eventId: chain[2]!.eventId, length: 3 }], null),
  );
  assert.equal(checkAgainstHeads([earlier], transitions), []);
  // An older heads event and a newer one: the newer (longer) claim is the one checked.
  assert.equal(checkAgainstHeads([...parsed, earlier], without(longest.eventId))[0]!.problem, 'missing_head');
});

test.run();
