// Runs advanceTask for tasks that were woken: after a commit, on a node event, and for every non-terminal task
// at start-up and every `intervalMs` (the reconciler: intents left by a crash are finished here, and deadlines
// are ticked). One task is never advanced twice at the same time in this process; across replicas the store's
// compare-and-set and the node's idempotent settle/cancel keep it safe.
import { TASK_STATES, TERMINAL_STATES } from '../../domain/types.ts';
import type { AgentContext } from '../../engine/context.ts';
import { advanceTask } from './advance-task.ts';
import { createCustodyWatch } from './custody-watch.ts';
import { observeTaskGauges } from './task-gauges.ts';

const NON_TERMINAL = TASK_STATES.filter((state) => !TERMINAL_STATES.has(state));

export interface EffectRunner {
  wake(taskId: string): void;
  /** Wakes every non-terminal task and waits until the queue is empty. */
  reconcileAll(): Promise<void>;
  /** Resolves when nothing is queued or running. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export function startEffectRunner(
  getContext: () => AgentContext,
  options: { intervalMs: number; concurrency?: number },
): EffectRunner {
  const queued = new Set<string>();
  const running = new Map<string, Promise<void>>();
  const again = new Set<string>();
  const idleWaiters: Array<() => void> = [];
  const concurrency = options.concurrency ?? 4;
  let stopped = false;

  function pump() {
    while (!stopped && running.size < concurrency) {
      const next = [...queued].find((taskId) => !running.has(taskId));
      if (next === undefined) break;
      queued.delete(next);
      const job = runOne(next).finally(() => {
        running.delete(next);
        if (again.delete(next)) queued.add(next);
        pump();
        if (queued.size === 0 && running.size === 0) for (const resolve of idleWaiters.splice(0)) resolve();
      });
      running.set(next, job);
    }
    if (queued.size === 0 && running.size === 0) for (const resolve of idleWaiters.splice(0)) resolve();
  }

  async function runOne(taskId: string) {
    const ctx = getContext();
    try {
      await advanceTask(ctx, taskId);
    } catch (error) {
      // Left for the next round: the intent is committed, so nothing is lost by trying again later.
      ctx.log.warn({ taskId, err: error }, 'advancing the task failed; the reconciler will retry');
    }
  }

  function wake(taskId: string) {
    if (stopped) return;
    if (running.has(taskId)) again.add(taskId);
    else queued.add(taskId);
    queueMicrotask(pump);
  }

  const custody = createCustodyWatch();

  async function reconcileAll() {
    const ctx = getContext();
    const tasks = await ctx.store.read((reader) => reader.tasks.listByState(NON_TERMINAL));
    custody.observe(ctx, tasks);
    observeTaskGauges(ctx, tasks);
    for (const task of tasks) wake(task.id);
    await idle();
  }

  function idle(): Promise<void> {
    if (queued.size === 0 && running.size === 0) return Promise.resolve();
    return new Promise((resolve) => idleWaiters.push(resolve));
  }

  const timer = setInterval(() => {
    reconcileAll().catch((error) => getContext().log.warn({ err: error }, 'reconcile round failed'));
  }, options.intervalMs);
  timer.unref();

  return {
    wake,
    reconcileAll,
    idle,
    async stop() {
      stopped = true;
      clearInterval(timer);
      queued.clear();
      await Promise.allSettled([...running.values()]);
    },
  };
}
