// The agent's Schnorr (src/crypto/schnorr.ts: libsecp256k1 in WebAssembly) against the references: every BIP-340
// test vector (test/fixtures/bip340-vectors.csv), and nostr-tools' pure verifyEvent / finalizeEvent on random
// events, keys and contents, unchanged and with one thing changed (signature, id, pubkey, content, tag). The agent's
// verdict is always nostr-tools' verdict, every changed event is rejected, and bad input is `false`, never a throw.
import { readFileSync } from 'node:fs';
import { bytesToHex } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import * as pure from 'nostr-tools/pure';
import * as secp from 'tiny-secp256k1';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { finalizeEvent, publicKeyOf, verifyEvent, verifySchnorr } from '../../src/crypto/schnorr.ts';
import type { NostrEvent } from '../../src/protocol/schemas.ts';
import { pureSchnorrVerifier, verifyEvent as verifyOnIntake } from '../../src/protocol/verify-event.ts';

interface Vector {
  index: string;
  secretKey: string;
  publicKey: string;
  auxRand: string;
  message: string;
  signature: string;
  valid: boolean;
  comment: string;
}

const vectors: Vector[] = readFileSync(new URL('../fixtures/bip340-vectors.csv', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => {
    const [index, secretKey, publicKey, auxRand, message, signature, result, comment] = line.split(',');
    return {
      index: index!,
      secretKey: secretKey!.toLowerCase(),
      publicKey: publicKey!.toLowerCase(),
      auxRand: auxRand!.toLowerCase(),
      message: message!.toLowerCase(),
      signature: signature!.toLowerCase(),
      valid: result === 'TRUE',
      comment: comment ?? '',
    };
  });

const fromHex = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));

test('the fixture holds the 15 BIP-340 vectors with 32-byte messages, 5 valid and 10 invalid', () => {
  assert.is(vectors.length, 15);
  assert.is(vectors.filter((vector) => vector.valid).length, 5);
  for (const vector of vectors) assert.is(vector.message.length, 64, `vector ${vector.index}`);
});

test('BIP-340 vectors: the agent verifier and the portable default give the expected verdict', () => {
  for (const vector of vectors) {
    const label = `vector ${vector.index} ${vector.comment}`;
    assert.is(verifySchnorr(vector.signature, vector.message, vector.publicKey), vector.valid, label);
    assert.is(pureSchnorrVerifier(vector.signature, vector.message, vector.publicKey), vector.valid, label);
  }
});

test('BIP-340 vectors: the public key of each secret key, and the exact signature with the given aux_rand', () => {
  const signing = vectors.filter((vector) => vector.secretKey !== '');
  assert.is(signing.length, 4);
  for (const vector of signing) {
    assert.is(publicKeyOf(fromHex(vector.secretKey)), vector.publicKey, `vector ${vector.index}`);
    // The WebAssembly build itself signs as the BIP does (finalizeEvent draws fresh aux_rand for each signature).
    const signature = secp.signSchnorr(
      fromHex(vector.message),
      fromHex(vector.secretKey),
      fromHex(vector.auxRand),
    );
    assert.is(bytesToHex(signature), vector.signature, `vector ${vector.index}`);
  }
});

// Random events as people send them: any kind, tags with unicode and characters JSON escapes, any content.
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constant('"\\\n\u2028'),
);
const template = fc.record({
  kind: fc.integer({ min: 0, max: 65535 }),
  created_at: fc.integer({ min: 0, max: 2 ** 32 }),
  tags: fc.array(fc.array(text, { minLength: 1, maxLength: 4 }), { maxLength: 6 }),
  content: text,
});
const secretKey = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((bytes) => secp.isPrivate(bytes));

const fields = (event: NostrEvent): NostrEvent => ({
  id: event.id,
  pubkey: event.pubkey,
  created_at: event.created_at,
  kind: event.kind,
  tags: event.tags,
  content: event.content,
  sig: event.sig,
});
/** nostr-tools' verdict on a fresh object (it caches a verdict on the object it was given). */
const reference = (event: NostrEvent) => pure.verifyEvent(fields(event));

test('random events: what the agent signs nostr-tools verifies, with the same pubkey and id; and the reverse', () => {
  fc.assert(
    fc.property(template, secretKey, (unsigned, key) => {
      const ours = fields(finalizeEvent(unsigned, key));
      assert.is(ours.pubkey, pure.getPublicKey(key));
      assert.is(ours.id, pure.getEventHash(ours));
      assert.ok(reference(ours), 'nostr-tools rejects an event the agent signed');
      assert.ok(verifyEvent(ours));
      const theirs = fields(pure.finalizeEvent({ ...unsigned }, key));
      assert.is(theirs.id, ours.id, 'the same template and key give the same id');
      assert.ok(verifyEvent(theirs), 'the agent rejects an event nostr-tools signed');
      assert.ok(verifyOnIntake(theirs, verifySchnorr).ok);
    }),
    { numRuns: 300 },
  );
});

/** One hex character changed at `at` (to another hex character). */
function flip(hex: string, at: number): string {
  const index = at % hex.length;
  const next = hex[index] === '0' ? '1' : '0';
  return `${hex.slice(0, index)}${next}${hex.slice(index + 1)}`;
}

