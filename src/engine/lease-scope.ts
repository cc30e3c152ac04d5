// The lease a replica holds while it acts on a task (src/agent/jobs/effect-runner.ts takes it on PostgreSQL):
// every command applied for that task inside the job first checks, in its own transaction, that the lease is still
// held with the same fence. A replica paused past its lease's expiry (a GC pause, a stalled disk) finds that
// another replica took the task over, and writes nothing: it never acts on a lease it lost.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { EscrowStore } from '../store/index.ts';

export interface HeldLease {
  taskId: string;
  name: string;
  holder: string;
  fence: number;
}

const scope = new AsyncLocalStorage<HeldLease>();

/** Runs `job` with `lease` as the held lease of its task (for every await inside it). */
export function runUnderLease<T>(lease: HeldLease, job: () => Promise<T>): Promise<T> {
  return scope.run(lease, job);
}

/** The lease held for this task in the current job, or null (no lease: one process, or not a job). */
export function leaseFor(taskId: string): HeldLease | null {
  const lease = scope.getStore();
  return lease !== undefined && lease.taskId === taskId ? lease : null;
}

/** Thrown inside a transaction whose task lease was taken over: the transaction rolls back, nothing is written. */
export class LeaseLost extends Error {
  constructor(readonly lease: HeldLease) {
    super(`the lease on task ${lease.taskId} (fence ${lease.fence}) was taken over by another replica`);
    this.name = 'LeaseLost';
  }
}

/** Throws LeaseLost when the current job holds this task's lease and it was taken over (before a node call). */
export async function confirmLease(store: EscrowStore, taskId: string): Promise<void> {
  const lease = leaseFor(taskId);
  if (lease === null) return;
  if (!(await store.read((reader) => reader.leases.holds(lease.name, lease.holder, lease.fence))))
    throw new LeaseLost(lease);
}
