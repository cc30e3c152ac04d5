// A stand-in for the agent's guardian, written against the port only: on every block it cancels each
// ACCEPTED hold whose claim deadline is `safetyBlocks` away or less, so the refund is ours and not the
// node's last-moment fail-back. Used by the conformance suite to show the port gives what a guardian needs.
import type { HoldInvoiceBackend } from '../../src/ldk/port.ts';

export interface DeadlineGuard {
  /** Holds canceled so far, with the height at which the guard acted. */
  readonly canceled: { paymentHash: string; height: number }[];
  stop(): void;
}

export function startDeadlineGuard(backend: HoldInvoiceBackend, safetyBlocks: number): DeadlineGuard {
  const canceled: DeadlineGuard['canceled'] = [];
  let running = Promise.resolve();
  const unsubscribe = backend.subscribe((event) => {
    if (event.type !== 'block') return;
    // One block at a time, in order: a guard that overlapped itself could cancel twice (harmless) or skip.
    running = running.then(async () => {
      for (const hold of await backend.list('ACCEPTED')) {
        if (hold.claimDeadlineHeight === null || event.height < hold.claimDeadlineHeight - safetyBlocks)
          continue;
        await backend.cancel(hold.paymentHash);
        canceled.push({ paymentHash: hold.paymentHash, height: event.height });
      }
    });
  });
  return { canceled, stop: unsubscribe };
}