test('random events with one thing changed: the agent rejects each, as nostr-tools does', () => {
  const change = fc.oneof(
    fc.nat().map((at) => (event: NostrEvent) => ({ ...event, sig: flip(event.sig, at) })),
    fc.nat().map((at) => (event: NostrEvent) => ({ ...event, id: flip(event.id, at) })),
    fc.nat().map((at) => (event: NostrEvent) => ({ ...event, pubkey: flip(event.pubkey, at) })),
    fc.constant((event: NostrEvent) => ({ ...event, content: `${event.content} ` })),
    fc.constant((event: NostrEvent) => ({ ...event, created_at: event.created_at + 1 })),
    fc.constant((event: NostrEvent) => ({ ...event, tags: [...event.tags, ['p', 'b'.repeat(64)]] })),
    // A valid signature and id, for the same content under another key.
    fc.constant((event: NostrEvent) => {
      const other = pure.finalizeEvent({ ...event, tags: [...event.tags] }, pure.generateSecretKey());
      return { ...event, sig: other.sig };
    }),
  );
  fc.assert(
    fc.property(template, secretKey, change, (unsigned, key, changed) => {
      const forged = changed(fields(finalizeEvent(unsigned, key)));
      assert.is(reference(forged), false, 'the reference accepted a changed event');
      assert.is(verifyEvent(forged), false);
      assert.is(verifyOnIntake(forged, verifySchnorr).ok, false);
      assert.is(verifyOnIntake(forged).ok, false);
    }),
    { numRuns: 300 },
  );
});

test('the intake step gives the same code with either verifier: BadId for a changed id, BadSignature for a bad one', () => {
  const key = pure.generateSecretKey();
  const good = fields(finalizeEvent({ kind: 1985, created_at: 1_750_000_000, tags: [], content: 'x' }, key));
  const badId = { ...good, content: 'y' };
  const badSig = { ...good, sig: fields(finalizeEvent({ ...good, content: 'z' }, key)).sig };
  for (const verifier of [verifySchnorr, pureSchnorrVerifier]) {
    assert.equal(verifyOnIntake(good, verifier), { ok: true });
    assert.is((verifyOnIntake(badId, verifier) as { code: string }).code, 'BadId');
    assert.is((verifyOnIntake(badSig, verifier) as { code: string }).code, 'BadSignature');
  }
});

// nostr-tools' pure verifyEvent would take an upper-case signature or pubkey; both verifiers here take the one
// spelling NIP-01 writes (the intake's shape check refuses the others before them anyway).
test('malformed input is false, never a throw: lengths, case, non-hex, a pubkey off the curve', () => {
  const key = pure.generateSecretKey();
  const good = fields(finalizeEvent({ kind: 1, created_at: 1, tags: [], content: '' }, key));
  const cases: Array<[string, string, string]> = [
    [good.sig.toUpperCase(), good.id, good.pubkey],
    [good.sig, good.id.toUpperCase(), good.pubkey],
    [good.sig, good.id, good.pubkey.toUpperCase()],
    [good.sig.slice(2), good.id, good.pubkey],
    [`${good.sig}00`, good.id, good.pubkey],
    [good.sig, good.id.slice(2), good.pubkey],
    [good.sig, good.id, good.pubkey.slice(2)],
    [`zz${good.sig.slice(2)}`, good.id, good.pubkey],
    [good.sig, good.id, `${good.pubkey.slice(0, 62)}g0`],
    ['', '', ''],
    // x = 5 is not on the curve (5^3 + 7 = 132 is not a square mod p).
    [good.sig, good.id, '0'.repeat(63) + '5'],
    [good.sig, good.id, 'f'.repeat(64)],
    [good.sig, good.id, '0'.repeat(64)],
  ];
  assert.ok(verifySchnorr(good.sig, good.id, good.pubkey));
  for (const [sig, id, pubkey] of cases) {
    assert.is(
      verifySchnorr(sig, id, pubkey),
      false,
      `${sig.slice(0, 8)} ${id.slice(0, 8)} ${pubkey.slice(0, 8)}`,
    );
    assert.is(pureSchnorrVerifier(sig, id, pubkey), false);
  }
  assert.is(verifySchnorr(null as unknown as string, good.id, good.pubkey), false);
  assert.is(verifyEvent({ ...good, tags: 'x' as unknown as string[][] }), false);
  assert.is(verifyEvent({ ...good, kind: '1' as unknown as number }), false);
});

test("a verdict cached on the object (nostr-tools' verifiedSymbol) is never believed: a forgery marked verified fails", () => {
  const key = pure.generateSecretKey();
  const good = fields(finalizeEvent({ kind: 1, created_at: 1, tags: [], content: 'a' }, key));
  const forged = {
    ...good,
    sig: fields(finalizeEvent({ ...good, content: 'b' }, key)).sig,
    [pure.verifiedSymbol]: true,
  };
  assert.is(pure.verifyEvent(forged), true, 'nostr-tools believes the flag');
  assert.is(verifyEvent(forged), false);
  assert.is((verifyOnIntake(forged, verifySchnorr) as { code: string }).code, 'BadSignature');
  assert.is((verifyOnIntake(forged) as { code: string }).code, 'BadSignature');
});

test('a secret key changed in place signs with its new public key, not a remembered one', () => {
  const key = pure.generateSecretKey();
  const before = finalizeEvent({ kind: 1, created_at: 1, tags: [], content: 'a' }, key);
  assert.is(before.pubkey, pure.getPublicKey(key));
  key.set(pure.generateSecretKey());
  const after = finalizeEvent({ kind: 1, created_at: 1, tags: [], content: 'a' }, key);
  assert.is(after.pubkey, pure.getPublicKey(key));
  assert.is.not(after.pubkey, before.pubkey);
  assert.ok(reference(fields(after)));
});

test('two signatures of one template differ (fresh aux_rand) and both verify', () => {
  const key = pure.generateSecretKey();
  const unsigned = { kind: 1, created_at: 1, tags: [], content: 'same' };
  const first = fields(finalizeEvent(unsigned, key));
  const second = fields(finalizeEvent(unsigned, key));
  assert.is(first.id, second.id);
  assert.is.not(first.sig, second.sig);
  assert.ok(reference(first) && reference(second));
});

test.run();
