// decide(task, command, context) -> events | rejection. Pure: no I/O, the clock and the block height come in
// the context. Every refusal is a Rejection whose message can be sent to the person who asked.
import { guardianHeight, windowsDoNotFit } from './deadlines.ts';
import { type Rejection, reject } from './errors.ts';
import { feeFor } from './money.ts';
import type {
  Command,
  DecideContext,
  Hex32,
  Payout,
  PayoutRecipient,
  Task,
  TaskEvent,
  Windows,
} from './types.ts';
import { TERMINAL_STATES } from './types.ts';

export type Decision = { ok: true; events: TaskEvent[] } | { ok: false; rejection: Rejection };

const accept = (...events: TaskEvent[]): Decision => ({ ok: true, events });
const refuse = (rejection: Rejection): Decision => ({ ok: false, rejection });

export function decide(task: Task | null, command: Command, context: DecideContext): Decision {
  if (command.type === 'post') return decidePost(task, command, context);
  if (task === null) return refuse(reject('WrongState', 'unknown task'));
  if (TERMINAL_STATES.has(task.state)) {
    return refuse(reject('NothingToDo', `task is already ${task.state}`));
  }
  switch (command.type) {
    case 'offer':
      return decideOffer(task, command, context);
    case 'hold_accepted':
      return decideHoldAccepted(task, command, context);
    case 'claim':
      return decideClaim(task, command.by, context);
    case 'submit':
      return decideSubmit(task, command, context);
    case 'approve':
      return decideApprove(task, command.by, context);
    case 'cancel':
      return decideCancel(task, command.by, context);
    case 'dispute':
      return decideDispute(task, command, context);
    case 'verdict':
      return decideVerdict(task, command, context);
    case 'tick':
      return decideTick(task, context);
    case 'hold_settled':
      return decideHoldSettled(task, command.paymentHash, context);
    case 'hold_cancelled':
      return decideHoldCancelled(task, command.paymentHash, context);
    case 'payout_start':
      return decidePayoutStart(task, command, context);
    case 'payout_succeeded':
      return decidePayoutResult(task, command.recipient, context, {
        type: 'payout_succeeded',
        at: context.now,
        recipient: command.recipient,
        routingFeeMsat: command.routingFeeMsat,
        preimage: command.preimage,
      });
    case 'payout_failed':
      return decidePayoutFailed(task, command, context);
    case 'payout_invoice':
      return decidePayoutInvoice(task, command, context);
    default:
      return assertNever(command);
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled command ${JSON.stringify(value)}`);
}

type CommandOf<T extends Command['type']> = Extract<Command, { type: T }>;

function decidePost(task: Task | null, command: CommandOf<'post'>, { now, policy }: DecideContext): Decision {
  if (task !== null) return refuse(reject('TaskExists', 'this task was already posted'));
  const open = command.openTaskAtAddress;
  if (open && open !== command.taskId) {
    return refuse(
      reject(
        'ListingInUse',
        `this listing's address (the same d tag) belongs to task ${open}, which is not finished; an edited listing does not become a second task (wait until that task ends, or use another d tag)`,
      ),
    );
  }
  if (command.amountMsat < policy.minAmountMsat || command.amountMsat > policy.maxAmountMsat) {
    return refuse(
      reject(
        'AmountOutOfPolicy',
        `amount ${command.amountMsat} msat is outside the agent's range ${policy.minAmountMsat}..${policy.maxAmountMsat} msat`,
      ),
    );
  }
  if (command.title.length > policy.maxTitleLength) {
    return refuse(reject('TitleTooLong', `title is longer than ${policy.maxTitleLength} characters`));
  }
  const windows: Windows = { ...policy.windows, ...command.windows };
  for (const [name, seconds] of Object.entries(windows)) {
    const minimum = name === 'disputeSeconds' ? 0 : 60;
    if (!Number.isSafeInteger(seconds) || seconds < minimum) {
      return refuse(reject('InvalidWindows', `${name} must be a whole number of seconds >= ${minimum}`));
    }
  }
  const misfit = windowsDoNotFit(windows, policy);
  if (misfit) return refuse(reject('WindowsDoNotFitHold', misfit));
  return accept({
    type: 'task_posted',
    at: now,
    taskId: command.taskId,
    poster: command.by,
    amountMsat: command.amountMsat,
    feeMsat: feeFor(command.amountMsat, policy.fee),
    title: command.title,
    windows,
  });
}

