// `pause [--reason TEXT] [--execute]` and `resume [--execute]`: maintenance mode. While paused the agent takes no new
// task (a new listing is answered NotAcceptingTasks, its announcement says `accepting_tasks: false`, /health says
// 503 naming `intake`), and serves every task already posted: funded holds are settled, refunded and paid out as
// usual. The mode lives in the store (agent_settings), so it outlives a restart and every replica follows it.
// Running agent: it changes the mode and queues its new announcement at once. Stopped agent's folder: the mode is
// written; the agent announces it when it starts. A dry run says what would change; a second --execute changes
// nothing.
import { readMaintenance, writeMaintenance } from '../agent/announce.ts';
import { flagArg, isoTime, onlyArgs, stringArg } from './format.ts';
import { type OpsDeps, OpsInputError, type OpsReport } from './ops-deps.ts';

const REASON_MAX = 200;

export function pauseArgs(args: Record<string, unknown>): { execute: boolean; reason: string | null } {
  onlyArgs('pause', args, ['execute', 'reason']);
  const reason = stringArg('pause', args, 'reason');
  if (reason !== null && (reason.trim() === '' || reason.length > REASON_MAX)) {
    throw new OpsInputError(
      `pause: --reason must be 1 to ${REASON_MAX} characters (it is shown in /health and here, never published)`,
    );
  }
  return { execute: flagArg('pause', args, 'execute'), reason: reason?.trim() ?? null };
}

export function resumeArgs(args: Record<string, unknown>): { execute: boolean } {
  onlyArgs('resume', args, ['execute']);
  return { execute: flagArg('resume', args, 'execute') };
}

export const pause = (deps: OpsDeps, args: Record<string, unknown>) => {
  const { execute, reason } = pauseArgs(args);
  return setMode(deps, 'pause', true, reason, execute);
};

export const resume = (deps: OpsDeps, args: Record<string, unknown>) =>
  setMode(deps, 'resume', false, null, resumeArgs(args).execute);

async function setMode(
  deps: OpsDeps,
  command: 'pause' | 'resume',
  paused: boolean,
  reason: string | null,
  execute: boolean,
): Promise<OpsReport> {
  const current = await readMaintenance(deps.store);
  const describe = (state: typeof current) =>
    state.paused
      ? `paused since ${isoTime(state.since ?? 0)}${state.reason ? ` (${state.reason})` : ''}: new tasks are refused, posted ones are served`
      : 'taking new tasks';
  const lines = [`${command}: the agent is ${describe(current)}`];
  const json = (changed: boolean, state: typeof current) => ({
    paused: state.paused,
    reason: state.reason,
    since: state.since,
    changed,
  });
  if (current.paused === paused) {
    lines.push(`nothing to do: it is already ${paused ? 'paused' : 'taking new tasks'}`);
    return { command, executed: execute, lines, json: json(false, current), changed: 0, exitCode: 0 };
  }
  if (!execute) {
    lines.push(
      paused
        ? 'dry run: nothing changed; --execute pauses it (new listings refused with NotAcceptingTasks, its announcement says accepting_tasks: false, /health 503 naming intake; funded tasks keep being served)'
        : 'dry run: nothing changed; --execute resumes it (new listings taken, its announcement no longer says accepting_tasks: false)',
    );
    return { command, executed: false, lines, json: json(false, current), changed: 0, exitCode: 0 };
  }
  const result = deps.running
    ? await deps.running.setMaintenance(paused, reason)
    : await writeMaintenance(deps.store, paused, reason, deps.now());
  lines.push(
    `now ${describe(result.state)}`,
    deps.running
      ? 'the new announcement is queued for the write relays'
      : 'written to the database: the agent announces it when it starts',
  );
  return {
    command,
    executed: true,
    lines,
    json: json(result.changed, result.state),
    changed: result.changed ? 1 : 0,
    exitCode: 0,
  };
}
