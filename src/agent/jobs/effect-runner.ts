// Runs advanceTask for tasks that were woken: after a commit, on a node event, on every block (the guardian), and
// for every non-terminal task at start-up and every `intervalMs` (the reconciler: intents left by a crash are
// finished here, and deadlines are ticked). One task is never advanced twice at the same time in this process;
// across replicas the store's compare-and-set and the node's idempotent settle/cancel keep it safe.
//
// Woken tasks wait in three lanes (src/engine/wake-lane.ts), served in order: money moving first, then held
// tasks, then new offers, so a burst of listings never queues a settlement behind its hold invoices. A round over
// every task asks the node by listing (hold-snapshot.ts), not once per task, and advances only the tasks that the
// listing or a due deadline calls for (restsWithListing).
import { TASK_STATES, TERMINAL_STATES } from '../../domain/types.ts';
import type { AgentContext } from '../../engine/context.ts';
import { LeaseLost, runUnderLease } from '../../engine/lease-scope.ts';
import { laneOf, WAKE_LANES, type WakeLane } from '../../engine/wake-lane.ts';
import { urgentWrites } from '../../store/index.ts';
import { advanceTask } from './advance-task.ts';
import { createCustodyWatch } from './custody-watch.ts';
import { type HoldSnapshot, restsWithListing, takeHoldSnapshot } from './hold-snapshot.ts';
import { observeTaskGauges } from './task-gauges.ts';

const NON_TERMINAL = TASK_STATES.filter((state) => !TERMINAL_STATES.has(state));

/**
 * How long a task lease lasts without being renewed. The job holding it renews it every third of that, so a
 * replica that dies (SIGKILL, a lost host) frees its tasks within this many seconds; one paused longer than this
 * (a stalled disk, a GC pause) loses the lease, and its fence check makes it write and pay nothing afterwards.
 */
export const TASK_LEASE_SECONDS = 30;

async function advanceUnderLease(
  ctx: AgentContext,
  holder: string,
  taskId: string,
  snapshot: HoldSnapshot | null,
): Promise<void> {
  const name = `task:${taskId}`;
  const fence = await ctx.store.transaction((tx) => tx.leases.acquire(name, holder, TASK_LEASE_SECONDS));
  if (fence === null) {
    ctx.log.debug({ taskId }, 'another replica is acting on this task');
    return;
  }
  let renewing: Promise<unknown> = Promise.resolve();
  const heartbeat = setInterval(
    () => {
      renewing = ctx.store
        .transaction((tx) => tx.leases.renew(name, holder, fence, TASK_LEASE_SECONDS))
        .then((held) => {
          if (!held)
            ctx.log.warn(
              { taskId, fence },
              'a task lease expired while its job ran; the job stops at its next write',
            );
        })
        .catch((error) => ctx.log.warn({ taskId, err: error }, 'could not renew a task lease'));
    },
    (TASK_LEASE_SECONDS * 1000) / 3,
  );
  heartbeat.unref();
  try {
    await runUnderLease({ taskId, name, holder, fence }, () => advanceTask(ctx, taskId, snapshot));
  } finally {
    clearInterval(heartbeat);
    await renewing;
    await ctx.store
      .transaction((tx) => tx.leases.release(name, holder, fence))
      .catch((error) => ctx.log.warn({ taskId, err: error }, 'could not release a task lease; it expires'));
  }
}

/** One round: the unfinished tasks it looked at, and how many of them it woke. */
export interface RoundSummary {
  tasks: number;
  woken: number;
}

export interface EffectRunner {
  /** Looks at the task soon; `lane` says how soon (a task already waiting moves up, never down). */
  wake(taskId: string, lane?: WakeLane): void;
  /** Wakes every non-terminal task that the round's listing or a due deadline calls for (one listing of the
   * node's holds for all) without waiting for them. */
  wakeAll(): Promise<RoundSummary>;
  /** wakeAll, then waits until the queue is empty. */
  reconcileAll(): Promise<RoundSummary>;
  /** Resolves when nothing is queued or running. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export interface RunnerLeases {
  /** This replica's name in the leases table (unique per process). */
  holder: string;
}

/**
 * `leases` (replicas on one PostgreSQL database): a task is advanced only under its lease (`task:<id>`, 30 s,
 * renewed while the job runs); a task another replica holds is left to it, and a dead replica's task is taken over
 * once its lease expired (the next round wakes it).
 */
