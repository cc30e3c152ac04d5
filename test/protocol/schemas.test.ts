// Hostile input at the boundary: every malformed, forged or oversized event is refused by the first intake
// step that can see the problem (size -> strict JSON -> shape -> id and signature -> freshness), with the
// reason code and text that step gives. And the atoms refuse every second spelling of a value.
import { createHash } from 'node:crypto';
import { bech32 } from '@scure/base';
import { finalizeEvent } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { verifySchnorr } from '../../src/crypto/schnorr.ts';
import { LABEL_NAMESPACE, LIMITS } from '../../src/protocol/constants.ts';
import type { IntakeFailure, IntakeReasonCode } from '../../src/protocol/reasons.ts';
import {
  bolt11,
  bpsString,
  hex64,
  msat,
  type NostrEvent,
  parseEvent,
  parseEventJson,
  relayHint,
  windowSecondsString,
} from '../../src/protocol/schemas.ts';
import {
  checkFreshness,
  pureSchnorrVerifier,
  useSchnorrVerifier,
  verifyEvent,
} from '../../src/protocol/verify-event.ts';

const NOW = 1_750_000_000;
const SECRET = new Uint8Array(createHash('sha256').update('nostr-escrow test key: schemas').digest());
const TASK = 'a'.repeat(64);
const AGENT = 'b'.repeat(64);

function sign(changes: { created_at?: number; tags?: string[][]; content?: string } = {}): NostrEvent {
  const { id, pubkey, created_at, kind, tags, content, sig } = finalizeEvent(
    {
      kind: 1985,
      created_at: changes.created_at ?? NOW,
      tags: changes.tags ?? [
        ['L', LABEL_NAMESPACE],
        ['l', 'claim', LABEL_NAMESPACE],
        ['e', TASK, '', 'task'],
        ['p', AGENT],
      ],
      content: changes.content ?? 'On it.',
    },
    SECRET,
  );
  return { id, pubkey, created_at, kind, tags, content, sig };
}

/** The intake's first steps, in their order, as the relay intake runs them. */
function intake(text: string, now = NOW): { ok: true } | IntakeFailure {
  const parsed = parseEventJson(text);
  if (!parsed.ok) return parsed;
  const verified = verifyEvent(parsed.event);
  if (!verified.ok) return verified;
  return checkFreshness(parsed.event, now);
}

const genuine = sign();
const json = (value: unknown) => JSON.stringify(value);
const withField = (field: string, value: unknown) => json({ ...genuine, [field]: value });
const flip = (hex: string) => (hex[0] === '0' ? '1' : '0') + hex.slice(1);

interface Case {
  name: string;
  text: string;
  code: IntakeReasonCode;
  /** A piece of the reason text. */
  says: string;
  now?: number;
}

