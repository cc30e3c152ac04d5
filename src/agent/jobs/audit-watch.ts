// Walks every task's audit chain at start and every `intervalMs` (store.verifyAudit, what `escrow-agent verify-db`
// does): escrow_audit_chain_valid is 1 while the last walk found every chain intact, 0 from the walk that finds a
// problem (the AuditChainBroken alert; an ERROR line names the first problems), and /health reads the same.
//
// The walk goes in slices that yield to the event loop (store/verify-audit.ts). Start-up waits for the first walk
// only while it fits in one slice (500 tasks): on a large store the agent serves while the walk goes on, and until
// it ends the gauge shows the last finished walk's answer, kept in the settings table (`audit_walk`), or NaN
// (unknown: the AuditChainBroken alert, `== 0`, does not fire on it) when no walk ever finished on this database.

import type { AgentContext } from '../../engine/context.ts';
import type { AuditReport } from '../../store/index.ts';

export const AUDIT_WALK_SETTING = 'audit_walk';

export interface AuditWatch {
  last(): { at: number; report: AuditReport } | null;
  check(): Promise<AuditReport>;
  /** Starts the first walk: resolves when it is done, or once it is known to need more than one slice. */
  begin(): Promise<void>;
  stop(): void;
}

interface KeptWalk {
  at: number;
  ok: boolean;
  tasksChecked: number;
  rowsChecked: number;
  problems: number;
  ms: number;
}

/** `sliceTasks`: task rows per slice of the walk (the store's default, 500, unless a test asks for fewer). */
export function startAuditWatch(
  getContext: () => AgentContext,
  options: { intervalMs: number; sliceTasks?: number },
): AuditWatch {
  let last: { at: number; report: AuditReport } | null = null;
  let running: Promise<AuditReport> | null = null;
  let stopped = false;
  // A walk cut short by stop() (the store closes under it) is not worth a warning.
  const warn = (error: unknown) => {
    if (!stopped) getContext().log.warn({ err: error }, 'the audit walk failed');
  };

  async function walk(onMoreToWalk?: () => void): Promise<AuditReport> {
    const ctx = getContext();
    const started = performance.now();
    const report = await ctx.store.verifyAudit({ onMoreToWalk, sliceTasks: options.sliceTasks });
    const ms = Math.round(performance.now() - started);
    ctx.metrics.auditChainValid.set(report.ok ? 1 : 0);
    if (!report.ok) {
      ctx.log.error(
        { problems: report.problems.slice(0, 5), count: report.problems.length },
        'the audit chain is broken: run escrow-agent verify-db (docs/runbooks.md, "Audit chain broken")',
      );
    } else {
      ctx.log.debug({ tasks: report.tasksChecked, rows: report.rowsChecked, ms }, 'audit walk done');
    }
    last = { at: Date.now(), report };
    const kept: KeptWalk = {
      at: Math.floor(last.at / 1000),
      ok: report.ok,
      tasksChecked: report.tasksChecked,
      rowsChecked: report.rowsChecked,
      problems: report.problems.length,
      ms,
    };
    await ctx.store.transaction((tx) => tx.settings.set(AUDIT_WALK_SETTING, kept));
    return report;
  }

  function check(onMoreToWalk?: () => void): Promise<AuditReport> {
    running ??= walk(onMoreToWalk).finally(() => {
      running = null;
    });
    return running;
  }

  async function begin(): Promise<void> {
    const ctx = getContext();
    const kept = (await ctx.store.read((reader) =>
      reader.settings.get(AUDIT_WALK_SETTING),
    )) as KeptWalk | null;
    ctx.metrics.auditChainValid.set(kept === null ? Number.NaN : kept.ok ? 1 : 0);
    await new Promise<void>((resolve, reject) => {
      const first = check(() => resolve());
      first.then(
        () => resolve(),
        (error) => {
          // Before the first slice ended this fails the start; after it, the next walk tries again.
          reject(error);
          warn(error);
        },
      );
    });
  }

  const timer = setInterval(() => {
    check().catch(warn);
  }, options.intervalMs);
  timer.unref();
  return {
    last: () => last,
    check: () => check(),
    begin,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
