// The verification pool (src/crypto/verify-pool.ts): worker threads give the same verdicts as the main thread's
// libsecp256k1 for valid signatures, signatures of another event, another key, and malformed hex, whatever the
// batching; a closed pool refuses new work.
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { verifySchnorr } from '../../src/crypto/schnorr.ts';
import { createVerifyPool } from '../../src/crypto/verify-pool.ts';

const keys = [generateSecretKey(), generateSecretKey()];
const events = Array.from({ length: 300 }, (_, index) =>
  finalizeEvent({ kind: 1, created_at: index, tags: [], content: `event ${index}` }, keys[index % 2]!),
);

/** Triples of every kind: valid, another event's signature, another key, malformed. */
function triples(): Array<[string, string, string]> {
  return events.map((event, index) => {
    const other = events[(index + 1) % events.length]!;
    switch (index % 5) {
      case 0:
      case 1:
        return [event.sig, event.id, event.pubkey];
      case 2:
        return [other.sig, event.id, event.pubkey];
      case 3:
        return [event.sig, event.id, other.pubkey === event.pubkey ? 'ff'.repeat(32) : other.pubkey];
      default:
        return [event.sig.slice(0, 100), 'zz', event.pubkey];
    }
  });
}

test('two workers give the main thread’s verdicts for 300 triples sent in one turn and one by one', async () => {
  const pool = createVerifyPool(2);
  try {
    const all = triples();
    const expected = all.map(([sig, id, pubkey]) => verifySchnorr(sig, id, pubkey));
    assert.is(expected.filter(Boolean).length, 120, 'the valid two fifths, nothing else');
    const together = await Promise.all(all.map(([sig, id, pubkey]) => pool.verify(sig, id, pubkey)));
    assert.equal(together, expected);
    const oneByOne: boolean[] = [];
    for (const [sig, id, pubkey] of all.slice(0, 20)) oneByOne.push(await pool.verify(sig, id, pubkey));
    assert.equal(oneByOne, expected.slice(0, 20));
  } finally {
    await pool.close();
  }
});

test('a closed pool refuses new work', async () => {
  const pool = createVerifyPool(1);
  const event = events[0]!;
  assert.ok(await pool.verify(event.sig, event.id, event.pubkey));
  await pool.close();
  try {
    await pool.verify(event.sig, event.id, event.pubkey);
    assert.unreachable('a closed pool verified');
  } catch (error) {
    assert.match(String(error), /closed/);
  }
});

test.run();
