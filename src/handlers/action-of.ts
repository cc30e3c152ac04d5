// The router parses an action once and hands each handler a value narrowed to its own command, so no handler
// has to check what it was given.
import type { Command } from '../domain/types.ts';
import type { ActionName } from '../protocol/constants.ts';
import type { ParsedAction } from '../protocol/parse-action.ts';

/** A command an inbound action can ask for (a listing's `post` is not one: it has its own kind). */
export type ActionCommand = Extract<Command, { type: ActionName }>;

export type ActionOf<N extends ActionName> = Omit<ParsedAction, 'name' | 'command'> & {
  name: N;
  command: Extract<Command, { type: N }>;
};
