// The closed sets of values of the store's own text columns. One list serves the schema's CHECK constraints
// (both dialects), the row decoders and the port's types, so they cannot drift apart.
import { type SQL, sql } from 'drizzle-orm';

export const FUNDING_STATES = ['open', 'accepted', 'settled', 'cancelled'] as const;
export const PAYOUT_STATES = ['in_flight', 'succeeded', 'failed'] as const;
/** The payout states that count as "paying": at most one payout per task and recipient may be in them. */
export const LIVE_PAYOUT_STATES = ['in_flight', 'succeeded'] as const;
export const PAYOUT_RECIPIENTS = ['worker', 'poster'] as const;
export const INBOUND_STATUSES = ['handled', 'rejected'] as const;
export const DELIVERY_STATUSES = ['pending', 'ok', 'failed'] as const;
/** The keys whose fingerprint the database records on first use (key_fingerprints.name). */
export const KEY_NAMES = ['preimage', 'agent'] as const;
/** The task states nothing leaves (the domain's TERMINAL_STATES; the contract suite checks they agree). A task
 * in any other state holds its listing's address (poster, d): an edited listing cannot become a second task. */
export const FINISHED_TASK_STATES = ['paid', 'refunded', 'cancelled', 'expired'] as const;

/** A task that holds its listing's address: its `d` is known and it is not finished (for a partial index). */
export function holdsListingAddress(): SQL {
  const finished = FINISHED_TASK_STATES.map((state) => `'${state}'`).join(', ');
  return sql.raw(`"listing_d" IS NOT NULL AND "state" NOT IN (${finished})`);
}

/** `"column" IN ('a', 'b')` as literal SQL, for CHECK constraints and partial indexes (no parameters there). */
export function columnIn(column: string, values: readonly string[]): SQL {
  return sql.raw(`"${column}" IN (${values.map((value) => `'${value}'`).join(', ')})`);
}

/** A published head that no heads event has named yet, at its length (for a partial index, and the queries on it). */
export function unannouncedHead(): SQL {
  return sql.raw(`"length" IS NULL OR "length" <> "announced_length"`);
}
