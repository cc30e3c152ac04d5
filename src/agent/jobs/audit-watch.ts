// Walks every task's audit chain at start and every `intervalMs` (store.verifyAudit, what `escrow-agent verify-db`
// does): escrow_audit_chain_valid is 1 while the last walk found every chain intact, 0 from the walk that finds a
// problem (the AuditChainBroken alert; an ERROR line names the first problems), and /health reads the same.

import type { AgentContext } from '../../engine/context.ts';
import type { AuditReport } from '../../store/index.ts';

export interface AuditWatch {
  last(): { at: number; report: AuditReport } | null;
  check(): Promise<AuditReport>;
  stop(): void;
}

export function startAuditWatch(getContext: () => AgentContext, options: { intervalMs: number }): AuditWatch {
  let last: { at: number; report: AuditReport } | null = null;
  let running: Promise<AuditReport> | null = null;

  async function walk(): Promise<AuditReport> {
    const ctx = getContext();
    const report = await ctx.store.verifyAudit();
    ctx.metrics.auditChainValid.set(report.ok ? 1 : 0);
    if (!report.ok) {
      ctx.log.error(
        { problems: report.problems.slice(0, 5), count: report.problems.length },
        'the audit chain is broken: run escrow-agent verify-db (docs/runbooks.md, "Audit chain broken")',
      );
    }
    last = { at: Date.now(), report };
    return report;
  }

  function check(): Promise<AuditReport> {
    running ??= walk().finally(() => {
      running = null;
    });
    return running;
  }

  const timer = setInterval(() => {
    check().catch((error) => getContext().log.warn({ err: error }, 'the audit walk failed'));
  }, options.intervalMs);
  timer.unref();
  return { last: () => last, check, stop: () => clearInterval(timer) };
}
