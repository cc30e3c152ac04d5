// Actions as people send them (docs/protocol.md, "Actions"): a kind 1985 label in the protocol's namespace that
// names the task and tags the agent. Clients, the demo, the test harness and the example generator build their
// actions here instead of writing tags by hand; every template is checked against the same schema the agent
// parses with, so a client that builds with this module cannot send an action the agent reads differently.
import type { EventTemplate } from 'nostr-tools/pure';
import type { Hex32, PayoutRecipient } from '../domain/types.ts';
import { type ActionName, KINDS, LABEL_NAMESPACE } from './constants.ts';
import { ProtocolInputError } from './protocol-input-error.ts';
import { actionSchemas, parseLabelled } from './schemas.ts';

interface ActionBase {
  /** The task listing's event id. */
  taskId: Hex32;
  /** The agent's pubkey (hex): the agent reads only actions that tag it. */
  agent: Hex32;
  /** Unix seconds; the agent refuses events more than a few minutes in its future. */
  createdAt: number;
  /** A relay where the listing can be found (the `e` tag's third element). */
  relayHint?: string;
}

export type ActionInput = ActionBase &
  (
    | { action: 'claim' | 'approve' | 'cancel'; note?: string }
    /** `delivery`: what was done (a note, a link); `bolt11`: the worker's payout invoice for amount - fee. */
    | { action: 'submit'; delivery: string; bolt11?: string }
    | { action: 'dispute'; reason: string }
    | { action: 'verdict'; outcome: 'worker' | 'poster'; note?: string }
    | { action: 'verdict'; outcome: 'split'; workerShareBps: number; note?: string }
    | { action: 'payout_invoice'; recipient: PayoutRecipient; bolt11: string; note?: string }
  );

/** An ActionInput without some of the shared fields (e.g. a client that fills in `agent` and `createdAt` itself). */
export type ActionInputWithout<K extends keyof ActionBase> = ActionInput extends infer T
  ? T extends unknown
    ? Omit<T, K>
    : never
  : never;

/** The tags every action carries, then `extraTags`, unchecked: for tests and tools that build odd events on purpose. */
export function actionTemplate(input: {
  name: string;
  taskId: string;
  agent: string;
  createdAt: number;
  relayHint?: string;
  extraTags?: string[][];
  content?: string;
}): EventTemplate {
  return {
    kind: KINDS.label,
    created_at: input.createdAt,
    tags: [
      ['L', LABEL_NAMESPACE],
      ['l', input.name, LABEL_NAMESPACE],
      ['e', input.taskId, input.relayHint ?? '', 'task'],
      ['p', input.agent],
      ...(input.extraTags ?? []),
    ],
    content: input.content ?? '',
  };
}

/** The unsigned event of one action, checked as the agent will read it; throws ProtocolInputError if it is not valid. */
export function buildAction(input: ActionInput): EventTemplate {
  const { extraTags, content } = bodyOf(input);
  const template = actionTemplate({
    name: input.action,
    taskId: input.taskId,
    agent: input.agent,
    createdAt: input.createdAt,
    extraTags,
    content,
    ...(input.relayHint !== undefined ? { relayHint: input.relayHint } : {}),
  });
  const checked = parseLabelled(actionSchemas[input.action as ActionName], template);
  if (!checked.ok) throw new ProtocolInputError(`${input.action}: ${checked.text}`);
  return template;
}

function bodyOf(input: ActionInput): { extraTags: string[][]; content: string } {
  switch (input.action) {
    case 'claim':
    case 'approve':
    case 'cancel':
      return { extraTags: [], content: input.note ?? '' };
    case 'submit':
      return { extraTags: input.bolt11 ? [['bolt11', input.bolt11]] : [], content: input.delivery };
    case 'dispute':
      return { extraTags: [], content: input.reason };
    case 'verdict':
      return {
        extraTags:
          input.outcome === 'split'
            ? [
                ['outcome', 'split'],
                ['share_bps', String(input.workerShareBps)],
              ]
            : [['outcome', input.outcome]],
        content: input.note ?? '',
      };
    case 'payout_invoice':
      return {
        extraTags: [
          ['bolt11', input.bolt11],
          ['recipient', input.recipient],
        ],
        content: input.note ?? '',
      };
    default:
      return assertNever(input);
  }
}

function assertNever(value: never): never {
  throw new ProtocolInputError(`unknown action ${JSON.stringify((value as { action?: unknown }).action)}`);
}