function decideOffer(task: Task, command: CommandOf<'offer'>, { now }: DecideContext): Decision {
  if (task.state !== 'posted') return refuse(wrongState(task, 'offer'));
  return accept({
    type: 'offered',
    at: now,
    paymentHash: command.paymentHash,
    bolt11: command.bolt11,
    invoiceExpiresAt: command.invoiceExpiresAt,
    finalCltvDelta: command.finalCltvDelta,
  });
}

function decideHoldAccepted(
  task: Task,
  command: CommandOf<'hold_accepted'>,
  { now }: DecideContext,
): Decision {
  if (task.funding?.paymentHash !== command.paymentHash) {
    return refuse(reject('WrongPaymentHash', 'payment hash does not belong to this task'));
  }
  if (task.funding.receivedMsat > 0n) return refuse(reject('NothingToDo', 'the hold was already accepted'));
  // A payment can race a cancel: while refunding, the money is recorded and refunded with the rest.
  if (task.state !== 'offered' && task.state !== 'refunding')
    return refuse(wrongState(task, 'hold_accepted'));
  const funded: TaskEvent = {
    type: 'funded',
    at: now,
    amountMsat: command.amountMsat,
    htlcExpiryHeight: command.htlcExpiryHeight,
    claimDeadlineHeight: command.claimDeadlineHeight,
  };
  if (task.state === 'offered' && command.amountMsat !== task.amountMsat) {
    // Overpaid or underpaid: escrowing another sum than the task's would break the fee and payout maths.
    return accept(funded, { type: 'refund_requested', at: now, reason: 'amount_mismatch' });
  }
  return accept(funded);
}

function decideClaim(task: Task, by: Hex32, context: DecideContext): Decision {
  if (task.state === 'claimed' || task.state === 'submitted') {
    return refuse(
      task.worker === by
        ? reject('NothingToDo', 'you already claimed this task')
        : reject('AlreadyClaimed', 'another worker claimed this task first'),
    );
  }
  if (task.state !== 'funded') return refuse(wrongState(task, 'claim'));
  if (by === task.poster) return refuse(reject('OwnTask', 'a poster cannot claim their own task'));
  if (context.now >= (task.fundedAt ?? 0) + task.windows.claimSeconds || guardianDue(task, context)) {
    return refuse(reject('DeadlinePassed', 'the claim window is over; the poster is being refunded'));
  }
  return accept({ type: 'claimed', at: context.now, worker: by });
}

function decideSubmit(task: Task, command: CommandOf<'submit'>, context: DecideContext): Decision {
  if (task.worker !== command.by)
    return refuse(reject('NotYourTask', 'only the worker who claimed the task can submit'));
  if (task.state === 'submitted') return refuse(reject('NothingToDo', 'the work was already submitted'));
  if (task.state !== 'claimed') return refuse(wrongState(task, 'submit'));
  if (context.now >= (task.claimedAt ?? 0) + task.windows.workSeconds || guardianDue(task, context)) {
    return refuse(reject('DeadlinePassed', 'the work deadline has passed'));
  }
  return accept({ type: 'submitted', at: context.now, payoutInvoice: command.payoutInvoice });
}

function decideApprove(task: Task, by: Hex32, { now }: DecideContext): Decision {
  if (by !== task.poster) return refuse(reject('NotYourTask', 'only the poster can approve'));
  if (task.state === 'settling') return refuse(reject('NothingToDo', 'the task is already being settled'));
  if (task.state !== 'submitted') return refuse(wrongState(task, 'approve'));
  return accept({ type: 'settle_requested', at: now, reason: 'approved', resolution: { kind: 'worker' } });
}

function decideCancel(task: Task, by: Hex32, { now }: DecideContext): Decision {
  if (by !== task.poster) return refuse(reject('NotYourTask', 'only the poster can cancel'));
  switch (task.state) {
    case 'posted':
      return accept({ type: 'task_cancelled', at: now });
    case 'offered':
    case 'funded':
      return accept({ type: 'refund_requested', at: now, reason: 'poster_cancelled' });
    case 'refunding':
      return refuse(reject('NothingToDo', 'the task is already being refunded'));
    case 'claimed':
    case 'submitted':
      return refuse(
        reject('WrongState', `a worker has ${task.state} the task; open a dispute instead of cancelling`),
      );
    default:
      return refuse(wrongState(task, 'cancel'));
  }
}

