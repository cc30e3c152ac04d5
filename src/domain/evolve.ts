// evolve(task, event) -> task: the fold that turns a task's event log into its current record. Pure and
// total over the events decide() emits; the projection in the store is evolve() applied to the audit log.

import { InternalError } from './errors.ts';
import { emptyLedger, netPayableMsat, splitShares } from './money.ts';
import type {
  Arbitration,
  CancelledTask,
  ExpiredTask,
  Ledger,
  Payout,
  PayoutRecipient,
  PayoutState,
  RefundedTask,
  RefundingTask,
  Resolution,
  SettledState,
  SettledTask,
  Task,
  TaskEvent,
  TaskIn,
  TaskState,
} from './types.ts';

export function evolve(task: Task | null, event: TaskEvent): Task {
  if (event.type === 'task_posted') {
    return {
      id: event.taskId,
      state: 'posted',
      poster: event.poster,
      worker: null,
      amountMsat: event.amountMsat,
      feeMsat: event.feeMsat,
      title: event.title,
      windows: event.windows,
      postedAt: event.at,
      funding: null,
      fundedAt: null,
      claimedAt: null,
      submittedAt: null,
      disputedAt: null,
      disputedBy: null,
      arbitration: event.arbitration ?? NO_ARBITRATION,
      statements: [],
      verdicts: [],
      custodySince: null,
      reason: null,
      resolution: null,
      workerInvoice: null,
      payouts: [],
      ledger: emptyLedger(),
      version: 1,
    };
  }
  if (task === null) throw new Error(`evolve: ${event.type} before task_posted`);
  const next = apply(task, event);
  return { ...next, version: task.version + 1 };
}

export function fold(events: readonly TaskEvent[]): Task | null {
  return events.reduce<Task | null>((task, event) => evolve(task, event), null);
}

