// Contract: work leases between replicas. One holder at a time until the lease expires or is released; taking
// it over (or renewing it) gives a new fence; a holder whose lease was taken over no longer holds it; many
// concurrent takers (separate connections on PostgreSQL) get it once.
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TestDatabases } from '../fakes/store-databases.ts';
import { T0 } from '../fakes/store-fixtures.ts';

export function registerLeaseContract(test: Test, databases: TestDatabases): void {
  test('a lease has one holder until it expires or is released; each new holding has a new fence', async () => {
    let now = T0;
    const store = await (await databases.create()).open({ clock: () => now });
    const take = (holder: string) => store.transaction((tx) => tx.leases.acquire('task:a', holder, 60));
    const holds = (holder: string, fence: number) =>
      store.read((tx) => tx.leases.holds('task:a', holder, fence));

    const first = await take('replica-1');
    assert.is(first, 1);
    assert.is(await take('replica-2'), null, 'held: the other replica does not get it');
    assert.ok(await holds('replica-1', 1));
    assert.not.ok(await holds('replica-2', 1));
    assert.is(await take('replica-1'), 2, 'the holder renews it with a new fence');
    assert.not.ok(await holds('replica-1', 1), 'the old fence is stale');

    now = T0 + 60;
    assert.not.ok(await holds('replica-1', 2), 'expired');
    assert.is(await take('replica-2'), 3, 'taken over after it expired');
    assert.not.ok(await holds('replica-1', 2), 'the old holder lost it');
    assert.not.ok(
      await store.transaction((tx) => tx.leases.release('task:a', 'replica-1', 2)),
      'a lost lease cannot be released by its old holder',
    );
    assert.ok(await holds('replica-2', 3), 'and it is still the new holder’s');
    assert.ok(await store.transaction((tx) => tx.leases.release('task:a', 'replica-2', 3)));
    assert.not.ok(await holds('replica-2', 3), 'released');
    assert.is(await take('replica-1'), 4, 'free again at once');
    assert.is(
      await store.transaction((tx) => tx.leases.acquire('task:b', 'replica-2', 60)),
      1,
      'leases are per name',
    );
  });

  test('renewing: only the holder with its fence, only before the lease expired', async () => {
    let now = T0;
    const store = await (await databases.create()).open({ clock: () => now });
    const fence = await store.transaction((tx) => tx.leases.acquire('task:r', 'replica-1', 30));
    assert.is(fence, 1);
    const renew = (holder: string, withFence: number) =>
      store.transaction((tx) => tx.leases.renew('task:r', holder, withFence, 30));
    now = T0 + 20;
    assert.ok(await renew('replica-1', 1), 'renewed before it expired');
    assert.not.ok(await renew('replica-2', 1), 'another holder cannot renew it');
    assert.not.ok(await renew('replica-1', 7), 'a stale fence cannot renew it');
    now = T0 + 45;
    assert.ok(
      await store.read((tx) => tx.leases.holds('task:r', 'replica-1', 1)),
      'still held 25 s after the renewal (it would have expired at T0 + 30 without it)',
    );
    assert.is(
      await store.transaction((tx) => tx.leases.acquire('task:r', 'replica-2', 30)),
      null,
      'so the other replica does not get it',
    );
    now = T0 + 50;
    assert.not.ok(await renew('replica-1', 1), 'expired: too late to renew');
    assert.is(await store.transaction((tx) => tx.leases.acquire('task:r', 'replica-2', 30)), 2);
  });

  test('twenty takers at once: exactly one gets the lease', async () => {
    const store = await (await databases.create()).open({ clock: () => T0 });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        store.transaction((tx) => tx.leases.acquire('task:race', `replica-${index}`, 60)),
      ),
    );
    assert.is(results.filter((fence) => fence !== null).length, 1, `one winner: ${results.join(',')}`);
  });
}
