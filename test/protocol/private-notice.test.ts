// Private notices (docs/protocol.md §11): NIP-17 direct messages from the agent, sealed and gift-wrapped. Only the
// recipient can read one, only a seal the agent signed over a rumor the agent wrote is believed, and an ordinary
// NIP-17 client (nostr-tools' own nip59 / nip17 unwrap, not our reader) opens it to the same message.
import * as nip17 from 'nostr-tools/nip17';
import { getConversationKey, v2 as nip44 } from 'nostr-tools/nip44';
import * as nip59 from 'nostr-tools/nip59';
import { generateSecretKey, getEventHash, getPublicKey } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LIMITS, LABEL_NAMESPACE as NS } from '../../src/protocol/constants.ts';
import {
  NOTICE_LIMITS,
  type PrivateNotice,
  readPrivateNotice,
  wrapPrivateNotice,
} from '../../src/protocol/private-notice.ts';
import { ProtocolInputError } from '../../src/protocol/protocol-input-error.ts';
import type { NostrEvent } from '../../src/protocol/schemas.ts';

const agentKey = generateSecretKey();
const AGENT = getPublicKey(agentKey);
const arbitratorKey = generateSecretKey();
const ARBITRATOR = getPublicKey(arbitratorKey);
const strangerKey = generateSecretKey();
const TASK = 'a1'.repeat(32);

const notice: PrivateNotice = {
  topic: 'dispute_opened',
  taskId: TASK,
  taskTitle: 'Translate the README to Italian',
  text: 'The poster disputed this task. Both statements are below; give your verdict with a verdict label.',
  facts: {
    statement_poster: 'Half of it is machine translation.',
    statement_worker: 'Every line was checked by hand.',
    amount_msat: '21000000',
  },
};

function expectedTags(subject: string, facts: Record<string, string>, p: string[] = ['p', ARBITRATOR]) {
  return [
    p,
    ['e', TASK, '', 'task'],
    ['subject', subject],
    ['L', NS],
    ['l', 'notice:dispute_opened', NS],
    ...Object.entries(facts).map(([key, value]) => ['fact', key, value]),
  ];
}

function decryptLayer(event: NostrEvent, key: Uint8Array): string {
  return nip44.decrypt(event.content, getConversationKey(key, event.pubkey));
}

/** A wrap made by nostr-tools' nip59 from a rumor we choose, sealed by `sealKey`. */
function handmade(
  rumor: { pubkey: string; kind: number; tags: string[][]; content: string },
  sealKey: Uint8Array,
) {
  const full = { ...rumor, created_at: Math.floor(Date.now() / 1000) };
  const withId = { ...full, id: getEventHash(full) };
  return nip59.createWrap(nip59.createSeal(withId, sealKey, ARBITRATOR), ARBITRATOR) as NostrEvent;
}