function apply(task: Task, event: Exclude<TaskEvent, { type: 'task_posted' }>): Task {
  switch (event.type) {
    case 'offered': {
      const posted = inState(task, event, 'posted');
      return {
        ...posted,
        state: 'offered',
        funding: {
          paymentHash: event.paymentHash,
          bolt11: event.bolt11,
          invoiceExpiresAt: event.invoiceExpiresAt,
          finalCltvDelta: event.finalCltvDelta,
          receivedMsat: 0n,
          htlcExpiryHeight: null,
          claimDeadlineHeight: null,
          acceptedAt: null,
        },
      };
    }
    case 'funded': {
      // A payment that raced a cancel is recorded, and refunded with the rest.
      const open = inState(task, event, 'offered', 'refunding');
      const funded = {
        fundedAt: event.at,
        funding: {
          ...open.funding,
          receivedMsat: event.amountMsat,
          htlcExpiryHeight: event.htlcExpiryHeight,
          claimDeadlineHeight: event.claimDeadlineHeight,
          acceptedAt: event.at,
        },
        ledger: {
          ...open.ledger,
          receivedMsat: event.amountMsat,
          heldMsat: open.ledger.heldMsat + event.amountMsat,
        },
      };
      return open.state === 'offered' ? { ...open, ...funded, state: 'funded' } : { ...open, ...funded };
    }
    case 'claimed':
      return {
        ...inState(task, event, 'funded'),
        state: 'claimed',
        worker: event.worker,
        claimedAt: event.at,
      };
    case 'submitted':
      return {
        ...inState(task, event, 'claimed'),
        state: 'submitted',
        submittedAt: event.at,
        workerInvoice: event.payoutInvoice,
      };
    case 'disputed':
      return {
        ...inState(task, event, 'claimed', 'submitted'),
        state: 'disputed',
        disputedAt: event.at,
        disputedBy: event.by,
        statements: [...task.statements, { by: event.by, text: event.reason, at: event.at }],
      };
    case 'statement_added':
      return {
        ...inState(task, event, 'disputed', 'settling', 'custody'),
        statements: [...task.statements, { by: event.by, text: event.text, at: event.at }],
      };
    case 'verdict_recorded': {
      const open = inState(task, event, 'disputed', 'settling', 'custody');
      return {
        ...open,
        verdicts: [
          ...open.verdicts,
          { by: event.by, resolution: event.resolution, at: event.at, eventId: event.eventId },
        ],
      };
    }
    case 'settle_requested':
      return {
        ...inState(task, event, 'submitted', 'disputed'),
        state: 'settling',
        reason: event.reason,
        resolution: event.resolution,
      };
    case 'refund_requested': {
      const holding = inState(task, event, ...REFUNDABLE_STATES);
      return { ...holding, state: 'refunding', reason: event.reason };
    }
    case 'task_cancelled':
      return { ...inState(task, event, 'posted'), state: 'cancelled', reason: 'poster_cancelled' };
    case 'hold_settled': {
      const settling = inState(task, event, 'settling');
      const payouts = payoutsFor(settling, settling.resolution);
      const ledger: Ledger = {
        ...settling.ledger,
        feeMsat: settling.feeMsat,
        heldMsat: settling.ledger.heldMsat - settling.feeMsat,
      };
      const state = stateAfterSettle(settling.resolution, payouts);
      const custodial = settling.resolution.kind !== 'worker';
      return { ...settling, state, payouts, ledger, custodySince: custodial ? event.at : null };
    }
    case 'hold_cancelled':
      return endOfRefund(inState(task, event, 'refunding'));
    case 'verdict_given': {
      const custody = inState(task, event, 'custody');
      const payouts = payoutsFor(custody, event.resolution);
      return {
        ...custody,
        resolution: event.resolution,
        payouts,
        state: stateAfterSettle(event.resolution, payouts),
      };
    }
    case 'payout_started': {
      const settled = inState(task, event, ...PAYABLE_STATES);
      return updatePayout(settled, event, ['due'], (payout) => ({
        ...payout,
        state: 'in_flight',
        bolt11: event.bolt11,
        paymentHash: event.paymentHash,
        attempts: payout.attempts + 1,
      }));
    }
    case 'payout_succeeded': {
      const settled = inState(task, event, ...PAYABLE_STATES);
      const paid = findPayout(settled, event.recipient);
      const withPayout = updatePayout(settled, event, ['in_flight'], (payout) => ({
        ...payout,
        state: 'succeeded',
        routingFeeMsat: event.routingFeeMsat,
        proofPreimage: event.preimage,
      }));
      const paidField = event.recipient === 'worker' ? 'paidToWorkerMsat' : 'paidToPosterMsat';
      const ledger: Ledger = {
        ...settled.ledger,
        heldMsat: settled.ledger.heldMsat - paid.amountMsat,
        [paidField]: settled.ledger[paidField] + paid.amountMsat,
        routingFeeMsat: settled.ledger.routingFeeMsat + event.routingFeeMsat,
      };
      return { ...withPayout, ledger, state: stateAfterPayouts(withPayout) };
    }
    case 'payout_failed': {
      const settled = inState(task, event, ...PAYABLE_STATES);
      // `due`: the invoice was found unusable before any attempt (decide allows it only with needsInvoice).
      const withPayout = updatePayout(settled, event, ['in_flight', 'due'], (payout) =>
        event.needsInvoice
          ? { ...payout, state: 'needs_invoice', paymentHash: null }
          : { ...payout, state: 'due', paymentHash: null },
      );
      if (event.forgetAddress) {
        const forgotten = withPayout.payouts.map((payout) =>
          payout.recipient === event.recipient ? { ...payout, address: null } : payout,
        );
        return {
          ...withPayout,
          payouts: forgotten,
          state: stateAfterPayouts({ ...withPayout, payouts: forgotten }),
        };
      }
      return { ...withPayout, state: stateAfterPayouts(withPayout) };
    }
    case 'payout_invoice_given': {
      const settled = inState(task, event, ...PAYABLE_STATES);
      const withPayout = updatePayout(settled, event, ['due', 'needs_invoice'], (payout) => ({
        ...payout,
        state: 'due',
        bolt11: event.bolt11,
        attempts: event.fromAddress ? payout.attempts : 0,
      }));
      return { ...withPayout, state: stateAfterPayouts(withPayout) };
    }
    case 'payout_address_given': {
      const settled = inState(task, event, ...PAYABLE_STATES);
      return updatePayout(settled, event, ['needs_invoice'], (payout) => ({
        ...payout,
        address: event.address,
        attempts: 0,
      }));
    }
    case 'payout_address_failed': {
      const settled = inState(task, event, ...PAYABLE_STATES);
      return event.giveUp
        ? updatePayout(settled, event, ['needs_invoice'], (payout) => ({ ...payout, address: null }))
        : settled;
    }
    default:
      return assertNever(event);
  }
}

/** A task posted before arbitration was committed per task, or on an agent without arbitrators. */
const NO_ARBITRATION: Arbitration = {
  arbitrators: [],
  threshold: 0,
  deadlineRule: 'refund',
  rulesSha256: '',
};

/** The states a refund can be asked in: a hold may exist, and the node may have cancelled it on its own. */
const REFUNDABLE_STATES = ['offered', 'funded', 'claimed', 'submitted', 'disputed', 'settling'] as const;
/** The states in which payouts are made. */
const PAYABLE_STATES = ['settled', 'custody', 'payout_pending'] as const;

