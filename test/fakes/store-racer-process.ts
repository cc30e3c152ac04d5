// A second process for the SQLite tests. It opens the store at argv[2], prints `ready`, waits for a line on
// stdin, then moves each task named in argv[3..] from funded to claimed, one after the other (see
// raceThroughTasks), and prints the outcomes as JSON.
// Run with `node --import tsx`.
import { once } from 'node:events';
import { openStore } from '../../src/store/open-store.ts';
import { PREIMAGE_KEY, taskStory } from './store-fixtures.ts';

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/**
 * Moves each task from funded to claimed in its own transaction, holding the write lock `holdMs` each time
 * and pausing `gapMs` between transactions. Without the pause a process that writes back to back keeps
 * winning SQLite's lock (waiters poll for it): safe, but the other process would not get a turn.
 */
export async function raceThroughTasks(
  store: Awaited<ReturnType<typeof openStore>>,
  labels: readonly string[],
  { holdMs, gapMs }: { holdMs: number; gapMs: number },
): Promise<boolean[]> {
  const outcomes: boolean[] = [];
  for (const label of labels) {
    await sleep(gapMs);
    const story = taskStory(label);
    outcomes.push(
      await store.transaction(async (tx) => {
        await tx.tasks.get(story.id);
        await sleep(holdMs);
        // Both processes believe the task is still funded: the compare-and-set decides.
        return tx.tasks.commit({
          task: story.claimed.task,
          expected: { state: story.funded.task.state, version: story.funded.task.version },
          events: story.claimed.events,
        });
      }),
    );
  }
  return outcomes;
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const [path, ...labels] = process.argv.slice(2);
  const store = await openStore({ url: `sqlite:${path}`, preimageKey: PREIMAGE_KEY });
  process.stdout.write('ready\n');
  await once(process.stdin, 'data');
  const outcomes = await raceThroughTasks(store, labels, { holdMs: 10, gapMs: 30 });
  await store.close();
  process.stdout.write(`${JSON.stringify(outcomes)}\n`);
  process.exit(0);
}
