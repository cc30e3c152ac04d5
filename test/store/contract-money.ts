// Contract: fundings (preimages encrypted at rest, a hash never reused) and payouts (never paid twice).
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TestDatabases } from '../fakes/store-databases.ts';
import {
  advance,
  hex64,
  OTHER_PREIMAGE_KEY,
  preimageFor,
  taskStory,
  writeStory,
} from '../fakes/store-fixtures.ts';
import {
  bytesToHex,
  everythingPrintable,
  rejection,
  storeRejection,
  withinSeconds,
} from './contract-helpers.ts';

export function registerMoneyContract(test: Test, databases: TestDatabases): void {
  test('a funding with a payment hash used before is refused with a typed error', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('duplicate-hash');
    const other = taskStory('duplicate-hash-other');
    await writeStory(store, story, 'offered');
    await writeStory(store, other, 'posted');
    // Same hash, even for another task, even in a later transaction: refused.
    await storeRejection(
      store.transaction((tx) =>
        tx.fundings.insert({ taskId: other.id, ...story.funding, amountMsat: other.amountMsat }),
      ),
      'DuplicatePaymentHash',
    );
    const kept = await store.read((tx) => tx.fundings.get(story.funding.paymentHash));
    assert.is(kept?.taskId, story.id);
  });

  test('a funding whose payment hash is not the sha256 of its preimage is refused', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('wrong-hash');
    await writeStory(store, story, 'posted');
    const error = await rejection(
      store.transaction((tx) =>
        tx.fundings.insert({
          taskId: story.id,
          paymentHash: hex64('not-the-hash'),
          preimage: story.funding.preimage,
          bolt11: story.funding.bolt11,
          amountMsat: 1n,
        }),
      ),
    );
    assert.not.ok(everythingPrintable(error).includes(bytesToHex(story.funding.preimage)));
    assert.is(await store.read((tx) => tx.fundings.get(hex64('not-the-hash'))), null);
  });

  test('the preimage round-trips through encryption and never shows in the funding record', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('round-trip');
    await writeStory(store, story, 'offered');
    const revealed = await store.transaction((tx) => tx.fundings.revealPreimage(story.funding.paymentHash));
    assert.equal(bytesToHex(revealed), bytesToHex(story.funding.preimage));
    const record = await store.read((tx) => tx.fundings.get(story.funding.paymentHash));
    assert.equal(record, {
      paymentHash: story.funding.paymentHash,
      taskId: story.id,
      state: 'open',
      amountMsat: story.amountMsat,
      receivedMsat: 0n,
      bolt11: story.funding.bolt11,
      htlcExpiryHeight: null,
      claimDeadlineHeight: null,
      createdAt: record!.createdAt,
      updatedAt: record!.updatedAt,
    });
    assert.not.ok(everythingPrintable(record).includes(bytesToHex(story.funding.preimage)));
    await storeRejection(
      store.transaction((tx) => tx.fundings.revealPreimage(hex64('unknown-hash'))),
      'NotFound',
    );
  });

  test('a store opened with another key cannot reveal the preimage, and says so with a typed error', async () => {
    const database = await databases.create();
    const story = taskStory('other-key');
    await writeStory(await database.open(), story, 'offered');
    const intruder = await database.open({ preimageKey: OTHER_PREIMAGE_KEY });
    const error = await storeRejection(
      intruder.transaction((tx) => tx.fundings.revealPreimage(story.funding.paymentHash)),
      'PreimageDecryption',
    );
    const printed = everythingPrintable(error);
    assert.not.ok(printed.includes(bytesToHex(story.funding.preimage)));
    assert.not.ok(printed.includes(bytesToHex(OTHER_PREIMAGE_KEY)));
  });

  test('the stored ciphertext contains neither the preimage nor its hex', async () => {
    const database = await databases.create();
    const store = await database.open();
    const story = taskStory('ciphertext');
    await writeStory(store, story, 'offered');
    const [row] = await database.query<{ preimage_enc: string }>(
      `SELECT preimage_enc FROM fundings WHERE payment_hash = '${story.funding.paymentHash}'`,
    );
    const stored = row!.preimage_enc;
    const preimageHex = bytesToHex(story.funding.preimage);
    assert.is(stored.length, (12 + 16 + 32) * 2, 'iv | tag | ciphertext, as hex');
    assert.not.ok(stored.includes(preimageHex));
    assert.not.ok(Buffer.from(stored, 'hex').includes(Buffer.from(story.funding.preimage)));
    assert.not.ok(Buffer.from(stored, 'utf8').includes(Buffer.from(story.funding.preimage)));
  });

  test('a ciphertext copied onto another funding does not decrypt', async () => {
    const database = await databases.create();
    const store = await database.open();
    const first = taskStory('copy-from');
    const second = taskStory('copy-to');
    await writeStory(store, first, 'offered');
    await writeStory(store, second, 'offered');
    await database.execute(
      `UPDATE fundings SET preimage_enc = (SELECT preimage_enc FROM fundings WHERE payment_hash = ` +
        `'${first.funding.paymentHash}') WHERE payment_hash = '${second.funding.paymentHash}'`,
    );
    await storeRejection(
      store.transaction((tx) => tx.fundings.revealPreimage(second.funding.paymentHash)),
      'PreimageDecryption',
    );
  });

  test('funding state changes are compare-and-set along the hold invoice life', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('funding-life');
    await writeStory(store, story, 'offered');
    const hash = story.funding.paymentHash;
    const accept = () =>
      store.transaction((tx) =>
        tx.fundings.transition(hash, ['open'], 'accepted', {
          receivedMsat: story.amountMsat,
          htlcExpiryHeight: 900_343,
          claimDeadlineHeight: 900_322,
        }),
      );
    // The node reports the HTLC twice: only the first report changes anything.
    assert.equal(
      await withinSeconds(10, Promise.all([accept(), accept()])).then((r) => r.filter(Boolean).length),
      1,
    );
    const accepted = await store.read((tx) => tx.fundings.get(hash));
    assert.is(accepted?.state, 'accepted');
    assert.is(accepted?.receivedMsat, story.amountMsat);
    assert.is(accepted?.claimDeadlineHeight, 900_322);
    assert.equal(
      (await store.read((tx) => tx.fundings.listByState(['accepted']))).map((funding) => funding.paymentHash),
      [hash],
    );
    assert.ok(
      await store.transaction((tx) => tx.fundings.transition(hash, ['open', 'accepted'], 'cancelled')),
    );
    assert.not.ok(await store.transaction((tx) => tx.fundings.transition(hash, ['accepted'], 'settled')));
    assert.is((await store.read((tx) => tx.fundings.get(hash)))?.state, 'cancelled');
    // A transition the hold invoice cannot make is a programming error, refused before touching the row.
    await rejection(store.transaction((tx) => tx.fundings.transition(hash, ['cancelled'], 'open')));
  });

  test('a second payout for the same task is refused while the first is in flight', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('in-flight');
    await writeStory(store, story, 'payoutStarted');
    await storeRejection(
      store.transaction((tx) =>
        tx.payouts.start({
          taskId: story.id,
          recipient: 'worker',
          bolt11: 'lnbcrt-another-invoice',
          paymentHash: hex64('another-payout'),
          amountMsat: story.amountMsat - story.feeMsat,
        }),
      ),
      'PayoutConflict',
    );
    const payouts = await store.read((tx) => tx.payouts.forTask(story.id));
    assert.is(payouts.length, 1);
    assert.equal(
      (await store.read((tx) => tx.payouts.listInFlight())).map((payout) => payout.paymentHash),
      [story.payout.paymentHash],
    );
  });

  test('a payout can be retried after the first failed, never after one succeeded', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('retry');
    await writeStory(store, story, 'payoutStarted');
    const start = (label: string) =>
      store.transaction((tx) =>
        tx.payouts.start({
          taskId: story.id,
          recipient: 'worker',
          bolt11: `lnbcrt-${label}`,
          paymentHash: hex64(label),
          amountMsat: story.amountMsat - story.feeMsat,
        }),
      );
    const [first] = await store.read((tx) => tx.payouts.forTask(story.id));
    assert.ok(await store.transaction((tx) => tx.payouts.finish(first!.id, 'failed')));
    const secondId = await start('second');
    assert.ok(
      await store.transaction((tx) => tx.payouts.finish(secondId, 'succeeded', { routingFeeMsat: 9n })),
    );
    await storeRejection(start('third'), 'PayoutConflict');
    const payouts = await store.read((tx) => tx.payouts.forTask(story.id));
    assert.equal(
      payouts.map(({ attempt, state, routingFeeMsat }) => ({ attempt, state, routingFeeMsat })),
      [
        { attempt: 1, state: 'failed', routingFeeMsat: 0n },
        { attempt: 2, state: 'succeeded', routingFeeMsat: 9n },
      ],
    );
  });

  test('of concurrent payout starts for the same task and recipient, exactly one is accepted', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('concurrent-payout');
    await writeStory(store, story, 'settled');
    const starts = ['one', 'two', 'three', 'four'].map((label) =>
      store
        .transaction((tx) =>
          tx.payouts.start({
            taskId: story.id,
            recipient: 'worker',
            bolt11: `lnbcrt-${label}`,
            paymentHash: hex64(`concurrent-${label}`),
            amountMsat: 5n,
          }),
        )
        .then(
          () => 'started',
          (error: unknown) => (error as { kind?: string }).kind,
        ),
    );
    const outcomes = await withinSeconds(10, Promise.all(starts));
    assert.equal(outcomes.filter((outcome) => outcome === 'started').length, 1, String(outcomes));
    assert.equal(outcomes.filter((outcome) => outcome === 'PayoutConflict').length, 3, String(outcomes));
    assert.is((await store.read((tx) => tx.payouts.forTask(story.id))).length, 1);
  });

  test('payouts to the worker and to the poster of one task are independent', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('split');
    await writeStory(store, story, 'settled');
    const ids = await store.transaction(async (tx) => [
      await tx.payouts.start({
        taskId: story.id,
        recipient: 'worker',
        bolt11: 'lnbcrt-worker-share',
        paymentHash: hex64('worker-share'),
        amountMsat: 600n,
      }),
      await tx.payouts.start({
        taskId: story.id,
        recipient: 'poster',
        bolt11: 'lnbcrt-poster-share',
        paymentHash: hex64('poster-share'),
        amountMsat: 400n,
      }),
    ]);
    assert.is(new Set(ids).size, 2);
    const payouts = await store.read((tx) => tx.payouts.forTask(story.id));
    assert.equal(
      payouts.map(({ recipient, attempt, state }) => ({ recipient, attempt, state })),
      [
        { recipient: 'poster', attempt: 1, state: 'in_flight' },
        { recipient: 'worker', attempt: 1, state: 'in_flight' },
      ],
    );
  });

  test('a payout is refused until a settled hold covers it, with what is already paid or paying', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('covered');
    const net = story.amountMsat - story.feeMsat;
    const start = (recipient: 'worker' | 'poster', amountMsat: bigint, label: string) =>
      store.transaction((tx) =>
        tx.payouts.start({
          taskId: story.id,
          recipient,
          bolt11: `lnbcrt-${label}`,
          paymentHash: hex64(label),
          amountMsat,
        }),
      );
    await writeStory(store, story, 'submitted');
    // The hold is accepted, not settled: the money may still go back to the poster.
    await storeRejection(start('worker', net, 'too-early'), 'PayoutNotCovered');
    await advance(store, story.submitted, story.settled);
    await store.transaction((tx) =>
      tx.fundings.transition(story.funding.paymentHash, ['accepted'], 'settled'),
    );
    await storeRejection(start('worker', net + 1n, 'one-too-many'), 'PayoutNotCovered');
    await storeRejection(start('worker', 0n, 'nothing'), 'PayoutNotCovered');
    // A split: both shares together may not exceed what was received, less the fee.
    await start('worker', net - 1_000n, 'worker-share');
    await storeRejection(start('poster', 1_001n, 'poster-too-much'), 'PayoutNotCovered');
    await start('poster', 1_000n, 'poster-share');
    assert.is((await store.read((tx) => tx.payouts.forTask(story.id))).length, 2);
  });

  test('finishing a payout is compare-and-set from in flight', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('finish');
    await writeStory(store, story, 'payoutStarted');
    const [payout] = await store.read((tx) => tx.payouts.forTask(story.id));
    const finish = () =>
      store.transaction((tx) => tx.payouts.finish(payout!.id, 'succeeded', { routingFeeMsat: 3n }));
    // The node's event and the reconciler report the same result: it is recorded once.
    const results = await withinSeconds(10, Promise.all([finish(), finish()]));
    assert.is(results.filter(Boolean).length, 1);
    assert.not.ok(await store.transaction((tx) => tx.payouts.finish(payout!.id, 'failed')));
    const [after] = await store.read((tx) => tx.payouts.forTask(story.id));
    assert.is(after?.state, 'succeeded');
    assert.is(after?.routingFeeMsat, 3n);
    assert.equal(await store.read((tx) => tx.payouts.listInFlight()), []);
    assert.not.ok(await store.transaction((tx) => tx.payouts.finish(987_654, 'failed')));
  });

  test('the database itself refuses a second live payout written around the store', async () => {
    const database = await databases.create();
    const store = await database.open();
    const story = taskStory('around');
    await writeStory(store, story, 'payoutStarted');
    const sneak = (attempt: number, state: string) =>
      database.execute(
        `INSERT INTO payouts (task_id, recipient, bolt11, payment_hash, amount_msat, state, routing_fee_msat, ` +
          `attempt, created_at, updated_at) VALUES ('${story.id}', 'worker', 'lnbcrt-sneak', ` +
          `'${preimageFor('sneak').paymentHash}', 1, '${state}', 0, ${attempt}, 0, 0)`,
      );
    await rejection(sneak(7, 'in_flight'));
    await rejection(sneak(8, 'succeeded'));
    await sneak(9, 'failed');
    assert.is((await store.read((tx) => tx.payouts.forTask(story.id))).length, 2);
  });
}
