// `escrow-agent custody`: the money the agent holds for other people, read from the database. For each task that
// holds settled money (states settled, custody, payout_pending): who is owed what, since when, and whether it has
// been held longer than policy.custody_max_seconds; then the totals over every task and whether they add up
// (received = paid to workers + paid to posters + refunded + fee + held, task by task and in all). Exit 1 when
// they do not. It opens the data folder as verify-db does, under its lock: it is refused while the agent runs.
import { parseArgs } from 'node:util';
import { npubEncode } from 'nostr-tools/nip19';
import { conservationViolation, emptyLedger } from '../../domain/money.ts';
import {
  type Ledger,
  type PayoutRecipient,
  type PayoutState,
  type Resolution,
  TASK_STATES,
  type Task,
  type TaskState,
} from '../../domain/types.ts';
import { CliError } from '../cli-error.ts';
import { withAgentStore } from '../data-folder.ts';
import type { AgentConfig, Output } from '../output.ts';

/** The states in which the agent holds settled money until it is paid out. */
export const HOLDING_FOR_OTHERS: readonly TaskState[] = ['settled', 'custody', 'payout_pending'];

export interface OwedPayout {
  recipient: PayoutRecipient;
  /** The recipient's pubkey (the task's worker or poster). */
  pubkey: string | null;
  amountMsat: bigint;
  /** due (an invoice to pay), in_flight (being paid), needs_invoice (waiting for the recipient). */
  state: Exclude<PayoutState, 'succeeded'>;
}

export interface CustodyLine {
  taskId: string;
  state: TaskState;
  resolution: Resolution | null;
  heldMsat: bigint;
  owed: OwedPayout[];
  /** When the money went into custody (unix seconds); null for a plain worker payout (not custody). */
  custodySince: number | null;
  /** Seconds in custody at the report's time, or null. */
  custodySeconds: number | null;
  /** Held for policy.custodyMaxSeconds or longer. */
  overdue: boolean;
}

export interface CustodyReport {
  now: number;
  custodyMaxSeconds: number;
  /** The tasks holding money for others, oldest custody first, then by task id. */
  lines: CustodyLine[];
  /** Sum of their heldMsat. */
  heldForOthersMsat: bigint;
  overdueCount: number;
  /** Over every task, whatever its state. */
  totals: { tasks: number } & Ledger;
  /** Each task's own conservation problem (verify-db says the same). */
  violations: Array<{ taskId: string; problem: string }>;
  /** The totals add up and no task has a problem. */
  conserved: boolean;
}

const LEDGER_FIELDS = [
  'receivedMsat',
  'heldMsat',
  'paidToWorkerMsat',
  'paidToPosterMsat',
  'refundedMsat',
  'feeMsat',
  'routingFeeMsat',
] as const satisfies ReadonlyArray<keyof Ledger>;

/** The report's core, on tasks already read: pure, so it can be tested on folded histories. */
export function custodyReport(
  tasks: readonly Task[],
  options: { now: number; custodyMaxSeconds: number },
): CustodyReport {
  const { now, custodyMaxSeconds } = options;
  const totals: CustodyReport['totals'] = { tasks: tasks.length, ...emptyLedger() };
  const violations: CustodyReport['violations'] = [];
  const lines: CustodyLine[] = [];
  for (const task of tasks) {
    for (const field of LEDGER_FIELDS) totals[field] += task.ledger[field];
    const problem = conservationViolation(task.ledger);
    if (problem) violations.push({ taskId: task.id, problem });
    if (!HOLDING_FOR_OTHERS.includes(task.state) || task.ledger.heldMsat <= 0n) continue;
    const custodySeconds = task.custodySince === null ? null : Math.max(0, now - task.custodySince);
    lines.push({
      taskId: task.id,
      state: task.state,
      resolution: task.resolution,
      heldMsat: task.ledger.heldMsat,
      owed: task.payouts.flatMap((payout) =>
        payout.state === 'succeeded'
          ? []
          : [
              {
                recipient: payout.recipient,
                pubkey: payout.recipient === 'worker' ? task.worker : task.poster,
                amountMsat: payout.amountMsat,
                state: payout.state,
              },
            ],
      ),
      custodySince: task.custodySince,
      custodySeconds,
      // As the running agent's custody watch counts it: at the limit is past it.
      overdue: custodySeconds !== null && custodySeconds >= custodyMaxSeconds,
    });
  }
  lines.sort(
    (left, right) =>
      (left.custodySince ?? Number.MAX_SAFE_INTEGER) - (right.custodySince ?? Number.MAX_SAFE_INTEGER) ||
      (left.taskId < right.taskId ? -1 : left.taskId > right.taskId ? 1 : 0),
  );
  const accounted =
    totals.paidToWorkerMsat +
    totals.paidToPosterMsat +
    totals.refundedMsat +
    totals.feeMsat +
    totals.heldMsat;
  return {
    now,
    custodyMaxSeconds,
    lines,
    heldForOthersMsat: lines.reduce((sum, line) => sum + line.heldMsat, 0n),
    overdueCount: lines.filter((line) => line.overdue).length,
    totals,
    violations,
    conserved: accounted === totals.receivedMsat && violations.length === 0,
  };
}

