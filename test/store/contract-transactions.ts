// Contract: what a transaction guarantees as a whole, and the migrations run at open.
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { InternalError } from '../../src/domain/errors.ts';
import type { StoreTx } from '../../src/store/port.ts';
import type { TestDatabases } from '../fakes/store-databases.ts';
import { hex64, PREIMAGE_KEY, RELAYS, taskStory, writeStory } from '../fakes/store-fixtures.ts';
import { bytesToHex, everythingPrintable, rejection, storeRejection } from './contract-helpers.ts';

const MIGRATIONS_TABLE = { sqlite: '__drizzle_migrations', postgres: 'drizzle.__drizzle_migrations' };

export function registerTransactionContract(test: Test, databases: TestDatabases): void {
  test('opening a database twice applies the migrations once, and the store still works', async () => {
    const database = await databases.create();
    const first = await database.open();
    const count = async () =>
      (
        await database.query<{ count: unknown }>(
          `SELECT COUNT(*) AS count FROM ${MIGRATIONS_TABLE[database.dialect]}`,
        )
      ).map((row) => Number(row.count))[0];
    const applied = await count();
    assert.ok(applied !== undefined && applied >= 1);
    await first.close();
    const again = await database.open();
    const third = await database.open();
    assert.is(await count(), applied);
    const story = taskStory('after-reopen');
    await writeStory(again, story, 'funded');
    assert.equal(await third.read((tx) => tx.tasks.get(story.id)), story.funded.task);
  });

  test('a store refuses a preimage key that is not 32 bytes', async () => {
    const database = await databases.create();
    const error = await rejection(database.open({ preimageKey: PREIMAGE_KEY.subarray(0, 16) }));
    assert.instance(error, InternalError);
    assert.is((error as InternalError).code, 'Config');
  });

  test('a throw inside a transaction rolls back everything it wrote, in every table', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('rolled-back');
    const boom = new Error('the handler failed half-way');
    const error = await rejection(
      store.transaction(async (tx) => {
        await tx.tasks.create(story.posted.task, story.posted.events);
        await tx.tasks.commit({
          task: story.offered.task,
          expected: { state: 'posted', version: 1 },
          events: story.offered.events,
        });
        await tx.fundings.insert({ taskId: story.id, ...story.funding, amountMsat: story.amountMsat });
        await tx.fundings.transition(story.funding.paymentHash, ['open'], 'accepted', {
          receivedMsat: story.amountMsat,
        });
        await tx.fundings.transition(story.funding.paymentHash, ['accepted'], 'settled');
        await tx.payouts.start({
          taskId: story.id,
          recipient: 'worker',
          bolt11: story.payout.bolt11,
          paymentHash: story.payout.paymentHash,
          amountMsat: 1n,
        });
        await tx.inbound.record({
          id: hex64('rolled-back-event'),
          pubkey: story.poster,
          kind: 1985,
          createdAt: 1,
          raw: '{}',
          status: 'handled',
          reason: null,
        });
        await tx.outbox.enqueue(signedEvent('rolled-back-out'), RELAYS, story.id);
        await tx.cursors.set(RELAYS[0]!, 123);
        throw boom;
      }),
    );
    assert.is(error, boom, 'the caller gets its own error back');
    await store.read(async (tx) => {
      assert.is(await tx.tasks.get(story.id), null);
      assert.equal(await tx.tasks.history(story.id), []);
      assert.is(await tx.fundings.get(story.funding.paymentHash), null);
      assert.equal(await tx.payouts.forTask(story.id), []);
      assert.is(await tx.inbound.has(hex64('rolled-back-event')), false);
      assert.is(await tx.outbox.pendingCount(), 0);
      assert.is(await tx.cursors.get(RELAYS[0]!), null);
    });
  });

  test('a transaction that swallowed a database error is rolled back, not committed', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('swallowed');
    const error = await rejection(
      store.transaction(async (tx) => {
        await tx.tasks.create(story.posted.task, story.posted.events);
        // A funding for a task that does not exist: the foreign key refuses it, and the handler ignores that.
        await tx.fundings
          .insert({ taskId: hex64('no-such-task'), ...story.funding, amountMsat: 1n })
          .catch(() => undefined);
        return 'pretend all went well';
      }),
    );
    assert.ok(error instanceof Error);
    assert.is(await store.read((tx) => tx.tasks.get(story.id)), null);
  });

  test('a transaction started inside another one is refused instead of deadlocking', async () => {
    const store = await (await databases.create()).open();
    const error = await rejection(store.transaction(() => store.transaction(async () => 1)));
    assert.instance(error, InternalError);
    assert.is((error as InternalError).code, 'Invariant');
    // Transactions started from callbacks after the first one ended are independent, not nested.
    assert.is(await store.transaction(async () => 2), 2);
  });

  test('a clock that gives fractions of a second is refused before anything is written', async () => {
    const store = await (await databases.create()).open({ clock: () => 1_800_000_000.5 });
    const story = taskStory('fractional-clock');
    const error = await rejection(
      store.transaction((tx) => tx.tasks.create(story.posted.task, story.posted.events)),
    );
    assert.instance(error, InternalError);
    assert.is(await store.read((tx) => tx.tasks.get(story.id)), null);
  });

  test('a transaction object used after its transaction ended refuses to run', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('escaped');
    let escaped: StoreTx | undefined;
    await store.transaction(async (tx) => {
      escaped = tx;
    });
    const error = await rejection(escaped!.tasks.create(story.posted.task, story.posted.events));
    assert.instance(error, InternalError);
    assert.is((error as InternalError).code, 'Invariant');
    assert.is(await store.read((tx) => tx.tasks.get(story.id)), null);
  });

  test('a store refuses to work after close', async () => {
    const store = await (await databases.create()).open();
    await store.close();
    const error = await rejection(store.read(async () => 1));
    assert.instance(error, InternalError);
    await store.close();
  });

  test('a read transaction cannot write', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('read-only');
    // The reader's type has no create; a cast gets past the compiler, not past the database.
    await rejection(
      store.read((tx) => (tx as unknown as StoreTx).tasks.create(story.posted.task, story.posted.events)),
    );
    assert.is(await store.read((tx) => tx.tasks.get(story.id)), null);
  });

  test('a funding for an unknown task is refused by the foreign key', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('orphan');
    const error = await rejection(
      store.transaction((tx) => tx.fundings.insert({ taskId: story.id, ...story.funding, amountMsat: 1n })),
    );
    // The driver's error quotes the statement's parameters: the ciphertext, never the preimage.
    assert.not.ok(everythingPrintable(error).includes(bytesToHex(story.funding.preimage)));
    assert.is(await store.read((tx) => tx.fundings.get(story.funding.paymentHash)), null);
  });

  test('a second funding with a used payment hash leaves the transaction usable', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('usable');
    await writeStory(store, story, 'offered');
    const committed = await store.transaction(async (tx) => {
      await storeRejection(
        tx.fundings.insert({ taskId: story.id, ...story.funding, amountMsat: story.amountMsat }),
        'DuplicatePaymentHash',
      );
      return tx.tasks.commit({
        task: story.funded.task,
        expected: { state: 'offered', version: 2 },
        events: story.funded.events,
      });
    });
    assert.ok(committed);
    assert.is((await store.read((tx) => tx.tasks.get(story.id)))?.state, 'funded');
  });
}

export function signedEvent(label: string, taskId: string | null = null) {
  return {
    id: hex64(`event:${label}`),
    pubkey: hex64('agent'),
    created_at: 1_800_000_000,
    kind: 1985,
    tags: taskId ? [['e', taskId]] : [],
    content: label,
    sig: hex64(`sig:${label}`) + hex64(`sig2:${label}`),
  };
}
