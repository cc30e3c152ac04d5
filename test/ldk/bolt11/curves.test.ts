// The two invoice curves of src/ldk/bolt11/signature.ts give the same answers: the pure-JS default (@noble/curves,
// which the browser pages run) and libsecp256k1 in WebAssembly (src/crypto/ecdsa.ts, which the agent and the
// command line install). Random keys and hashes, signatures in low-S and high-S form, every recovery id, and
// broken inputs (r or s zero or above the order, r off the curve, wrong lengths). The spec's vectors run on the
// libsecp256k1 curve in bolt11-libsecp256k1.test.ts.
import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { libsecp256k1InvoiceCurve as wasm } from '../../../src/crypto/ecdsa.ts';
import { nobleInvoiceCurve as noble } from '../../../src/ldk/bolt11/signature.ts';

const ORDER = secp256k1.Point.Fn.ORDER;
const hex = (bytes: Uint8Array | null) => (bytes === null ? null : bytesToHex(bytes));

function compactOf(r: bigint, s: bigint): Uint8Array {
  const bytes = new Uint8Array(64);
  bytes.set(Buffer.from(r.toString(16).padStart(64, '0'), 'hex'), 0);
  bytes.set(Buffer.from(s.toString(16).padStart(64, '0'), 'hex'), 32);
  return bytes;
}

function sameAnswers(compact: Uint8Array, hash: Uint8Array, key: Uint8Array, label: string) {
  for (let recoveryId = 0; recoveryId < 4; recoveryId++) {
    assert.is(
      hex(wasm.recoverCompressed(compact, recoveryId, hash)),
      hex(noble.recoverCompressed(compact, recoveryId, hash)),
      `${label}: recovery id ${recoveryId}`,
    );
  }
  assert.is(wasm.verifyLowS(compact, hash, key), noble.verifyLowS(compact, hash, key), `${label}: verify`);
}

test('random signatures, low-S and high-S: the same recovered keys and the same verdicts', () => {
  for (let round = 0; round < 200; round++) {
    const privateKey = secp256k1.utils.randomSecretKey();
    const key = secp256k1.getPublicKey(privateKey, true);
    const hash = randomBytes(32);
    const signed = secp256k1.sign(hash, privateKey, { prehash: false, lowS: true, format: 'recovered' });
    const lowS = signed.subarray(1);
    const recoveryId = signed[0] as number;
    assert.is(hex(wasm.recoverCompressed(lowS, recoveryId, hash)), hex(key), 'the signer is recovered');
    assert.ok(wasm.verifyLowS(lowS, hash, key));
    sameAnswers(lowS, hash, key, `round ${round} low-S`);
    const parsed = secp256k1.Signature.fromBytes(lowS, 'compact');
    const highS = compactOf(parsed.r, ORDER - parsed.s);
    assert.not.ok(wasm.verifyLowS(highS, hash, key), 'a high-S signature does not verify');
    assert.ok(wasm.recoverCompressed(highS, recoveryId ^ 1, hash) !== null, 'but is recovered from');
    assert.is(hex(wasm.recoverCompressed(highS, recoveryId ^ 1, hash)), hex(key));
    sameAnswers(highS, hash, key, `round ${round} high-S`);
    const otherKey = secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true);
    sameAnswers(lowS, hash, otherKey, `round ${round} another key`);
  }
});

test('broken signatures and keys: no key, no verdict, and no throw on either curve', () => {
  const privateKey = secp256k1.utils.randomSecretKey();
  const key = secp256k1.getPublicKey(privateKey, true);
  const hash = randomBytes(32);
  const signed = secp256k1.sign(hash, privateKey, { prehash: false, lowS: true, format: 'recovered' });
  const { r, s } = secp256k1.Signature.fromBytes(signed.subarray(1), 'compact');
  let offCurve = 5n;
  for (;;) {
    try {
      secp256k1.Point.fromHex(`02${offCurve.toString(16).padStart(64, '0')}`);
      offCurve += 1n;
    } catch {
      break;
    }
  }
  const cases: Array<[string, Uint8Array]> = [
    ['r zero', compactOf(0n, s)],
    ['s zero', compactOf(r, 0n)],
    ['r the order', compactOf(ORDER, s)],
    ['s the order', compactOf(r, ORDER)],
    ['r above the order', compactOf(ORDER + 5n, s)],
    ['r off the curve', compactOf(offCurve, s)],
    ['all ones', new Uint8Array(64).fill(0xff)],
  ];
  for (const [label, compact] of cases) sameAnswers(compact, hash, key, label);
  const good = signed.subarray(1);
  for (const curve of [wasm, noble]) {
    assert.is(curve.recoverCompressed(good.subarray(0, 63), 0, hash), null, 'a short signature');
    assert.is(curve.recoverCompressed(good, 0, hash.subarray(0, 31)), null, 'a short hash');
    assert.not.ok(curve.verifyLowS(good, hash, key.subarray(1)), 'an x-only key');
    assert.not.ok(curve.verifyLowS(good, hash, new Uint8Array(33).fill(2)), 'a key off the curve');
  }
  assert.is(wasm.recoverCompressed(good, 4, hash), null, 'a recovery id above 3');
});

test.run();
