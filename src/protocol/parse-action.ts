// A verified kind 1985 action event -> the domain Command it asks for (docs/protocol.md, "Actions").
// Authorisation (is this the poster? an arbitrator?) is the decider's job; this only checks the event says
// one well-formed thing.
import type { z } from 'zod';
import type { Command, Hex32 } from '../domain/types.ts';
import { type ActionName, AGENT_ONLY_LABELS } from './constants.ts';
import { isTransitionState } from './parse-transition.ts';
import { readLabel } from './read-label.ts';
import { type IntakeFailure, intakeFailure } from './reasons.ts';
import { actionSchemas, isActionName, type NostrEvent, parseLabelled } from './schemas.ts';

export interface ParsedAction {
  name: ActionName;
  /** The listing's event id, from the ["e", …, "task"] tag. */
  taskId: Hex32;
  command: Extract<Command, { by: Hex32 }>;
}

export type ParseActionResult = { ok: true; action: ParsedAction } | IntakeFailure;

/**
 * `event` must have passed verifyEvent: `by` is its pubkey. A failure with code NotForThisAgent must not be
 * answered (the event does not tag this agent); the others are answered with a `rejected` label.
 */
export function parseAction(event: NostrEvent, options: { agentPubkey: Hex32 }): ParseActionResult {
  if (!event.tags.some((tag) => tag[0] === 'p' && tag[1] === options.agentPubkey)) {
    return intakeFailure('NotForThisAgent', 'the event does not tag this agent');
  }
  const label = readLabel(event);
  if (!label.ok) return intakeFailure('MalformedAction', label.text);
  const name = label.label;
  if (!isActionName(name)) {
    const signedOnly = isTransitionState(name) || AGENT_ONLY_LABELS.includes(name);
    return intakeFailure(
      'UnknownAction',
      signedOnly ? `"${name}" labels are published by the agent only` : `unknown action "${name}"`,
    );
  }
  return convert(name, event);
}

type ActionValue<N extends ActionName> = z.output<(typeof actionSchemas)[N]>;
type Converters = { [N in ActionName]: (value: ActionValue<N>, by: Hex32) => ParsedAction['command'] };

const toCommand: Converters = {
  claim: (_, by) => ({ type: 'claim', by }),
  submit: ({ tags }, by) => ({ type: 'submit', by, payoutInvoice: tags.bolt11 ?? null }),
  approve: (_, by) => ({ type: 'approve', by }),
  cancel: (_, by) => ({ type: 'cancel', by }),
  dispute: ({ content }, by) => ({ type: 'dispute', by, reason: content.trim() }),
  verdict: ({ tags }, by) =>
    tags.outcome === 'split'
      ? { type: 'verdict', by, outcome: 'split', workerShareBps: tags.share_bps ?? 0 }
      : { type: 'verdict', by, outcome: tags.outcome },
  payout_invoice: ({ tags }, by) =>
    tags.lud16 !== undefined
      ? { type: 'payout_address', by, recipient: tags.recipient, address: tags.lud16 }
      : { type: 'payout_invoice', by, recipient: tags.recipient, bolt11: tags.bolt11 ?? '' },
};

function convert<N extends ActionName>(name: N, event: NostrEvent): ParseActionResult {
  const parsed = parseLabelled(actionSchemas[name], event);
  if (!parsed.ok) return intakeFailure('MalformedAction', parsed.text);
  // TypeScript cannot follow the generic index through parseLabelled; the schema is actionSchemas[name].
  const value = parsed.value as ActionValue<N>;
  const command = toCommand[name](value, event.pubkey);
  return { ok: true, action: { name, taskId: value.tags['e:task'], command } };
}
