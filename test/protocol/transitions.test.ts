// What the agent signs: every transition builds into an event that parseTransition reads back exactly; the
// builders refuse to produce anything the protocol would refuse; the parser refuses tampered transitions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EXAMPLE_KEYS, EXAMPLE_POLICY, SECRET, sign } from '../../scripts/examples/fixtures.ts';
import { buildExamples } from '../../scripts/examples/lifecycles.ts';
import { InternalError } from '../../src/domain/errors.ts';
import { paymentPromptSchema, rejectionSchema } from '../../src/protocol/agent-schemas.ts';
import {
  buildAnnouncement,
  buildRelayList,
  parseAnnouncement,
} from '../../src/protocol/build-announcement.ts';
import { buildPaymentPrompt, buildRejection } from '../../src/protocol/build-notices.ts';
import { buildTransition } from '../../src/protocol/build-transition.ts';
import { TRANSITION_STATES } from '../../src/protocol/constants.ts';
import { isTransitionState, parseTransition } from '../../src/protocol/parse-transition.ts';
import { type NostrEvent, parseLabelled } from '../../src/protocol/schemas.ts';
import type { TransitionInput } from '../../src/protocol/transition-types.ts';

const AGENT = EXAMPLE_KEYS.agent;
const examples = buildExamples();
const transitions = examples.filter(({ event }) => {
  const label = event.tags.find((tag) => tag[0] === 'l')?.[1];
  return event.kind === 1985 && event.pubkey === AGENT && label !== undefined && isTransitionState(label);
});
function transition(file: string): NostrEvent {
  const found = examples.find((item) => item.file === file);
  if (!found) throw new Error(`no example ${file}`);
  return found.event;
}
function parsed(event: NostrEvent) {
  const result = parseTransition(event, { agentPubkey: AGENT });
  if (!result.ok) throw new Error(result.reason);
  return result.transition;
}
/** The builder input that produced an example transition, read back from it. */
function inputOf(event: NostrEvent): TransitionInput {
  const { eventId: _id, createdAt, ...rest } = parsed(event);
  const relayHint = event.tags.find((tag) => tag[0] === 'e' && tag[3] === 'task')?.[2] ?? '';
  return { ...rest, createdAt, relayHint } as TransitionInput;
}
function refusal(build: () => unknown): string {
  try {
    build();
  } catch (error) {
    assert.instance(error, InternalError);
    return (error as InternalError).message;
  }
  throw new Error('the builder did not refuse');
}

test('the examples hold a transition of every state', () => {
  const states = new Set(transitions.map(({ event }) => event.tags.find((tag) => tag[0] === 'l')![1]));
  assert.equal([...states].sort(), [...TRANSITION_STATES].sort());
});

test('every transition reads back from its event exactly as it was built, and builds the same event again', () => {
  for (const { file, event } of transitions) {
    const template = buildTransition(inputOf(event));
    assert.equal(template.tags, event.tags, file);
    assert.is(template.content, event.content, file);
    assert.is(template.created_at, event.created_at, file);
    const signed = sign(template, SECRET.agent);
    assert.equal(parsed(signed), { ...parsed(event), eventId: signed.id }, file);
  }
});

test('the builder refuses a first transition with a prev, and a later one without', () => {
  const offered = inputOf(transition('05-offered.json'));
  assert.match(
    refusal(() => buildTransition({ ...offered, prev: 'f0'.repeat(32) })),
    'the first transition has no prev',
  );
  const funded = inputOf(transition('07-funded.json'));
  assert.match(
    refusal(() => buildTransition({ ...funded, prev: null })),
    'e:prev tag: needs exactly one',
  );
});

test('the builder refuses a claimed transition without its cause or worker', () => {
  const claimed = inputOf(transition('09-claimed.json'));
  assert.match(
    refusal(() => buildTransition({ ...claimed, cause: null })),
    'e:cause tag: needs exactly one',
  );
  assert.match(
    refusal(() => buildTransition({ ...claimed, worker: null })),
    'p:worker tag: needs exactly one',
  );
});

test('the builder refuses a fractional height and a negative amount', () => {
  const funded = inputOf(transition('07-funded.json'));
  if (funded.state !== 'funded') throw new Error('not funded');
  assert.match(
    refusal(() => buildTransition({ ...funded, details: { ...funded.details, htlcExpiryHeight: 3305.5 } })),
    'htlc_expiry tag: must be a block height',
  );
  assert.match(
    refusal(() => buildTransition({ ...funded, details: { ...funded.details, amountMsat: -1n } })),
    'amount tag: must be a whole number of msat',
  );
});