const cases: Case[] = [
  {
    name: 'raw JSON over 64 KiB',
    text: json({ ...genuine, content: 'x'.repeat(70_000) }),
    code: 'TooLarge',
    says: 'larger than 65536 bytes',
  },
  {
    name: 'under 64 Ki characters but over 64 KiB of UTF-8',
    text: json({ ...genuine, content: '€'.repeat(22_000) }),
    code: 'TooLarge',
    says: 'larger than 65536 bytes',
  },
  {
    name: 'over 64 KiB of text that is not even JSON (size comes first)',
    text: '['.repeat(70_000),
    code: 'TooLarge',
    says: 'larger than',
  },
  {
    name: 'a repeated key and an unknown field (strict JSON comes before shape)',
    text: json({ ...genuine, extra: 1 }).replace('"kind":', '"kind":1,"kind":'),
    code: 'DuplicateKey',
    says: 'duplicate JSON key "kind"',
  },
  { name: 'text that is not JSON', text: '{"id": "abc",', code: 'NotJson', says: 'not JSON' },
  {
    name: 'a repeated key',
    text: json(genuine).replace('"content":', '"content":"approve","content":'),
    code: 'DuplicateKey',
    says: 'duplicate JSON key "content"',
  },
  {
    name: 'a key repeated through an escape ("\\u0069d" is "id")',
    text: json(genuine).replace('{"id":', `{"\\u0069d":"${'0'.repeat(64)}","id":`),
    code: 'DuplicateKey',
    says: 'duplicate JSON key "id"',
  },
  {
    name: 'a __proto__ key',
    text: json(genuine).replace('{"id":', '{"__proto__":{"admin":true},"id":'),
    code: 'ForbiddenKey',
    says: '"__proto__"',
  },
  {
    name: 'a JSON array instead of an object',
    text: json([genuine]),
    code: 'BadShape',
    says: 'event must be a JSON object',
  },
  {
    name: 'an extra top-level field',
    text: withField('relay', 'wss://x'),
    code: 'BadShape',
    says: 'unknown field "relay"',
  },
  {
    name: 'a missing field',
    text: json({ ...genuine, sig: undefined }),
    code: 'BadShape',
    says: 'sig: is missing',
  },
  {
    name: 'uppercase hex in the id',
    text: withField('id', genuine.id.toUpperCase()),
    code: 'BadShape',
    says: 'id: must be 64 lowercase hex',
  },
  {
    name: 'uppercase hex in the pubkey',
    text: withField('pubkey', genuine.pubkey.toUpperCase()),
    code: 'BadShape',
    says: 'pubkey: must be 64 lowercase hex',
  },
  {
    name: 'an id one character short',
    text: withField('id', genuine.id.slice(1)),
    code: 'BadShape',
    says: 'id: must be 64',
  },
  {
    name: 'a signature one character short',
    text: withField('sig', genuine.sig.slice(1)),
    code: 'BadShape',
    says: 'sig: must be 128',
  },
  {
    name: 'a float created_at',
    text: withField('created_at', NOW + 0.5),
    code: 'BadShape',
    says: 'created_at: must be a whole number',
  },
  {
    name: 'created_at as a string',
    text: withField('created_at', String(NOW)),
    code: 'BadShape',
    says: 'created_at: must be a whole number',
  },
  {
    name: 'a negative created_at',
    text: withField('created_at', -1),
    code: 'BadShape',
    says: 'created_at: must be a whole number',
  },
  {
    name: 'created_at past 2106',
    text: withField('created_at', 2 ** 40),
    code: 'BadShape',
    says: 'created_at: must be a whole number of unix seconds before 2106',
  },
  {
    name: 'a float kind',
    text: withField('kind', 1985.5),
    code: 'BadShape',
    says: 'kind: must be an integer from 0 to 65535',
  },
  {
    name: 'kind 65536',
    text: withField('kind', 65_536),
    code: 'BadShape',
    says: 'kind: must be an integer from 0 to 65535',
  },
  {
    name: 'a negative kind',
    text: withField('kind', -1),
    code: 'BadShape',
    says: 'kind: must be an integer from 0 to 65535',
  },
  {
    name: 'content over 32 768 characters',
    text: withField('content', 'x'.repeat(LIMITS.contentChars + 1)),
    code: 'BadShape',
    says: 'content: must be at most 32768 characters',
  },
  {
    name: 'a flood of 101 tags',
    text: withField(
      'tags',
      Array.from({ length: 101 }, () => ['t', 'x']),
    ),
    code: 'BadShape',
    says: 'tags: must have at most 100 tags',
  },
  {
    name: 'a tag of 17 elements',
    text: withField('tags', [Array.from({ length: 17 }, () => 'x')]),
    code: 'BadShape',
    says: 'tags[0]: must have at most 16 elements',
  },
  {
    name: 'an empty tag',
    text: withField('tags', [[]]),
    code: 'BadShape',
    says: 'tags[0]: must have a name',
  },
  {
    name: 'a number inside a tag',
    text: withField('tags', [['amount', 5]]),
    code: 'BadShape',
    says: 'tags[0][1]: must be a string',
  },
  {
    name: 'a lone surrogate in the content',
    text: json(genuine).replace('"content":"On it."', '"content":"On it.\\ud800"'),
    code: 'BadShape',
    says: 'well-formed Unicode',
  },
  {
    name: 'an id that is not the hash of the event (a forged copy)',
    text: withField('content', 'Approve instead.'),
    code: 'BadId',
    says: 'event id is not the hash',
  },
  {
    name: 'a tampered id',
    text: withField('id', flip(genuine.id)),
    code: 'BadId',
    says: 'event id is not the hash',
  },
  {
    name: 'a tampered signature',
    text: withField('sig', flip(genuine.sig)),
    code: 'BadSignature',
    says: 'signature does not match',
  },
  {
    name: 'the valid signature of another event',
    text: withField('sig', (() => sign({ content: 'other' }).sig)()),
    code: 'BadSignature',
    says: 'signature does not match',
  },
  {
    name: 'a well-signed event dated 301 s ahead',
    text: json(sign({ created_at: NOW + 301 })),
    code: 'FutureTimestamp',
    says: 'more than 300 s in the future',
  },
];

for (const item of cases) {
  test(`an event with ${item.name} is refused with ${item.code}`, () => {
    const result = intake(item.text, item.now);
    assert.is(result.ok, false, 'refused');
    if (result.ok) return;
    assert.is(result.code, item.code, result.reason);
    assert.ok(result.reason.startsWith('invalid: '), result.reason);
    assert.ok(result.reason.includes(item.says), `"${result.reason}" should say "${item.says}"`);
  });
}

test('the genuine event passes every intake step', () => {
  assert.equal(intake(json(genuine)), { ok: true });
});

test('an event exactly 300 s ahead is still fresh, and old events are always fresh', () => {
  assert.equal(intake(json(sign({ created_at: NOW + 300 }))), { ok: true });
  assert.equal(intake(json(sign({ created_at: NOW - 10 * 365 * 86_400 }))), { ok: true });
});