/**
 * The task, narrowed to the states `event` can follow. decide() emits an event only in those states, so
 * anything else is a broken log (an InternalError), never something to fold into a task of the wrong shape.
 */
function inState<S extends TaskState>(task: Task, event: TaskEvent, ...states: readonly S[]): TaskIn<S> {
  if ((states as readonly TaskState[]).includes(task.state)) return task as TaskIn<S>;
  throw new InternalError('Invariant', `evolve: ${event.type} on task ${task.id}, which is ${task.state}`);
}

function assertNever(value: never): never {
  throw new Error(`evolve: unhandled event ${JSON.stringify(value)}`);
}

/** The payouts a resolution calls for, from the money held after the fee. Zero-amount payouts are left out. */
function payoutsFor(task: Task, resolution: Resolution): Payout[] {
  const net = netPayableMsat(task.ledger.receivedMsat, task.feeMsat);
  const amounts: Array<[PayoutRecipient, bigint]> =
    resolution.kind === 'worker'
      ? [['worker', net]]
      : resolution.kind === 'poster'
        ? [['poster', net]]
        : resolution.kind === 'split'
          ? Object.entries(splitShares(net, resolution.workerShareBps)).map(([who, amount]) => [
              who as PayoutRecipient,
              amount,
            ])
          : [];
  return amounts
    .filter(([, amount]) => amount > 0n)
    .map(([recipient, amountMsat]): Payout => {
      // The worker's invoice from submit is for amount - fee: it pays a worker who gets all of it, never a share.
      const bolt11 = recipient === 'worker' && amountMsat === net ? task.workerInvoice : null;
      const fresh = {
        recipient,
        amountMsat,
        paymentHash: null,
        attempts: 0,
        routingFeeMsat: 0n,
        proofPreimage: null,
      };
      return bolt11 ? { ...fresh, state: 'due', bolt11 } : { ...fresh, state: 'needs_invoice', bolt11 };
    });
}

/** Once settled: a plain worker payout is `settled`; anything the agent holds for others is `custody`. */
function stateAfterSettle(resolution: Resolution, payouts: Payout[]): SettledState {
  if (resolution.kind === 'pending_verdict') return 'custody';
  return stateFromPayouts(payouts, resolution.kind === 'worker' ? 'settled' : 'custody');
}

function stateAfterPayouts(task: SettledTask): SettledState {
  return stateFromPayouts(task.payouts, task.resolution.kind === 'worker' ? 'settled' : 'custody');
}

function stateFromPayouts(payouts: Payout[], base: 'settled' | 'custody'): SettledState {
  if (payouts.length > 0 && payouts.every((payout) => payout.state === 'succeeded')) return 'paid';
  if (payouts.some((payout) => payout.state === 'needs_invoice')) return 'payout_pending';
  return base;
}

/** The end of a refund: refunded if money was received, else cancelled (by the poster) or expired. */
function endOfRefund(task: RefundingTask): RefundedTask | CancelledTask | ExpiredTask {
  const ledger: Ledger = {
    ...task.ledger,
    refundedMsat: task.ledger.refundedMsat + task.ledger.heldMsat,
    heldMsat: 0n,
  };
  if (task.ledger.receivedMsat > 0n) return { ...task, state: 'refunded', ledger };
  if (task.reason === 'poster_cancelled') return { ...task, state: 'cancelled', reason: task.reason, ledger };
  return { ...task, state: 'expired', ledger };
}

function findPayout(task: Task, recipient: PayoutRecipient): Payout {
  const payout = task.payouts.find((candidate) => candidate.recipient === recipient);
  if (!payout) throw new InternalError('Invariant', `evolve: no ${recipient} payout on task ${task.id}`);
  return payout;
}

/** The task with its `recipient` payout, which must be in one of `from`, changed. */
function updatePayout<From extends PayoutState>(
  task: SettledTask,
  event: Extract<TaskEvent, { recipient: PayoutRecipient }>,
  from: readonly From[],
  change: (payout: Extract<Payout, { state: From }>) => Payout,
): SettledTask {
  const payout = findPayout(task, event.recipient);
  if (!(from as readonly PayoutState[]).includes(payout.state)) {
    throw new InternalError(
      'Invariant',
      `evolve: ${event.type} for the ${event.recipient} payout of task ${task.id}, which is ${payout.state}`,
    );
  }
  const changed = change(payout as Extract<Payout, { state: From }>);
  return {
    ...task,
    payouts: task.payouts.map((other) => (other.recipient === event.recipient ? changed : other)),
  };
}