function throwsInput(make: () => unknown, pattern: RegExp) {
  try {
    make();
  } catch (error) {
    assert.instance(error, ProtocolInputError);
    assert.match((error as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected a ProtocolInputError matching ${pattern}`);
}

// ---------------------------------------------------------------------------------------------- round trip

test('the recipient reads back the notice the agent wrapped', () => {
  const wrap = wrapPrivateNotice(agentKey, ARBITRATOR, notice);
  assert.equal(readPrivateNotice(arbitratorKey, AGENT, wrap), notice);
});

test('an ordinary NIP-17 client (nip59.unwrapEvent, not our reader) opens it: kind 14 from the agent, our tags', () => {
  const wrap = wrapPrivateNotice(agentKey, ARBITRATOR, notice, 'wss://relay.example.com');
  const rumor = nip59.unwrapEvent(wrap, arbitratorKey);
  assert.is(rumor.kind, 14);
  assert.is(rumor.pubkey, AGENT);
  assert.is(rumor.content, notice.text);
  assert.is(rumor.id, getEventHash(rumor));
  assert.equal(
    rumor.tags,
    expectedTags('dispute_opened: Translate the README to Italian', notice.facts, [
      'p',
      ARBITRATOR,
      'wss://relay.example.com',
    ]),
  );
  // nip17's own unwrap (what a DM client built on nostr-tools calls) sees the same message.
  assert.equal(nip17.unwrapEvent(wrap, arbitratorKey), rumor);
});

test('a wrap made by nostr-tools nip59 from the same rumor reads the same: the layers are the standard ones', () => {
  const tags = expectedTags('dispute_opened: Translate the README to Italian', notice.facts);
  const wrap = nip59.wrapEvent({ kind: 14, tags, content: notice.text }, agentKey, ARBITRATOR) as NostrEvent;
  assert.equal(readPrivateNotice(arbitratorKey, AGENT, wrap), notice);
});

// ---------------------------------------------------------------------------------------------- who can read

// Decision: readPrivateNotice never throws for someone else's wrap; it returns null, so a client can run it
// over its whole inbox. nostr-tools' own unwrap throws (the MAC does not match).
test("a third party's key cannot read it: our reader returns null, nip59 throws", () => {
  const wrap = wrapPrivateNotice(agentKey, ARBITRATOR, notice);
  assert.is(readPrivateNotice(strangerKey, AGENT, wrap), null);
  assert.throws(() => nip59.unwrapEvent(wrap, strangerKey));
});

test('the agent keeps no copy: one wrap, for the recipient only, which the agent itself cannot open', () => {
  const wrap = wrapPrivateNotice(agentKey, ARBITRATOR, notice);
  assert.not.ok(Array.isArray(wrap));
  assert.is(readPrivateNotice(agentKey, AGENT, wrap), null);
  throwsInput(() => wrapPrivateNotice(agentKey, AGENT, notice), /agent keeps no copy/);
});

test("the wrap is signed by a one-time key (never the agent's), tags only the recipient and is dated in the past", () => {
  const now = Math.floor(Date.now() / 1000);
  const first = wrapPrivateNotice(agentKey, ARBITRATOR, notice);
  const second = wrapPrivateNotice(agentKey, ARBITRATOR, notice);
  assert.is(first.kind, 1059);
  assert.is.not(first.pubkey, AGENT);
  assert.is.not(first.pubkey, second.pubkey);
  assert.equal(first.tags, [['p', ARBITRATOR]]);
  assert.equal(Object.keys(first).sort(), ['content', 'created_at', 'id', 'kind', 'pubkey', 'sig', 'tags']);
  for (const wrap of [first, second]) {
    assert.ok(wrap.created_at <= now + 1 && wrap.created_at > now - 2 * 24 * 3600 - 1);
  }
  // The seal: signed by the agent, no tags, also dated at random (NIP-59).
  const seal = JSON.parse(decryptLayer(first, arbitratorKey)) as NostrEvent;
  assert.is(seal.kind, 13);
  assert.is(seal.pubkey, AGENT);
  assert.equal(seal.tags, []);
  assert.ok(seal.created_at <= now + 1 && seal.created_at > now - 2 * 24 * 3600 - 1);
});

// ---------------------------------------------------------------------------------------------- forgeries

test('a seal signed by another key is refused, even over a rumor that claims to be the agent', () => {
  const impostorKey = generateSecretKey();
  const tags = expectedTags('dispute_opened: Translate the README to Italian', notice.facts);
  const bySomeoneElse = nip59.wrapEvent({ kind: 14, tags, content: notice.text }, impostorKey, ARBITRATOR);
  assert.is(readPrivateNotice(arbitratorKey, AGENT, bySomeoneElse as NostrEvent), null);
  // The same wrap is fine when that key is the agent asked about: it is only the author that is wrong.
  assert.equal(
    readPrivateNotice(arbitratorKey, getPublicKey(impostorKey), bySomeoneElse as NostrEvent),
    notice,
  );

  const claimingAgent = handmade({ pubkey: AGENT, kind: 14, tags, content: notice.text }, impostorKey);
  assert.is(readPrivateNotice(arbitratorKey, AGENT, claimingAgent), null);
});

test("a rumor whose pubkey is not the seal's is refused (NIP-17), whoever signed the seal", () => {
  const tags = expectedTags('dispute_opened: Translate the README to Italian', notice.facts);
  const otherKey = generateSecretKey();
  // The agent's seal around a rumor written as someone else.
  const agentSealsOther = handmade(
    { pubkey: getPublicKey(otherKey), kind: 14, tags, content: notice.text },
    agentKey,
  );
  assert.is(readPrivateNotice(arbitratorKey, AGENT, agentSealsOther), null);
  // Someone's seal around a rumor written as the agent, read as that someone's notice.
  const otherSealsAgent = handmade({ pubkey: AGENT, kind: 14, tags, content: notice.text }, otherKey);
  assert.is(readPrivateNotice(arbitratorKey, getPublicKey(otherKey), otherSealsAgent), null);
  // nostr-tools enforces the same rule.
  assert.throws(() => nip59.unwrapEvent(agentSealsOther, arbitratorKey), /does not match seal pubkey/);
});

test('a rumor that is not kind 14, or without our label, or with an unknown one, is not a notice', () => {
  const base = expectedTags('dispute_opened: Translate the README to Italian', notice.facts);
  const variants: Array<[string, number, string[][]]> = [
    ['kind 1', 1, base],
    ['kind 15 (file message)', 15, base],
    ['no l tag', 14, base.filter((tag) => tag[0] !== 'l')],
    ['no L tag', 14, base.filter((tag) => tag[0] !== 'L')],
    ['unknown topic', 14, base.map((tag) => (tag[0] === 'l' ? ['l', 'notice:tip', NS] : tag))],
    ['not a notice label', 14, base.map((tag) => (tag[0] === 'l' ? ['l', 'claim', NS] : tag))],
    [
      'another namespace',
      14,
      base.map((tag) => (tag[0] === 'l' ? ['l', 'notice:dispute_opened', 'x/v1'] : tag)),
    ],
    [
      'subject of another topic',
      14,
      base.map((tag) => (tag[0] === 'subject' ? ['subject', 'custody_overdue: x'] : tag)),
    ],
    ['no task', 14, base.filter((tag) => tag[0] !== 'e')],
    ['p tag of someone else', 14, base.map((tag) => (tag[0] === 'p' ? ['p', AGENT] : tag))],
    ['a fact key in capitals', 14, [...base, ['fact', 'Amount', '1']]],
    ['the same fact twice', 14, [...base, ['fact', 'amount_msat', '2']]],
    ['an unknown tag', 14, [...base, ['expiration', '1']]],
  ];
  for (const [what, kind, tags] of variants) {
    const wrap = handmade({ pubkey: AGENT, kind, tags, content: notice.text }, agentKey);
    assert.is(readPrivateNotice(arbitratorKey, AGENT, wrap), null, what);
  }
});

test('a tampered or foreign event is null, not an exception', () => {
  const wrap = wrapPrivateNotice(agentKey, ARBITRATOR, notice);
  const flipped = `${wrap.content.slice(0, 40)}${wrap.content[40] === 'A' ? 'B' : 'A'}${wrap.content.slice(41)}`;
  const cases: NostrEvent[] = [
    { ...wrap, content: flipped },
    { ...wrap, sig: '00'.repeat(64) },
    { ...wrap, kind: 4 },
    { ...wrap, content: 'not base64 at all' },
    { ...wrap, content: 'A'.repeat(NOTICE_LIMITS.ciphertextChars + 1) },
    { ...wrap, pubkey: 'zz' },
  ];
  for (const event of cases) assert.is(readPrivateNotice(arbitratorKey, AGENT, event), null);
  throwsInput(() => readPrivateNotice(new Uint8Array(31), AGENT, wrap), /32 bytes/);
  throwsInput(() => readPrivateNotice(arbitratorKey, 'AB', wrap), /agentPubkey/);
});

// ---------------------------------------------------------------------------------------------- what is written

test('the subject carries the topic and the title cut to 80 characters; a relay hint goes in the p tag', () => {
  const title = `${'🦀'.repeat(50)}${'x'.repeat(100)}`;
  const wrap = wrapPrivateNotice(agentKey, ARBITRATOR, { ...notice, taskTitle: title });
  const subject = nip59.unwrapEvent(wrap, arbitratorKey).tags.find((tag) => tag[0] === 'subject')![1]!;
  assert.is(subject, `dispute_opened: ${'🦀'.repeat(50)}${'x'.repeat(29)}…`);
  assert.is(Array.from(subject.slice('dispute_opened: '.length)).length, 80);
  assert.is(readPrivateNotice(arbitratorKey, AGENT, wrap)?.taskTitle, `${'🦀'.repeat(50)}${'x'.repeat(29)}…`);
});

test('facts: keys of a-z and _ (1 to 32), values up to 4096 characters, else nothing is wrapped', () => {
  const withFacts = (facts: Record<string, string>) => () =>
    wrapPrivateNotice(agentKey, ARBITRATOR, { ...notice, facts });
  const longest = { ['k'.repeat(32)]: 'v'.repeat(4096), _: '' };
  assert.equal(readPrivateNotice(arbitratorKey, AGENT, withFacts(longest)())?.facts, longest);
  for (const key of ['', 'Amount', 'amount-msat', 'amount1', 'k'.repeat(33), 'é', '__proto__']) {
    throwsInput(withFacts({ [key]: '1' }), /fact key/);
  }
  throwsInput(withFacts(JSON.parse('{"__proto__": "1"}')), /fact key/);
  throwsInput(withFacts({ amount_msat: 'v'.repeat(4097) }), /at most 4096 characters/);
  throwsInput(withFacts({ amount_msat: 1 as unknown as string }), /must be a string/);
  throwsInput(withFacts({ statement_poster: '\uD800' }), /lone surrogates/);
});

test('the rest of the notice is checked before anything is wrapped', () => {
  throwsInput(
    () => wrapPrivateNotice(agentKey, ARBITRATOR, { ...notice, topic: 'tip' as 'dispute_opened' }),
    /topic/,
  );
  throwsInput(
    () => wrapPrivateNotice(agentKey, ARBITRATOR, { ...notice, taskId: TASK.toUpperCase() }),
    /taskId/,
  );
  throwsInput(() => wrapPrivateNotice(agentKey, ARBITRATOR, { ...notice, text: '  ' }), /text/);
  throwsInput(() => wrapPrivateNotice(agentKey, ARBITRATOR.toUpperCase(), notice), /recipient/);
  throwsInput(() => wrapPrivateNotice(agentKey, 'ff'.repeat(32), notice), /not a valid public key/);
  throwsInput(
    () => wrapPrivateNotice(agentKey, ARBITRATOR, notice, 'https://relay.example.com'),
    /relayHint/,
  );
  // 95 facts and the 5 fixed tags (p, e, subject, L, l) make 100 tags, the most an event may carry; 96 is one too many.
  const letters = (index: number) =>
    `f_${String.fromCharCode(97 + Math.floor(index / 26), 97 + (index % 26))}`;
  const facts = (count: number) =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [letters(i), '1']));
  assert.ok(
    readPrivateNotice(
      arbitratorKey,
      AGENT,
      wrapPrivateNotice(agentKey, ARBITRATOR, { ...notice, facts: facts(95) }),
    ),
  );
  throwsInput(
    () => wrapPrivateNotice(agentKey, ARBITRATOR, { ...notice, facts: facts(96) }),
    /at most 100 tags/,
  );
});

test('the largest rumor gives a wrap a relay takes (64 KiB) and NIP-44 v2 plaintexts; one byte more is refused', () => {
  // Grow the text until the rumor reaches the limit: three 4096-character facts and a text of multi-byte letters.
  const facts = {
    statement_poster: 'p'.repeat(4096),
    statement_worker: 'w'.repeat(4096),
    recipient: 'worker',
  };
  const rumorBytes = (text: string) => {
    const wrap = wrapPrivateNotice(agentKey, ARBITRATOR, { ...notice, facts, text });
    return new TextEncoder().encode(JSON.stringify(nip59.unwrapEvent(wrap, arbitratorKey))).length;
  };
  let text = 'é'.repeat(8000);
  text += 'x'.repeat(NOTICE_LIMITS.rumorBytes - rumorBytes(text));
  assert.is(rumorBytes(text), NOTICE_LIMITS.rumorBytes);
  const wrap = wrapPrivateNotice(agentKey, ARBITRATOR, { ...notice, facts, text });
  assert.ok(new TextEncoder().encode(JSON.stringify(wrap)).length <= LIMITS.eventBytes);
  assert.ok(new TextEncoder().encode(decryptLayer(wrap, arbitratorKey)).length <= 65_535);
  assert.is(readPrivateNotice(arbitratorKey, AGENT, wrap)?.text, text);
  throwsInput(
    () => wrapPrivateNotice(agentKey, ARBITRATOR, { ...notice, facts, text: `${text}x` }),
    /bytes, more than/,
  );
});

test.run();