test('the builder refuses to publish a preimage that does not open the payment hash', () => {
  const settled = inputOf(transition('16-settled.json'));
  if (settled.state !== 'settled' || !settled.details.settlement) throw new Error('not a settlement');
  const settlement = { ...settled.details.settlement, preimage: '00'.repeat(32) };
  assert.match(
    refusal(() => buildTransition({ ...settled, details: { settlement, verdicts: [] } })),
    'sha256(preimage) is not payment_hash',
  );
});

test('the builder refuses an offer whose embedded listing is not the task', () => {
  const offered = inputOf(transition('05-offered.json'));
  assert.match(
    refusal(() => buildTransition({ ...offered, taskId: 'f0'.repeat(32) })),
    'content: must be the listing whose id is the task id',
  );
});

test('the builder refuses two payouts to the same recipient', () => {
  const paid = inputOf(transition('39-dispute-paid.json'));
  if (paid.state !== 'paid') throw new Error('not paid');
  const [first] = paid.details.payouts;
  assert.match(
    refusal(() => buildTransition({ ...paid, details: { ...paid.details, payouts: [first!, first!] } })),
    'must name each recipient at most once',
  );
});

function tampered(file: string, change: (tags: string[][]) => string[][], by = SECRET.agent): NostrEvent {
  const event = transition(file);
  return sign(
    { kind: event.kind, created_at: event.created_at, tags: change(event.tags), content: event.content },
    by,
  );
}
const drop =
  (...names: string[]) =>
  (tags: string[][]) =>
    tags.filter((tag) => !names.includes(tag[0]!));
const set = (name: string, value: string) => (tags: string[][]) =>
  tags.map((tag) => (tag[0] === name ? [name, value, ...tag.slice(2)] : tag));

const refused: Array<{ name: string; event: NostrEvent; says: string }> = [
  {
    name: 'is signed by someone other than the agent',
    event: tampered('16-settled.json', (tags) => tags, SECRET.poster),
    says: 'not signed by the agent',
  },
  {
    name: 'reveals a preimage that does not open the hash',
    event: tampered('16-settled.json', set('preimage', '11'.repeat(32))),
    says: 'sha256(preimage) is not payment_hash',
  },
  {
    name: 'carries half a settlement proof',
    event: tampered('16-settled.json', drop('fee')),
    says: 'settlement proof needs',
  },
  {
    name: 'has a payout whose proof does not open its hash',
    event: tampered('17-paid.json', (tags) =>
      tags.map((tag) => (tag[0] === 'payout' ? [...tag.slice(0, 4), '22'.repeat(32)] : tag)),
    ),
    says: 'sha256(proof preimage) is not the payout payment hash',
  },
  {
    name: 'is a funded transition without its hold deadline',
    event: tampered('07-funded.json', drop('hold_deadline')),
    says: 'hold_deadline tag: needs exactly one',
  },
  {
    name: 'gives a share for a resolution that is not split',
    event: tampered('15-settling.json', (tags) => [...tags, ['share_bps', '5000']]),
    says: 'share_bps tag: is required when the resolution is split',
  },
  {
    name: 'settles for a reason the protocol does not have',
    event: tampered('15-settling.json', set('reason', 'because')),
    says: 'reason tag: must be a settle reason',
  },
  {
    name: 'names a window end for the wrong window',
    event: tampered('09-claimed.json', (tags) =>
      tags.map((tag) => (tag[0] === 'window_end' ? [tag[0], tag[1]!, 'review'] : tag)),
    ),
    says: 'window_end tag',
  },
  {
    name: 'is a dispute that notifies no arbitrator',
    event: tampered('32-dispute-disputed.json', (tags) => tags.filter((tag) => tag[3] !== 'arbitrator')),
    says: 'p:arbitrator tag: needs a p tag with role "arbitrator"',
  },
  {
    name: 'has an action label',
    event: tampered('16-settled.json', set('l', 'approve')),
    says: '"approve" is not a transition label',
  },
  {
    name: 'has two prev links',
    event: tampered('07-funded.json', (tags) => [...tags, ['e', 'f0'.repeat(32), '', 'prev']]),
    says: 'e:prev tag: needs exactly one',
  },
];

