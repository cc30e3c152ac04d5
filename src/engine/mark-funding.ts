// The funding row follows the hold's end at the node, in the same transaction as the task's transition.
import type { StoreTx } from '../store/index.ts';

export function markFunding(paymentHash: string, to: 'settled' | 'cancelled') {
  return async (tx: StoreTx) => {
    // A funding settles only from accepted; it is cancelled from open (never paid) or accepted.
    await tx.fundings.transition(paymentHash, to === 'settled' ? ['accepted'] : ['open', 'accepted'], to);
  };
}
