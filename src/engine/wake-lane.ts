// How soon the effect runner should look at a task, from its committed state. Money already moving (a hold being
// settled or cancelled, a payout) goes first, then tasks whose hold the node may have accepted or whose deadlines
// tick, and new offers (a hold invoice to create) last: a burst of new listings never queues a settlement behind it.
import type { TaskState } from '../domain/types.ts';

export type WakeLane = 'money' | 'task' | 'offer';

/** The lanes in the order the runner serves them. */
export const WAKE_LANES: readonly WakeLane[] = ['money', 'task', 'offer'];

const MONEY: ReadonlySet<TaskState> = new Set([
  'settling',
  'refunding',
  'settled',
  'custody',
  'payout_pending',
]);

export function laneOf(state: TaskState): WakeLane {
  if (MONEY.has(state)) return 'money';
  return state === 'posted' ? 'offer' : 'task';
}
