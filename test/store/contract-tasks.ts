// Contract: tasks, compare-and-set commits and their audit rows, under concurrency.
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { InternalError } from '../../src/domain/errors.ts';
import { TERMINAL_STATES } from '../../src/domain/types.ts';
import { FINISHED_TASK_STATES } from '../../src/store/schema/values.ts';
import type { TestDatabases } from '../fakes/store-databases.ts';
import { advance, taskStory, testClock, writeStory } from '../fakes/store-fixtures.ts';
import { assertOneWinner, barrier, rejection, sleep, withinSeconds } from './contract-helpers.ts';

export function registerTaskContract(test: Test, databases: TestDatabases): void {
  test('a created task reads back equal, bigints included, and is listed by its state', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('read-back', { amountMsat: 2_100_000_000_000_000_000n });
    assert.ok(await store.transaction((tx) => tx.tasks.create(story.posted.task, story.posted.events)));
    const read = await store.read((tx) => tx.tasks.get(story.id));
    assert.equal(read, story.posted.task);
    assert.is(typeof read?.amountMsat, 'bigint');
    assert.is(read?.amountMsat, 2_100_000_000_000_000_000n, 'money beyond 2^53 is exact');
    const posted = await store.read((tx) => tx.tasks.listByState(['posted', 'funded']));
    assert.equal(
      posted.map((task) => task.id),
      [story.id],
    );
    assert.equal(await store.read((tx) => tx.tasks.listByState(['paid'])), []);
    assert.is(await store.read((tx) => tx.tasks.get(taskStory('nobody').id)), null);
  });

  test("a task's published head is null until set, then the latest event id set, and rolls back with its transaction", async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('published-head');
    await store.transaction((tx) => tx.tasks.create(story.posted.task, story.posted.events));
    assert.is(await store.read((tx) => tx.tasks.publishedHead(story.id)), null);
    await store.transaction((tx) => tx.tasks.setPublishedHead(story.id, 'a'.repeat(64)));
    await store.transaction((tx) => tx.tasks.setPublishedHead(story.id, 'b'.repeat(64)));
    assert.is(await store.read((tx) => tx.tasks.publishedHead(story.id)), 'b'.repeat(64));
    await rejection(
      store.transaction(async (tx) => {
        await tx.tasks.setPublishedHead(story.id, 'c'.repeat(64));
        throw new Error('abort');
      }),
    );
    assert.is(await store.read((tx) => tx.tasks.publishedHead(story.id)), 'b'.repeat(64));
  });

  test('creating a task whose id exists returns false and writes nothing', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('twice');
    await store.transaction((tx) => tx.tasks.create(story.posted.task, story.posted.events));
    const again = await store.transaction((tx) =>
      tx.tasks.create(story.offered.task, [...story.posted.events, ...story.offered.events]),
    );
    assert.is(again, false);
    assert.equal(await store.read((tx) => tx.tasks.get(story.id)), story.posted.task);
    assert.is((await store.read((tx) => tx.tasks.history(story.id))).length, 1);
  });

  test('a commit with the expected state and version replaces the task and extends its audit chain', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('commit');
    await writeStory(store, story, 'submitted');
    // Two events in one commit: settle_requested then hold_settled.
    assert.ok(await advance(store, story.submitted, story.settled));
    assert.equal(await store.read((tx) => tx.tasks.get(story.id)), story.settled.task);
    const history = await store.read((tx) => tx.tasks.history(story.id));
    assert.equal(
      history.map((entry) => entry.seq),
      [1, 2, 3, 4, 5, 6, 7],
    );
    assert.equal(history.at(-1)?.event, story.settled.events[1]);
    assert.equal(history[2]?.event, story.funded.events[0], 'events decode with their bigints');
    assert.is(history[1]?.prevHash, history[0]?.hash);
    assert.is(history[0]?.prevHash, '0'.repeat(64));
  });

  test('a commit with a stale version returns false and writes nothing', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('stale');
    await writeStory(store, story, 'claimed');
    // The caller still believes the task is funded (version 3).
    assert.is(await advance(store, story.funded, story.claimed), false);
    const stale = { ...story.submitted, task: { ...story.submitted.task, version: 4 } };
    assert.is(await advance(store, story.funded, stale), false);
    assert.equal(await store.read((tx) => tx.tasks.get(story.id)), story.claimed.task);
    assert.is((await store.read((tx) => tx.tasks.history(story.id))).length, 4);
    assert.ok((await store.verifyAudit()).ok);
  });

  test('a commit whose version does not count its events is refused as a programming error', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('miscount');
    await writeStory(store, story, 'posted');
    const wrong = { ...story.offered, task: { ...story.offered.task, version: 5 } };
    const error = await rejection(advance(store, story.posted, wrong));
    assert.instance(error, InternalError);
    assert.is((error as InternalError).code, 'Invariant');
    const empty = await rejection(advance(store, story.posted, { task: story.posted.task, events: [] }));
    assert.instance(empty, InternalError);
    assert.equal(await store.read((tx) => tx.tasks.get(story.id)), story.posted.task);
  });

  test('of several concurrent commits with the same expected version, exactly one wins', async () => {
    const store = await (await databases.create()).open();
    const story = taskStory('race');
    await writeStory(store, story, 'funded');
    const racers = Array.from({ length: 6 }, () => advance(store, story.funded, story.claimed));
    await assertOneWinner(store, story.id, await withinSeconds(10, Promise.all(racers)), 4);
  });

  test('of two store instances committing on the same database at once, exactly one wins', async () => {
    const database = await databases.create();
    const first = await database.open();
    const second = await database.open();
    const story = taskStory('two-instances');
    await writeStory(first, story, 'funded');
    for (let round = 0; round < 5; round += 1) {
      const racers = [first, second, first, second].map((store) =>
        advance(store, story.funded, story.claimed),
      );
      const results = await withinSeconds(20, Promise.all(racers));
      assert.is(results.filter(Boolean).length, round === 0 ? 1 : 0);
    }
    assert.equal(await second.read((tx) => tx.tasks.get(story.id)), story.claimed.task);
    assert.is((await second.read((tx) => tx.tasks.history(story.id))).length, 4);
    assert.ok((await second.verifyAudit()).ok);
  });

  test('a task read with getForUpdate cannot change until the reading transaction ends', async () => {
    const database = await databases.create();
    const store = await database.open();
    const other = await database.open();
    const story = taskStory('locked');
    await writeStory(store, story, 'funded');
    const lockTaken = barrier(2);
    const holder = store.transaction(async (tx) => {
      const task = await tx.tasks.getForUpdate(story.id);
      void lockTaken.arrive();
      await sleep(150);
      return tx.tasks.commit({
        task: story.claimed.task,
        expected: { state: task!.state, version: task!.version },
        events: story.claimed.events,
      });
    });
    await lockTaken.arrive();
    // Another instance (another process or replica) wants the same task meanwhile: it sees it only after.
    const seenByOther = other.transaction(async (tx) => tx.tasks.getForUpdate(story.id));
    const [held, seen] = await withinSeconds(10, Promise.all([holder, seenByOther]));
    assert.ok(held);
    assert.is(seen?.version, story.claimed.task.version);
  });

  test('a history written with another clock has other store timestamps but the same tasks', async () => {
    const clock = testClock(1_000);
    const store = await (await databases.create()).open({ clock: clock.now });
    const story = taskStory('clock');
    await writeStory(store, story, 'funded', clock);
    const funding = await store.read((tx) => tx.fundings.get(story.funding.paymentHash));
    assert.is(funding?.createdAt, 1_001, 'the funding was inserted by the offered step, one tick in');
    assert.is(funding?.updatedAt, 1_002);
    assert.equal(await store.read((tx) => tx.tasks.get(story.id)), story.funded.task);
  });
  test('a listing address (poster, d) belongs to at most one unfinished task, and is free again once it is finished', async () => {
    const store = await (await databases.create()).open();
    const first = taskStory('listing-first');
    const poster = first.posted.task.poster;
    await writeStory(store, first, 'payoutStarted');
    await store.transaction((tx) => tx.tasks.setListingD(first.id, 'job-1'));
    assert.is(await store.read((tx) => tx.tasks.openAtListingAddress(poster, 'job-1')), first.id);
    assert.is(await store.read((tx) => tx.tasks.openAtListingAddress(poster, 'job-2')), null);
    assert.is(await store.read((tx) => tx.tasks.openAtListingAddress('f'.repeat(64), 'job-1')), null);

    // A second task of the same poster at the same d: the database itself refuses it, and nothing is written.
    const second = taskStory('listing-second');
    const secondTask = { ...second.posted.task, poster };
    const secondEvents = second.posted.events.map((event) => ({ ...event, poster }));
    await rejection(
      store.transaction(async (tx) => {
        await tx.tasks.create(secondTask, secondEvents);
        await tx.tasks.setListingD(second.id, 'job-1');
      }),
    );
    assert.is(await store.read((tx) => tx.tasks.get(second.id)), null);

    // Once the first task is finished (paid), the address is free for a new task.
    assert.ok(await advance(store, first.payoutStarted, first.paid));
    assert.is((await store.read((tx) => tx.tasks.get(first.id)))?.state, 'paid');
    assert.is(await store.read((tx) => tx.tasks.openAtListingAddress(poster, 'job-1')), null);
    await store.transaction(async (tx) => {
      await tx.tasks.create(secondTask, secondEvents);
      await tx.tasks.setListingD(second.id, 'job-1');
    });
    assert.is(await store.read((tx) => tx.tasks.openAtListingAddress(poster, 'job-1')), second.id);
  });

  test("the store's finished task states are the domain's terminal states", () => {
    assert.equal([...FINISHED_TASK_STATES].sort(), [...TERMINAL_STATES].sort());
  });
}
