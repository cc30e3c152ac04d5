// Contract: chain heads. A task's published head carries its chain's length (one more with every setPublishedHead);
// the heads no heads event has named yet are listed with it, and recording a heads event names them. Heads events
// are numbered one after the other: a second writer that takes the same number writes nothing.
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TestDatabases } from '../fakes/store-databases.ts';
import { taskStory, writeStory } from '../fakes/store-fixtures.ts';
import { rejection, withinSeconds } from './contract-helpers.ts';

const id = (char: string) => char.repeat(64);

export function registerHeadsContract(test: Test, databases: TestDatabases): void {
  test('heads grow in length, are listed until a heads event names them, and heads events are numbered', async () => {
    const store = await (await databases.create()).open();
    const first = taskStory('heads-first');
    const second = taskStory('heads-second');
    await writeStory(store, first, 'posted');
    await writeStory(store, second, 'posted');
    assert.is(await store.read((tx) => tx.heads.latest()), null);
    assert.equal(await store.read((tx) => tx.heads.pending()), { tasks: 0, transitions: 0 });

    await store.transaction(async (tx) => {
      for (const event of ['1', '2', '3']) await tx.tasks.setPublishedHead(first.id, id(event));
      await tx.tasks.setPublishedHead(second.id, id('4'));
    });
    assert.equal(await store.read((tx) => tx.heads.pending()), { tasks: 2, transitions: 4 });
    const unannounced = await store.read((tx) => tx.heads.unannounced(10));
    assert.equal(
      unannounced.map((head) => [head.taskId, head.eventId, head.length, head.announcedLength]),
      [
        [first.id, id('3'), 3, 0],
        [second.id, id('4'), 1, 0],
      ].sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)),
      'by task id',
    );
    assert.is((await store.read((tx) => tx.heads.unannounced(1))).length, 1, 'the limit holds');

    const heads = [
      { taskId: first.id, eventId: id('3'), length: 3 },
      { taskId: second.id, eventId: id('4'), length: 1 },
    ];
    assert.ok(
      await store.transaction((tx) =>
        tx.heads.record({ seq: 1, eventId: id('a'), count: 4, createdAt: 1000, heads }),
      ),
    );
    assert.equal(await store.read((tx) => tx.heads.latest()), {
      seq: 1,
      eventId: id('a'),
      count: 4,
      createdAt: 1000,
    });
    assert.equal(await store.read((tx) => tx.heads.pending()), { tasks: 0, transitions: 0 });
    assert.equal(await store.read((tx) => tx.heads.unannounced(10)), []);

    // One more transition: that task only, by one.
    await store.transaction((tx) => tx.tasks.setPublishedHead(first.id, id('5')));
    assert.equal(await store.read((tx) => tx.heads.pending()), { tasks: 1, transitions: 1 });
    assert.equal(await store.read((tx) => tx.heads.unannounced(10)), [
      { taskId: first.id, eventId: id('5'), length: 4, announcedLength: 3 },
    ]);
    assert.is(await store.read((tx) => tx.tasks.publishedHead(first.id)), id('5'));

    // The same number again writes nothing; a heads event rolled back with its transaction leaves nothing.
    const again = await store.transaction((tx) =>
      tx.heads.record({
        seq: 1,
        eventId: id('b'),
        count: 5,
        createdAt: 1001,
        heads: [{ taskId: first.id, eventId: id('5'), length: 4 }],
      }),
    );
    assert.is(again, false);
    await rejection(
      store.transaction(async (tx) => {
        await tx.heads.record({
          seq: 2,
          eventId: id('b'),
          count: 5,
          createdAt: 1001,
          heads: [{ taskId: first.id, eventId: id('5'), length: 4 }],
        });
        throw new Error('abort');
      }),
    );
    assert.is((await store.read((tx) => tx.heads.latest()))?.seq, 1);
    assert.equal(await store.read((tx) => tx.heads.pending()), { tasks: 1, transitions: 1 });
    assert.ok(
      await store.transaction((tx) =>
        tx.heads.record({
          seq: 2,
          eventId: id('b'),
          count: 5,
          createdAt: 1001,
          heads: [{ taskId: first.id, eventId: id('5'), length: 4 }],
        }),
      ),
    );
    assert.equal(await store.read((tx) => tx.heads.latest()), {
      seq: 2,
      eventId: id('b'),
      count: 5,
      createdAt: 1001,
    });
    assert.equal(await store.read((tx) => tx.heads.pending()), { tasks: 0, transitions: 0 });
  });

  test('a head recorded before lengths were kept is listed with no length until a heads event gives it one', async () => {
    const database = await databases.create();
    const store = await database.open();
    const story = taskStory('heads-legacy');
    await writeStory(store, story, 'posted');
    await store.transaction(async (tx) => {
      await tx.tasks.setPublishedHead(story.id, id('1'));
      await tx.tasks.setPublishedHead(story.id, id('2'));
    });
    // As the migration leaves a row written before it: no length.
    await database.execute('UPDATE published_heads SET length = NULL');
    await store.transaction((tx) => tx.tasks.setPublishedHead(story.id, id('3')));
    assert.equal(await store.read((tx) => tx.heads.unannounced(10)), [
      { taskId: story.id, eventId: id('3'), length: null, announcedLength: 0 },
    ]);
    assert.equal(await store.read((tx) => tx.heads.pending()), { tasks: 1, transitions: 0 });
    // A heads event that walked an older head gives no length (the head moved on), only what it announced.
    await store.transaction((tx) =>
      tx.heads.record({
        seq: 1,
        eventId: id('a'),
        count: 2,
        createdAt: 1000,
        heads: [{ taskId: story.id, eventId: id('2'), length: 2 }],
      }),
    );
    assert.equal(await store.read((tx) => tx.heads.unannounced(10)), [
      { taskId: story.id, eventId: id('3'), length: null, announcedLength: 2 },
    ]);
    await store.transaction((tx) =>
      tx.heads.record({
        seq: 2,
        eventId: id('b'),
        count: 3,
        createdAt: 1001,
        heads: [{ taskId: story.id, eventId: id('3'), length: 3 }],
      }),
    );
    assert.equal(await store.read((tx) => tx.heads.unannounced(10)), []);
    await store.transaction((tx) => tx.tasks.setPublishedHead(story.id, id('4')));
    assert.equal(await store.read((tx) => tx.heads.unannounced(10)), [
      { taskId: story.id, eventId: id('4'), length: 4, announcedLength: 3 },
    ]);
  });

  test('two writers recording the same next heads event: one wins, the other writes nothing', async () => {
    const database = await databases.create();
    const [one, two] = [await database.open(), await database.open()];
    const story = taskStory('heads-race');
    await writeStory(one, story, 'posted');
    await one.transaction((tx) => tx.tasks.setPublishedHead(story.id, id('1')));
    // Both read the latest heads event (none), then both record number 1 at once.
    const latest = await one.read((tx) => tx.heads.latest());
    const race = (store: typeof one, eventId: string) =>
      store.transaction((tx) =>
        tx.heads.record({
          seq: (latest?.seq ?? 0) + 1,
          eventId,
          count: 1,
          createdAt: 1000,
          heads: [{ taskId: story.id, eventId: id('1'), length: 1 }],
        }),
      );
    const results = await withinSeconds(20, Promise.allSettled([race(one, id('a')), race(two, id('b'))]));
    const won = results.filter((result) => result.status === 'fulfilled' && result.value === true);
    assert.is(won.length, 1, `one winner: ${JSON.stringify(results.map((result) => result.status))}`);
    assert.is((await one.read((tx) => tx.heads.latest()))?.seq, 1);
    assert.equal(await one.read((tx) => tx.heads.pending()), { tasks: 0, transitions: 0 });
  });
}