for (const item of refused) {
  test(`a transition that ${item.name} is refused`, () => {
    const result = parseTransition(item.event, { agentPubkey: AGENT });
    assert.is(result.ok, false);
    if (!result.ok)
      assert.ok(result.reason.includes(item.says), `"${result.reason}" should say "${item.says}"`);
  });
}

test('an offer whose content is not the listing is refused', () => {
  const offered = transition('05-offered.json');
  const notJson = sign({ ...offered, content: 'see the listing' }, SECRET.agent);
  const result = parseTransition(notJson, { agentPubkey: AGENT });
  assert.ok(!result.ok && result.reason.includes('content: must be the task listing event as JSON'));
});

test('a rejection is built only for answered codes, with the prefix of its code', () => {
  const input = {
    eventId: 'e0'.repeat(32),
    author: EXAMPLE_KEYS.worker,
    taskId: null,
    code: 'NotYourTask' as const,
    reason: 'blocked: only the poster can approve',
    createdAt: 1_750_000_000,
  };
  const template = buildRejection(input);
  assert.ok(parseLabelled(rejectionSchema, template).ok);
  assert.not.ok(
    template.tags.some((tag) => tag[3] === 'task'),
    'no task tag when the task is unknown',
  );
  assert.match(
    refusal(() => buildRejection({ ...input, code: 'BadSignature', reason: 'invalid: x' })),
    'never answered',
  );
  assert.match(
    refusal(() => buildRejection({ ...input, reason: 'invalid: only the poster' })),
    'prefix of its code',
  );
});

test('the payment prompt mirrors the offer and expires with the invoice', () => {
  const offered = transition('05-offered.json');
  const value = (name: string) => offered.tags.find((tag) => tag[0] === name)![1]!;
  const template = buildPaymentPrompt({
    taskId: offered.tags.find((tag) => tag[3] === 'task')![1]!,
    poster: EXAMPLE_KEYS.poster,
    amountMsat: BigInt(value('amount')),
    bolt11: value('bolt11'),
    expiresAt: Number(value('expires_at')),
    createdAt: offered.created_at,
  });
  const prompt = parseLabelled(paymentPromptSchema, template);
  assert.ok(prompt.ok);
  if (prompt.ok) {
    assert.equal(prompt.value.tags.amount, ['amount', 21_000_000n, value('bolt11')]);
    assert.is(prompt.value.tags.expiration, Number(value('expires_at')));
  }
});

test('the announcement reads back the policy it was built from', () => {
  const event = sign(buildAnnouncement(EXAMPLE_POLICY, { rulesVersion: 7, createdAt: 1 }), SECRET.agent);
  const result = parseAnnouncement(event);
  assert.ok(result.ok);
  if (result.ok) {
    assert.equal(result.announcement.policy, EXAMPLE_POLICY);
    assert.is(result.announcement.rulesVersion, 7);
    assert.is(result.announcement.protocolVersion, 1);
  }
});

test('an announcement whose policy has an unknown field, a repeated key or a numeric msat is refused', () => {
  const good = buildAnnouncement(EXAMPLE_POLICY, { rulesVersion: 1, createdAt: 1 });
  const variants = [
    good.content.replace('"fee_ppm":', '"surprise":1,"fee_ppm":'),
    good.content.replace('"fee_ppm":', '"fee_ppm":0,"fee_ppm":'),
    good.content.replace('"fee_base_msat":"1000"', '"fee_base_msat":1000'),
  ];
  for (const content of variants) {
    const result = parseAnnouncement(sign({ ...good, content }, SECRET.agent));
    assert.is(result.ok, false, content.slice(0, 80));
  }
});

test('the relay list marks read-only and write-only relays, and leaves out relays used for neither', () => {
  const template = buildRelayList(
    [
      { url: 'wss://a.example', read: true, write: true },
      { url: 'wss://b.example', read: true, write: false },
      { url: 'wss://c.example', read: false, write: true },
      { url: 'wss://d.example', read: false, write: false },
    ],
    1,
  );
  assert.equal(template.tags, [
    ['r', 'wss://a.example'],
    ['r', 'wss://b.example', 'read'],
    ['r', 'wss://c.example', 'write'],
  ]);
});

test.run();
