// The router parses an action once and hands each handler a value narrowed to its own command, so no handler
// has to check what it was given.
import type { Command } from '../domain/types.ts';
import type { ActionName } from '../protocol/constants.ts';
import type { ParsedAction } from '../protocol/parse-action.ts';

/** A command an inbound action can ask for (a listing's `post` is not one: it has its own kind). A
 * `payout_invoice` action that gives a Lightning address instead of an invoice is a `payout_address` command. */
export type ActionCommandType = ActionName | 'payout_address';
export type ActionCommand = Extract<Command, { type: ActionCommandType }>;

export type ActionOf<N extends ActionCommandType> = Omit<ParsedAction, 'name' | 'command'> & {
  name: N;
  command: Extract<Command, { type: N }>;
};
