// evolve(task, event) -> task: the fold that turns a task's event log into its current record. Pure and
// total over the events decide() emits; the projection in the store is evolve() applied to the audit log.
import { emptyLedger, netPayableMsat, splitShares } from './money.ts';
import type { Ledger, Payout, PayoutRecipient, Resolution, Task, TaskEvent, TaskState } from './types.ts';

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
    case 'offered':
      return {
        ...task,
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
    case 'funded': {
      const funding = task.funding!;
      return {
        ...task,
        // A payment that raced a cancel is recorded, and refunded with the rest.
        state: task.state === 'offered' ? 'funded' : task.state,
        fundedAt: event.at,
        funding: {
          ...funding,
          receivedMsat: event.amountMsat,
          htlcExpiryHeight: event.htlcExpiryHeight,
          claimDeadlineHeight: event.claimDeadlineHeight,
          acceptedAt: event.at,
        },
        ledger: {
          ...task.ledger,
          receivedMsat: event.amountMsat,
          heldMsat: task.ledger.heldMsat + event.amountMsat,
        },
      };
    }
    case 'claimed':
      return { ...task, state: 'claimed', worker: event.worker, claimedAt: event.at };
    case 'submitted':
      return { ...task, state: 'submitted', submittedAt: event.at, workerInvoice: event.payoutInvoice };
    case 'disputed':
      return { ...task, state: 'disputed', disputedAt: event.at, disputedBy: event.by };
    case 'settle_requested':
      return { ...task, state: 'settling', reason: event.reason, resolution: event.resolution };
    case 'refund_requested':
      return { ...task, state: 'refunding', reason: event.reason };
    case 'task_cancelled':
      return { ...task, state: 'cancelled', reason: 'poster_cancelled' };
    case 'hold_settled': {
      const resolution = task.resolution ?? { kind: 'worker' };
      const payouts = payoutsFor(task, resolution);
      const ledger: Ledger = {
        ...task.ledger,
        feeMsat: task.feeMsat,
        heldMsat: task.ledger.heldMsat - task.feeMsat,
      };
      return { ...task, state: stateAfterSettle(resolution, payouts), payouts, ledger };
    }
    case 'hold_cancelled': {
      const ledger: Ledger = {
        ...task.ledger,
        refundedMsat: task.ledger.refundedMsat + task.ledger.heldMsat,
        heldMsat: 0n,
      };
      return { ...task, state: endOfRefund(task), ledger };
    }
    case 'verdict_given': {
      const payouts = payoutsFor(task, event.resolution);
      return {
        ...task,
        resolution: event.resolution,
        payouts,
        state: stateAfterSettle(event.resolution, payouts),
      };
    }
    case 'payout_started':
      return updatePayout(task, event.recipient, (payout) => ({
        ...payout,
        state: 'in_flight',
        bolt11: event.bolt11,
        paymentHash: event.paymentHash,
        attempts: payout.attempts + 1,
      }));
    case 'payout_succeeded': {
      const paid = findPayout(task, event.recipient);
      const withPayout = updatePayout(task, event.recipient, (payout) => ({
        ...payout,
        state: 'succeeded',
        routingFeeMsat: event.routingFeeMsat,
        proofPreimage: event.preimage,
      }));
      const paidField = event.recipient === 'worker' ? 'paidToWorkerMsat' : 'paidToPosterMsat';
      const ledger: Ledger = {
        ...task.ledger,
        heldMsat: task.ledger.heldMsat - paid.amountMsat,
        [paidField]: task.ledger[paidField] + paid.amountMsat,
        routingFeeMsat: task.ledger.routingFeeMsat + event.routingFeeMsat,
      };
      return { ...withPayout, ledger, state: stateAfterPayouts(withPayout) };
    }
    case 'payout_failed': {
      const withPayout = updatePayout(task, event.recipient, (payout) => ({
        ...payout,
        state: event.needsInvoice ? 'needs_invoice' : 'due',
        paymentHash: null,
      }));
      return { ...withPayout, state: stateAfterPayouts(withPayout) };
    }
    case 'payout_invoice_given': {
      const withPayout = updatePayout(task, event.recipient, (payout) => ({
        ...payout,
        state: 'due',
        bolt11: event.bolt11,
        attempts: 0,
      }));
      return { ...withPayout, state: stateAfterPayouts(withPayout) };
    }
    default:
      return assertNever(event);
  }
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
    .map(([recipient, amountMsat]) => {
      const bolt11 = recipient === 'worker' ? task.workerInvoice : null;
      return {
        recipient,
        amountMsat,
        state: bolt11 ? 'due' : 'needs_invoice',
        bolt11,
        paymentHash: null,
        attempts: 0,
        routingFeeMsat: 0n,
        proofPreimage: null,
      };
    });
}

/** Once settled: a plain worker payout is `settled`; anything the agent holds for others is `custody`. */
function stateAfterSettle(resolution: Resolution, payouts: Payout[]): TaskState {
  if (resolution.kind === 'pending_verdict') return 'custody';
  const base: TaskState = resolution.kind === 'worker' ? 'settled' : 'custody';
  return stateFromPayouts(payouts, base);
}

function stateAfterPayouts(task: Task): TaskState {
  const base: TaskState =
    task.resolution === null || task.resolution.kind === 'worker' ? 'settled' : 'custody';
  return stateFromPayouts(task.payouts, base);
}

function stateFromPayouts(payouts: Payout[], base: TaskState): TaskState {
  if (payouts.length > 0 && payouts.every((payout) => payout.state === 'succeeded')) return 'paid';
  if (payouts.some((payout) => payout.state === 'needs_invoice')) return 'payout_pending';
  return base;
}

function endOfRefund(task: Task): TaskState {
  if (task.ledger.receivedMsat > 0n) return 'refunded';
  if (task.reason === 'poster_cancelled') return 'cancelled';
  return 'expired';
}

function findPayout(task: Task, recipient: PayoutRecipient): Payout {
  const payout = task.payouts.find((candidate) => candidate.recipient === recipient);
  if (!payout) throw new Error(`evolve: no ${recipient} payout on task ${task.id}`);
  return payout;
}

function updatePayout(task: Task, recipient: PayoutRecipient, change: (payout: Payout) => Payout): Task {
  findPayout(task, recipient);
  return {
    ...task,
    payouts: task.payouts.map((payout) => (payout.recipient === recipient ? change(payout) : payout)),
  };
}
