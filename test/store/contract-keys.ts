// Contract: the fingerprints of the keys a database belongs to, and what it holds that only those keys open.
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TestDatabases } from '../fakes/store-databases.ts';
import { hex64, RELAYS, taskStory, writeStory } from '../fakes/store-fixtures.ts';
import { rejection, withinSeconds } from './contract-helpers.ts';
import { signedEvent } from './contract-transactions.ts';

export function registerKeyRecordContract(test: Test, databases: TestDatabases): void {
  test('a key fingerprint is recorded once and never overwritten; each key has its own', async () => {
    const store = await (await databases.create()).open();
    assert.is(await store.read((tx) => tx.keys.fingerprint('preimage')), null);
    assert.is(await store.transaction((tx) => tx.keys.record('preimage', hex64('first'))), hex64('first'));
    assert.is(
      await store.transaction((tx) => tx.keys.record('preimage', hex64('second'))),
      hex64('first'),
      'a second key gets the recorded fingerprint back, not its own',
    );
    assert.is(await store.read((tx) => tx.keys.fingerprint('preimage')), hex64('first'));
    assert.is(await store.read((tx) => tx.keys.fingerprint('agent')), null);
    assert.is(await store.transaction((tx) => tx.keys.record('agent', hex64('npub'))), hex64('npub'));
    assert.is(await store.read((tx) => tx.keys.fingerprint('preimage')), hex64('first'));
  });

  test('two openers recording different fingerprints at once: one is recorded, both get it back', async () => {
    const database = await databases.create();
    const [one, two] = [await database.open(), await database.open()];
    const results = await withinSeconds(
      20,
      Promise.all([
        one.transaction((tx) => tx.keys.record('preimage', hex64('one'))),
        two.transaction((tx) => tx.keys.record('preimage', hex64('two'))),
      ]),
    );
    assert.is(results[0], results[1]);
    assert.ok([hex64('one'), hex64('two')].includes(results[0]));
    const [row] = await database.query<{ n: unknown }>('SELECT COUNT(*) AS n FROM key_fingerprints');
    assert.is(Number(row?.n), 1);
  });

  test('the database refuses a fingerprint for a key it does not know', async () => {
    const store = await (await databases.create()).open();
    // The port's type allows only the known names; a caller that slips another through is refused by the CHECK.
    const error = await rejection(store.transaction((tx) => tx.keys.record('other' as 'agent', hex64('x'))));
    assert.ok(error instanceof Error);
    assert.is(await store.read((tx) => tx.keys.fingerprint('agent')), null);
  });

  test('usage counts the sealed preimages, names one to try a key on, and the pubkey that signed the outbox', async () => {
    const store = await (await databases.create()).open();
    assert.equal(await store.read((tx) => tx.keys.usage()), {
      sealedPreimages: 0,
      samplePaymentHash: null,
      signerPubkey: null,
    });
    const first = taskStory('usage-1');
    const second = taskStory('usage-2');
    await writeStory(store, first, 'funded');
    await writeStory(store, second, 'offered');
    await store.transaction((tx) => tx.outbox.enqueue(signedEvent('usage', first.id), RELAYS, first.id));
    const usage = await store.read((tx) => tx.keys.usage());
    assert.is(usage.sealedPreimages, 2);
    assert.ok(
      [first.funding.paymentHash, second.funding.paymentHash].includes(usage.samplePaymentHash ?? ''),
    );
    assert.is(usage.signerPubkey, hex64('agent'));
    // The sample is one the store can open with the key it was sealed with.
    const preimage = await store.transaction((tx) =>
      tx.fundings.revealPreimage(usage.samplePaymentHash ?? ''),
    );
    assert.is(preimage.length, 32);
  });

  test('a fingerprint is not part of the projection hash (replicas and rebuilt projections agree without it)', async () => {
    const store = await (await databases.create()).open();
    await writeStory(store, taskStory('hash'), 'funded');
    const before = await store.projectionHash();
    await store.transaction((tx) => tx.keys.record('preimage', hex64('fp')));
    assert.is(await store.projectionHash(), before);
  });
}
