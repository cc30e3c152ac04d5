// Private notices (docs/protocol.md §11): what the agent tells people privately when a task changes, as NIP-17
// direct messages gift-wrapped to each of them. A notice only repeats what the public log says (the statements
// are public dispute labels too); it exists so an arbitrator or a recipient hears of it in an ordinary DM client.
import { formatMsat } from '../domain/money.ts';
import type { Hex32, Payout, Task, TaskEvent } from '../domain/types.ts';
import type { PrivateNotice } from '../protocol/private-notice.ts';

export interface NoticeFor {
  recipient: Hex32;
  notice: PrivateNotice;
}

/** Statements can be long; a notice carries each in full up to this many characters (the label has all of it). */
const STATEMENT_CHARS = 3_500;

/** The notices a change of `after` (by `event`) calls for. */
export function noticesFor(before: Task | null, after: Task, event: TaskEvent): NoticeFor[] {
  if (event.type === 'disputed' || event.type === 'statement_added') {
    const topic = event.type === 'disputed' ? 'dispute_opened' : 'dispute_statement';
    const facts = disputeFacts(after);
    const opener = after.disputedBy === after.poster ? 'poster' : 'worker';
    const text =
      event.type === 'disputed'
        ? `The ${opener} opened a dispute on "${after.title}" (${formatMsat(after.amountMsat)}). You are one of its ${after.arbitration.arbitrators.length} arbitrator(s); ${after.arbitration.threshold} agreeing verdict(s) decide. Publish a verdict label (outcome worker, poster or split with share_bps) on task ${after.id}.`
        : `The ${event.by === after.poster ? 'poster' : 'worker'} added a statement to the dispute on "${after.title}".`;
    return after.arbitration.arbitrators.map((recipient) => ({
      recipient,
      notice: { topic, taskId: after.id, taskTitle: after.title, text, facts },
    }));
  }
  if (event.type === 'payout_address_failed' && event.giveUp) {
    const payout = after.payouts.find((candidate) => candidate.recipient === event.recipient);
    if (!payout) return [];
    return askForInvoice(
      after,
      payout,
      `The agent could not get an invoice from your Lightning address (${event.reason}). You are still owed ${formatMsat(payout.amountMsat)} from task "${after.title}": send a payout_invoice action with a BOLT11 invoice for exactly ${payout.amountMsat} msat, or another Lightning address.`,
      { address_failure: event.reason.slice(0, 500) },
    );
  }
  // A payout that now needs an invoice: ask its recipient (the public `payout_pending` says the same).
  const asked = after.payouts.filter(
    (payout) =>
      payout.state === 'needs_invoice' &&
      !payout.address &&
      before?.payouts.find((old) => old.recipient === payout.recipient)?.state !== 'needs_invoice',
  );
  return asked.flatMap((payout) =>
    askForInvoice(
      after,
      payout,
      `You are owed ${formatMsat(payout.amountMsat)} from task "${after.title}". Send a payout_invoice action with a BOLT11 invoice for exactly ${payout.amountMsat} msat, or a Lightning address (lud16 tag), and the agent pays it.`,
      { attempts: String(payout.attempts) },
    ),
  );
}

/** A `payout_invoice_needed` notice to the payout's recipient (none when the task has no such person yet). */
function askForInvoice(task: Task, payout: Payout, text: string, facts: Record<string, string>): NoticeFor[] {
  const recipient = payout.recipient === 'worker' ? task.worker : task.poster;
  if (recipient === null) return [];
  return [
    {
      recipient,
      notice: {
        topic: 'payout_invoice_needed',
        taskId: task.id,
        taskTitle: task.title,
        text,
        facts: { recipient: payout.recipient, amount_msat: payout.amountMsat.toString(), ...facts },
      },
    },
  ];
}

function disputeFacts(task: Task): Record<string, string> {
  const facts: Record<string, string> = {
    amount_msat: task.amountMsat.toString(),
    fee_msat: task.feeMsat.toString(),
    poster: task.poster,
    threshold: String(task.arbitration.threshold),
    opened_by: task.disputedBy === task.poster ? 'poster' : 'worker',
  };
  if (task.worker) facts.worker = task.worker;
  if (task.disputedAt !== null) facts.window_end = String(task.disputedAt + task.windows.disputeSeconds);
  for (const statement of task.statements) {
    const role = statement.by === task.poster ? 'poster' : 'worker';
    facts[`statement_${role}`] = statement.text.slice(0, STATEMENT_CHARS);
  }
  return facts;
}
