// The runbook operations (docs/runbooks.md), by the name the control socket and the command line use. Each runs
// the same code inside a running agent (src/agent/control-socket.ts) and on a stopped agent's folder (the command
// line, src/cli/commands/runbook.ts). Add an operation here and it is reachable both ways.

import { holdsStuck, holdsStuckArgs } from './holds-stuck.ts';
import { pause, pauseArgs, resume, resumeArgs } from './maintenance.ts';
import type { Operation } from './ops-deps.ts';
import { outboxRepublish, outboxRepublishArgs } from './outbox-republish.ts';
import { settleStuck, settleStuckArgs } from './settle-stuck.ts';
import { syncLightning, syncLightningArgs } from './sync-lightning.ts';
import { timeoutExpired, timeoutExpiredArgs } from './timeout-expired.ts';
import { verifyDb, verifyDbArgs } from './verify-db.ts';
import { verifyEvents, verifyEventsArgs } from './verify-events.ts';

export { findStuckHolds, STUCK_HOLD_SECONDS, type StuckHold } from '../engine/stuck-holds.ts';
export type { Operation, OpsDeps, OpsReport, RelayReader, RunningParts, StoppedAgent } from './ops-deps.ts';
export { OpsInputError, runningOpsDeps } from './ops-deps.ts';

export const OPERATIONS: Record<string, Operation> = {
  'holds-stuck': holdsStuck,
  'settle-stuck': settleStuck,
  'timeout-expired': timeoutExpired,
  'sync-lightning': syncLightning,
  'outbox-republish': outboxRepublish,
  'verify-events': verifyEvents,
  pause,
  resume,
  'verify-db': verifyDb,
};

/**
 * Each operation's argument check, run by the command line before it opens anything (a bad argument is refused
 * with what to change, exit 2, nothing opened or changed); the operation checks them again when it runs.
 */
export const OPERATION_ARGS: Record<string, (args: Record<string, unknown>, now: number) => unknown> = {
  'holds-stuck': holdsStuckArgs,
  'settle-stuck': settleStuckArgs,
  'timeout-expired': timeoutExpiredArgs,
  'sync-lightning': syncLightningArgs,
  'outbox-republish': outboxRepublishArgs,
  'verify-events': verifyEventsArgs,
  pause: pauseArgs,
  resume: resumeArgs,
  'verify-db': verifyDbArgs,
};