function decideDispute(task: Task, command: CommandOf<'dispute'>, { now, policy }: DecideContext): Decision {
  if (command.by !== task.poster && command.by !== task.worker) {
    return refuse(reject('NotYourTask', 'only the poster or the worker can open a dispute'));
  }
  // Nobody could ever rule on it: the announced policy says `disputes: false` (no arbitrators).
  if (policy.arbitrators.length === 0) {
    return refuse(
      reject(
        'DisputesNotOffered',
        'this agent has no arbitrators, so it takes no disputes (its published policy says disputes: false)',
      ),
    );
  }
  if (task.state === 'disputed') return refuse(reject('NothingToDo', 'the task is already disputed'));
  if (task.state !== 'claimed' && task.state !== 'submitted') return refuse(wrongState(task, 'dispute'));
  return accept({ type: 'disputed', at: now, by: command.by, reason: command.reason });
}

function decideVerdict(task: Task, command: CommandOf<'verdict'>, { now, policy }: DecideContext): Decision {
  if (!policy.arbitrators.includes(command.by))
    return refuse(reject('NotAnArbitrator', 'you are not an arbitrator of this agent'));
  const share = command.workerShareBps;
  if (
    command.outcome === 'split' &&
    (share === undefined || !Number.isInteger(share) || share < 0 || share > 10_000)
  ) {
    return refuse(reject('InvalidVerdict', 'a split verdict needs share_bps, an integer from 0 to 10000'));
  }
  const resolution =
    command.outcome === 'split'
      ? { kind: 'split' as const, workerShareBps: share ?? 0 }
      : { kind: command.outcome };
  if (task.state === 'disputed') {
    if (resolution.kind === 'poster') return accept({ type: 'refund_requested', at: now, reason: 'verdict' });
    return accept({ type: 'settle_requested', at: now, reason: 'verdict', resolution });
  }
  if (task.state === 'custody' && task.resolution?.kind === 'pending_verdict') {
    return accept({ type: 'verdict_given', at: now, by: command.by, resolution });
  }
  return refuse(wrongState(task, 'verdict'));
}

/** Timeouts and the hold-deadline guardian. The guardian comes first: it is the last line before the node acts. */
function decideTick(task: Task, context: DecideContext): Decision {
  const { now, policy } = context;
  const at = now;
  const guardian = guardianDue(task, context);
  switch (task.state) {
    case 'offered':
      if (now >= (task.funding?.invoiceExpiresAt ?? 0))
        return accept({ type: 'refund_requested', at, reason: 'invoice_expired' });
      break;
    case 'funded':
      if (guardian) return accept({ type: 'refund_requested', at, reason: 'hold_deadline' });
      if (now >= (task.fundedAt ?? 0) + task.windows.claimSeconds)
        return accept({ type: 'refund_requested', at, reason: 'claim_timeout' });
      break;
    case 'claimed':
      if (guardian) return accept({ type: 'refund_requested', at, reason: 'hold_deadline' });
      if (now >= (task.claimedAt ?? 0) + task.windows.workSeconds)
        return accept({ type: 'refund_requested', at, reason: 'work_timeout' });
      break;
    case 'submitted':
      // The rule: the poster's silence approves, and so does a hold about to expire during review.
      if (guardian)
        return accept({
          type: 'settle_requested',
          at,
          reason: 'hold_deadline',
          resolution: { kind: 'worker' },
        });
      if (now >= (task.submittedAt ?? 0) + task.windows.reviewSeconds) {
        return accept({
          type: 'settle_requested',
          at,
          reason: 'review_timeout',
          resolution: { kind: 'worker' },
        });
      }
      break;
    case 'disputed':
      if (guardian) {
        return policy.disputeDeadlineRule === 'custody'
          ? accept({
              type: 'settle_requested',
              at,
              reason: 'hold_deadline',
              resolution: { kind: 'pending_verdict' },
            })
          : accept({ type: 'refund_requested', at, reason: 'hold_deadline' });
      }
      break;
    default:
      break;
  }
  return refuse(reject('NothingToDo', 'no deadline has passed'));
}

function decideHoldSettled(task: Task, paymentHash: Hex32, { now }: DecideContext): Decision {
  if (task.funding?.paymentHash !== paymentHash)
    return refuse(reject('WrongPaymentHash', 'payment hash does not belong to this task'));
  if (task.state === 'settled' || task.state === 'custody' || task.state === 'payout_pending') {
    return refuse(reject('NothingToDo', 'the hold is already settled'));
  }
  // Only our own settle intent may settle: anything else is an inconsistency for the operator, not a transition.
  if (task.state !== 'settling') return refuse(wrongState(task, 'hold_settled'));
  return accept({ type: 'hold_settled', at: now });
}