/** The report as text lines, for a person. */
export function custodyText(report: CustodyReport): string[] {
  const out: string[] = [];
  const { lines } = report;
  if (lines.length === 0) out.push('no money held for others');
  else {
    const overdue = report.overdueCount > 0 ? `, ${report.overdueCount} past the custody limit` : '';
    out.push(
      `money held for others: ${report.heldForOthersMsat} msat in ${lines.length} task(s)${overdue} (custody limit ${duration(report.custodyMaxSeconds)}, policy.custody_max_seconds)`,
    );
  }
  for (const line of lines) {
    out.push('');
    out.push(`task ${line.taskId}`);
    out.push(`  state ${line.state}, ${resolutionText(line.resolution)}, held ${line.heldMsat} msat`);
    if (line.custodySince === null)
      out.push('  not in custody: settled for the worker, whose payout is below');
    else {
      const limit = line.overdue
        ? `PAST the ${duration(report.custodyMaxSeconds)} limit`
        : `within the ${duration(report.custodyMaxSeconds)} limit`;
      out.push(
        `  in custody since ${isoTime(line.custodySince)} (${duration(line.custodySeconds ?? 0)}): ${limit}`,
      );
    }
    if (line.owed.length === 0) out.push("  owed: nobody yet (awaiting the arbitrators' verdict)");
    for (const owed of line.owed) {
      out.push(
        `  owed to the ${owed.recipient} ${owed.pubkey ? npubOf(owed.pubkey) : '(unknown)'}: ${owed.amountMsat} msat, ${PAYOUT_STATE_TEXT[owed.state]}`,
      );
    }
  }
  const t = report.totals;
  out.push('');
  out.push(
    `totals over ${t.tasks} task(s): received ${t.receivedMsat} msat = paid to workers ${t.paidToWorkerMsat} + paid to posters ${t.paidToPosterMsat} + refunded ${t.refundedMsat} + fee ${t.feeMsat} + held ${t.heldMsat} msat`,
  );
  out.push(`  routing fees of payouts, paid out of the fee: ${t.routingFeeMsat} msat`);
  if (report.conserved) out.push('conservation holds: every msat received is accounted for');
  else {
    const accounted = t.paidToWorkerMsat + t.paidToPosterMsat + t.refundedMsat + t.feeMsat + t.heldMsat;
    out.push(
      `CONSERVATION VIOLATED: ${t.receivedMsat} msat received, ${accounted} msat accounted for; run \`escrow-agent verify-db\` and do not pay anything out by hand until it is understood`,
    );
    for (const violation of report.violations) out.push(`  task ${violation.taskId}: ${violation.problem}`);
  }
  return out;
}

/** The report as JSON: msat as decimal strings (past 2^53 a number would be rounded). */
export function custodyJson(report: CustodyReport): string {
  return JSON.stringify(report, (_, value) => (typeof value === 'bigint' ? value.toString() : value), 2);
}

export async function custodyCommand(config: AgentConfig, output: Output, args: string[]): Promise<number> {
  let json = false;
  try {
    const { values } = parseArgs({ args, options: { json: { type: 'boolean' } } });
    json = values.json === true;
  } catch (error) {
    throw new CliError(`custody: ${(error as Error).message}\nusage: escrow-agent custody [--json]`);
  }
  return withAgentStore(config, 'custody', async (store) => {
    const tasks = await store.read((tx) => tx.tasks.listByState(TASK_STATES));
    const report = custodyReport(tasks, {
      now: Math.floor(Date.now() / 1000),
      custodyMaxSeconds: config.policy.custodyMaxSeconds,
    });
    if (json) output.out(custodyJson(report));
    else for (const line of custodyText(report)) output.out(line);
    return report.conserved ? 0 : 1;
  });
}

const PAYOUT_STATE_TEXT: Record<OwedPayout['state'], string> = {
  due: 'due (the agent has the invoice and pays it)',
  in_flight: 'being paid',
  needs_invoice: 'waiting for an invoice from them',
};

function resolutionText(resolution: Resolution | null): string {
  switch (resolution?.kind) {
    case 'worker':
      return 'all to the worker';
    case 'poster':
      return 'all back to the poster (verdict)';
    case 'split':
      return `split: ${resolution.workerShareBps / 100} % to the worker, the rest to the poster`;
    case 'pending_verdict':
      return 'awaiting a verdict';
    default:
      return 'no resolution';
  }
}

function duration(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return minutes > 0 ? `${hours} h ${minutes} min` : `${hours} h`;
  if (minutes > 0) return `${minutes} min`;
  return `${seconds} s`;
}

function isoTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

function npubOf(pubkey: string): string {
  try {
    return npubEncode(pubkey);
  } catch {
    return pubkey;
  }
}