test('pretty-printed JSON is accepted: only the values are signed, not the layout', () => {
  assert.equal(intake(JSON.stringify(genuine, null, 2)), { ok: true });
});

test('verification is not fooled by a cached verdict on a mutated object', () => {
  const event = sign(); // finalizeEvent marks its result as verified
  const mutated = { ...event, content: 'Approve instead.' };
  assert.is(verifyEvent(mutated).ok, false);
});

test('an event that arrived already parsed gets the same shape checks', () => {
  const result = parseEvent({ ...genuine, kind: 1985.5 });
  assert.is(result.ok, false);
  if (!result.ok) assert.is(result.reason, 'invalid: kind: must be an integer from 0 to 65535');
});

// ------------------------------------------------------------------------------------------- atoms

function accepts(schema: { safeParse(value: unknown): { success: boolean } }, value: unknown): boolean {
  return schema.safeParse(value).success;
}

test('msat amounts have exactly one spelling: no sign, leading zero, fraction, exponent or space', () => {
  for (const good of ['0', '1', '21000000', '2100000000000000000']) assert.ok(accepts(msat, good), good);
  for (const bad of [
    '01',
    '-1',
    '+1',
    '1.0',
    '1.5',
    '1e3',
    ' 1',
    '1 ',
    '',
    '0x10',
    '2100000000000000001',
    '1'.repeat(20),
    21,
  ]) {
    assert.not.ok(accepts(msat, bad), String(bad));
  }
  assert.is(msat.parse('2100000000000000000'), 2_100_000_000_000_000_000n);
});

test('integer tags are range-checked decimal strings', () => {
  assert.is(bpsString.parse('6000'), 6000);
  for (const bad of ['10001', '-5', '60.5', '06000', '', '6e3']) assert.not.ok(accepts(bpsString, bad), bad);
  assert.is(windowSecondsString.parse('86400'), 86_400);
  assert.not.ok(accepts(windowSecondsString, '0'));
});

test('hex is lowercase and exactly 64 characters', () => {
  assert.ok(accepts(hex64, 'ab'.repeat(32)));
  for (const bad of ['AB'.repeat(32), 'ab'.repeat(31), 'ab'.repeat(33), 'zz'.repeat(32)])
    assert.not.ok(accepts(hex64, bad), bad);
});

test('bolt11 text must be lowercase, on a known network, with a valid bech32 checksum', () => {
  const words = bech32.toWords(new Uint8Array([1, 2, 3]));
  const invoice = bech32.encode('lnbcrt210u', words, false);
  assert.ok(accepts(bolt11, invoice));
  assert.not.ok(accepts(bolt11, invoice.toUpperCase()), 'uppercase');
  assert.not.ok(accepts(bolt11, `${invoice.slice(0, -1)}q`), 'bad checksum');
  assert.not.ok(accepts(bolt11, bech32.encode('lnxx210u', words, false)), 'unknown network');
  assert.not.ok(accepts(bolt11, bech32.encode('npub', words, false)), 'not an invoice');
});

test('relay hints are empty or a websocket URL', () => {
  for (const good of ['', 'wss://relay.example.com', 'ws://127.0.0.1:7777'])
    assert.ok(accepts(relayHint, good), good);
  for (const bad of ['https://relay.example.com', 'wss://', 'relay.example.com', 'wss://a b'])
    assert.not.ok(accepts(relayHint, bad), bad);
});

test('the default Schnorr check can be replaced (the command line installs libsecp256k1); both agree', () => {
  const forged = { ...genuine, sig: flip(genuine.sig) };
  const calls: string[] = [];
  const previous = useSchnorrVerifier((sig, id, pubkey) => {
    calls.push(id);
    return verifySchnorr(sig, id, pubkey);
  });
  try {
    assert.ok(verifyEvent(genuine).ok);
    assert.not.ok(verifyEvent(forged).ok);
    assert.equal(calls, [genuine.id, genuine.id], 'the installed check ran for both');
    assert.ok(verifyEvent(genuine, pureSchnorrVerifier).ok, 'a verifier passed in still wins');
    assert.is(calls.length, 2);
  } finally {
    useSchnorrVerifier(previous);
  }
  assert.is(previous, pureSchnorrVerifier, 'the portable default until something replaces it');
  for (const [sig, id, pubkey] of [
    [genuine.sig, genuine.id, genuine.pubkey],
    [forged.sig, genuine.id, genuine.pubkey],
    [genuine.sig.toUpperCase(), genuine.id, genuine.pubkey],
    [genuine.sig, genuine.id, genuine.pubkey.slice(2)],
  ] as const) {
    assert.is(
      verifySchnorr(sig, id, pubkey),
      pureSchnorrVerifier(sig, id, pubkey),
      `${sig.slice(0, 8)} ${pubkey.length}`,
    );
  }
});

test.run();
