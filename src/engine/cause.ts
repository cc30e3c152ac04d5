// What asked for a command: the verified inbound event, with its raw JSON as received.
import type { NostrEvent } from '../protocol/schemas.ts';

/** The verified inbound event that asked for the command, with its raw JSON as received. */
export interface Cause {
  event: NostrEvent;
  raw: string;
}
