// What the agent says, read from its events (docs/protocol.md §5, §8): a transition (a task's new state, with its
// details) or a `rejected` label (the refused event, the reason code and the text). Only events that passed
// verification and are signed by the agent's key count; anything else (a look-alike label by another key, a
// malformed one, a heads label) is not an answer. Also: which of the agent's events answers a given event.

import { rejectionSchema } from '../../protocol/agent-schemas.ts';
import { KINDS, REJECTED_LABEL } from '../../protocol/constants.ts';
import {
  isTransitionState,
  type ParsedTransition,
  parseTransition,
} from '../../protocol/parse-transition.ts';
import { readLabel } from '../../protocol/read-label.ts';
import { type NostrEvent, parseLabelled } from '../../protocol/schemas.ts';

export interface TransitionAnswer {
  type: 'transition';
  event: NostrEvent;
  transition: ParsedTransition;
}

export interface RejectedAnswer {
  type: 'rejected';
  event: NostrEvent;
  /** The refused event. */
  replyTo: string;
  /** The task, when the agent knew it. */
  taskId: string | null;
  /** The stable reason code (docs/protocol.md §8), e.g. `OwnTask`. */
  code: string;
  /** The text, `prefix: words`, e.g. `blocked: a poster cannot claim their own task`. */
  reason: string;
}

export type AgentAnswer = TransitionAnswer | RejectedAnswer;

/** The agent's transition or refusal in `event` (already verified), or null when it is neither. */
export function readAgentEvent(event: NostrEvent, agent: string): AgentAnswer | null {
  if (event.pubkey !== agent || event.kind !== KINDS.label) return null;
  const label = readLabel(event);
  if (!label.ok) return null;
  if (label.label === REJECTED_LABEL) {
    const parsed = parseLabelled(rejectionSchema, event);
    if (!parsed.ok) return null;
    return {
      type: 'rejected',
      event,
      replyTo: parsed.value.tags['e:reply'],
      taskId: parsed.value.tags['e:task'] ?? null,
      code: parsed.value.tags.code,
      reason: event.content,
    };
  }
  if (!isTransitionState(label.label)) return null;
  const parsed = parseTransition(event, { agentPubkey: agent });
  return parsed.ok ? { type: 'transition', event, transition: parsed.transition } : null;
}

/**
 * Whether `answer` is the agent's answer to the event `asked`: its refusal (`e:reply`), or the transition it caused
 * (`e:cause`). A listing has no cause tag on its offer (the offer follows the hold invoice, not the listing): its
 * answer is the task's first transition (`offered`, or `cancelled`), whose `e:task` is the listing.
 */
export function answers(answer: AgentAnswer, asked: { id: string; kind: number }): boolean {
  if (answer.type === 'rejected') return answer.replyTo === asked.id;
  const { transition } = answer;
  if (asked.kind === KINDS.listing) return transition.taskId === asked.id && transition.prev === null;
  return transition.cause === asked.id;
}