export function startEffectRunner(
  getContext: () => AgentContext,
  options: { intervalMs: number; concurrency?: number; leases?: RunnerLeases | null },
): EffectRunner {
  // Insertion-ordered sets: first woken, first served within a lane.
  const lanes = new Map<WakeLane, Set<string>>(WAKE_LANES.map((lane) => [lane, new Set<string>()]));
  const laneOfQueued = new Map<string, WakeLane>();
  /** The round's listing a task was woken with; dropped when it is woken again by anything fresher. */
  const listed = new Map<string, HoldSnapshot>();
  const running = new Map<string, Promise<void>>();
  const again = new Map<string, WakeLane>();
  const idleWaiters: Array<() => void> = [];
  const concurrency = options.concurrency ?? 4;
  let stopped = false;

  const isIdle = () => laneOfQueued.size === 0 && running.size === 0;

  function enqueue(taskId: string, lane: WakeLane) {
    const current = laneOfQueued.get(taskId);
    if (current !== undefined) {
      if (WAKE_LANES.indexOf(current) <= WAKE_LANES.indexOf(lane)) return;
      lanes.get(current)?.delete(taskId);
    }
    lanes.get(lane)?.add(taskId);
    laneOfQueued.set(taskId, lane);
  }

  function next(): { taskId: string; lane: WakeLane } | undefined {
    for (const lane of WAKE_LANES) {
      for (const taskId of lanes.get(lane) ?? []) {
        if (running.has(taskId)) continue;
        lanes.get(lane)?.delete(taskId);
        laneOfQueued.delete(taskId);
        return { taskId, lane };
      }
    }
    return undefined;
  }

  function pump() {
    while (!stopped && running.size < concurrency) {
      const picked = next();
      if (picked === undefined) break;
      const { taskId } = picked;
      const snapshot = listed.get(taskId) ?? null;
      listed.delete(taskId);
      // Money moving: its store writes go ahead of those of offers waiting for the database (write-priority.ts).
      const advance = () => runOne(taskId, snapshot);
      const job = (picked.lane === 'money' ? urgentWrites(advance) : advance()).finally(() => {
        running.delete(taskId);
        const lane = again.get(taskId);
        if (lane !== undefined) {
          again.delete(taskId);
          enqueue(taskId, lane);
        }
        pump();
      });
      running.set(taskId, job);
    }
    if (isIdle()) for (const resolve of idleWaiters.splice(0)) resolve();
  }

  async function runOne(taskId: string, snapshot: HoldSnapshot | null) {
    const ctx = getContext();
    try {
      if (!options.leases) await advanceTask(ctx, taskId, snapshot);
      else await advanceUnderLease(ctx, options.leases.holder, taskId, snapshot);
    } catch (error) {
      // Left for the next round: the intent is committed, so nothing is lost by trying again later.
      if (error instanceof LeaseLost) ctx.log.warn({ taskId }, error.message);
      else ctx.log.warn({ taskId, err: error }, 'advancing the task failed; the reconciler will retry');
    }
  }

  function wakeWith(taskId: string, lane: WakeLane, snapshot: HoldSnapshot | null) {
    if (stopped) return;
    if (snapshot === null) listed.delete(taskId);
    // A newer round's listing replaces an older one; it never replaces a wake that came after a listing.
    else if (!running.has(taskId) && (!laneOfQueued.has(taskId) || listed.has(taskId)))
      listed.set(taskId, snapshot);
    if (running.has(taskId)) {
      const waiting = again.get(taskId);
      if (waiting === undefined || WAKE_LANES.indexOf(lane) < WAKE_LANES.indexOf(waiting))
        again.set(taskId, lane);
    } else enqueue(taskId, lane);
    queueMicrotask(pump);
  }

  const custody = createCustodyWatch();

  async function wakeAll(): Promise<RoundSummary> {
    const ctx = getContext();
    const tasks = await ctx.store.read((reader) => reader.tasks.listByState(NON_TERMINAL));
    custody.observe(ctx, tasks);
    observeTaskGauges(ctx, tasks);
    const snapshot = await takeHoldSnapshot(ctx, tasks);
    const context = { now: ctx.now(), height: ctx.height(), policy: ctx.policy };
    let woken = 0;
    for (const task of tasks) {
      if (snapshot !== null && restsWithListing(task, snapshot, context)) continue;
      wakeWith(task.id, laneOf(task.state), snapshot);
      woken++;
    }
    ctx.log.debug({ tasks: tasks.length, woken }, 'reconcile round');
    return { tasks: tasks.length, woken };
  }

  function idle(): Promise<void> {
    if (isIdle()) return Promise.resolve();
    return new Promise((resolve) => idleWaiters.push(resolve));
  }

  const timer = setInterval(() => {
    wakeAll().catch((error) => getContext().log.warn({ err: error }, 'reconcile round failed'));
  }, options.intervalMs);
  timer.unref();

  return {
    wake: (taskId, lane = 'task') => wakeWith(taskId, lane, null),
    wakeAll,
    async reconcileAll() {
      const round = await wakeAll();
      await idle();
      return round;
    },
    idle,
    async stop() {
      stopped = true;
      clearInterval(timer);
      for (const lane of lanes.values()) lane.clear();
      laneOfQueued.clear();
      listed.clear();
      await Promise.allSettled([...running.values()]);
    },
  };
}