function decideHoldCancelled(task: Task, paymentHash: Hex32, { now }: DecideContext): Decision {
  if (task.funding?.paymentHash !== paymentHash)
    return refuse(reject('WrongPaymentHash', 'payment hash does not belong to this task'));
  if (task.state === 'refunding') return accept({ type: 'hold_cancelled', at: now });
  const unintended = ['offered', 'funded', 'claimed', 'submitted', 'disputed', 'settling'];
  if (unintended.includes(task.state)) {
    // The node cancelled without our intent (expiry at the node, an operator): record the truth.
    return accept(
      { type: 'refund_requested', at: now, reason: 'node_cancelled' },
      { type: 'hold_cancelled', at: now },
    );
  }
  return refuse(wrongState(task, 'hold_cancelled'));
}

function decidePayoutStart(task: Task, command: CommandOf<'payout_start'>, { now }: DecideContext): Decision {
  const payout = findPayout(task, command.recipient);
  const payable = task.state === 'settled' || task.state === 'custody' || task.state === 'payout_pending';
  if (!payout || !payable) return refuse(wrongState(task, 'payout_start'));
  // At most one payout in flight per task: a second one could pay twice if the first one succeeds late.
  if (task.payouts.some((other) => other.state === 'in_flight')) {
    return refuse(reject('PayoutInFlight', 'a payout for this task is already in flight'));
  }
  if (payout.state !== 'due')
    return refuse(reject('NothingToDo', `the ${payout.recipient} payout is ${payout.state}`));
  if (payout.bolt11 !== command.bolt11)
    return refuse(reject('WrongState', 'the invoice is not the one on record'));
  if (command.amountMsat !== payout.amountMsat) {
    return refuse(
      reject(
        'AmountMismatch',
        `the payout is ${payout.amountMsat} msat, the invoice asks ${command.amountMsat} msat`,
      ),
    );
  }
  if (command.paymentHash === task.funding?.paymentHash) {
    return refuse(reject('WrongPaymentHash', 'a payout invoice cannot reuse the escrow payment hash'));
  }
  return accept({
    type: 'payout_started',
    at: now,
    recipient: command.recipient,
    bolt11: command.bolt11,
    paymentHash: command.paymentHash,
    amountMsat: command.amountMsat,
  });
}

function decidePayoutResult(
  task: Task,
  recipient: PayoutRecipient,
  _context: DecideContext,
  event: TaskEvent,
): Decision {
  const payout = findPayout(task, recipient);
  if (payout?.state === 'succeeded') return refuse(reject('NothingToDo', 'the payout already succeeded'));
  if (payout?.state !== 'in_flight') return refuse(wrongState(task, event.type));
  return accept(event);
}

function decidePayoutFailed(
  task: Task,
  command: CommandOf<'payout_failed'>,
  context: DecideContext,
): Decision {
  const payout = findPayout(task, command.recipient);
  // `attempts` already counts the attempt that just failed.
  const needsInvoice =
    command.invoiceUnusable === true ||
    (payout !== undefined && payout.attempts >= context.policy.maxPayoutAttempts);
  return decidePayoutResult(task, command.recipient, context, {
    type: 'payout_failed',
    at: context.now,
    recipient: command.recipient,
    reason: command.reason,
    needsInvoice,
  });
}

function decidePayoutInvoice(
  task: Task,
  command: CommandOf<'payout_invoice'>,
  { now }: DecideContext,
): Decision {
  const recipientKey = command.recipient === 'worker' ? task.worker : task.poster;
  if (command.by !== recipientKey)
    return refuse(reject('NotYourTask', `only the ${command.recipient} can give this payout's invoice`));
  const payout = findPayout(task, command.recipient);
  if (!payout) return refuse(wrongState(task, 'payout_invoice'));
  if (payout.state === 'in_flight' || payout.state === 'succeeded') {
    return refuse(
      reject('PayoutInFlight', `the ${command.recipient} payout is ${payout.state.replace('_', ' ')}`),
    );
  }
  return accept({
    type: 'payout_invoice_given',
    at: now,
    recipient: command.recipient,
    bolt11: command.bolt11,
  });
}

function findPayout(task: Task, recipient: PayoutRecipient): Payout | undefined {
  return task.payouts.find((payout) => payout.recipient === recipient);
}

function guardianDue(task: Task, { height, policy }: DecideContext): boolean {
  const at = task.funding ? guardianHeight(task.funding, policy.safetyMarginBlocks) : null;
  return at !== null && height >= at;
}

function wrongState(task: Task, action: string): Rejection {
  return reject('WrongState', `cannot ${action.replace('_', ' ')} a task that is ${task.state}`);
}
