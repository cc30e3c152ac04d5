// The durable dedupe: an inbound event is remembered (handled or rejected) in the transaction that acted on it.
import type { StoreTx } from '../store/index.ts';
import type { Cause } from './cause.ts';

/** False when the event was already recorded. */
export async function recordInbound(
  tx: StoreTx,
  cause: Cause,
  status: 'handled' | 'rejected',
  reason: string | null,
) {
  return tx.inbound.record({
    id: cause.event.id,
    pubkey: cause.event.pubkey,
    kind: cause.event.kind,
    createdAt: cause.event.created_at,
    raw: cause.raw,
    status,
    reason,
  });
}
