// The agent's chain heads on the wire: a kind 1985 label `heads` in our namespace, signed by the agent, that names
// the last transition of each task whose chain grew since the previous heads event, and how many transitions that
// chain holds. The heads events chain among themselves (`e:prev`) and carry the number of transitions the agent has
// published in all (`count`), so a history that lost a transition, lost a task's tail or grew a fork can be told
// from relay data alone: checkAgainstHeads compares a copy of the transitions with what the heads say.
//
//   ["L", "nostr-escrow/v1"], ["l", "heads", "nostr-escrow/v1"],
//   ["count", <transitions published in all, over every task>],
//   ["head", <task id>, <id of the task's last transition>, <its number of transitions>]   (1..80, by task id)
//   ["e", <previous heads event id>, "", "prev"]                                             (absent on the first)
//
// `count` is the sum, over every task, of the number of transitions the latest heads event naming that task gave it:
// the running total after this event. Content is empty. A heads label is never input: the agent drops it from
// anyone, as it drops transitions (AGENT_ONLY_LABELS).
import type { EventTemplate } from 'nostr-tools/pure';
import { z } from 'zod';
import type { Hex32 } from '../domain/types.ts';
import { utf8ByteLength } from './bytes.ts';
import { HEADS_LABEL, KINDS, LABEL_NAMESPACE, LIMITS } from './constants.ts';
import { isTransitionState } from './parse-transition.ts';
import { ProtocolInputError } from './protocol-input-error.ts';
import { readLabel } from './read-label.ts';
import {
  hex64,
  integerString,
  labelTags,
  markedEventTag,
  type NostrEvent,
  onlyIfValid,
  optionalTag,
  parseLabelled,
  tagValue,
  tuple,
  unixSeconds,
} from './schemas.ts';
import { verifyEvent } from './verify-event.ts';

/**
 * At most this many `head` tags in one heads event; more changed tasks make several events, chained. Every parser
 * of ours refuses an event with more than LIMITS.tags (100) tags, and a heads event has 4 besides its heads; 80
 * heads keep it near 12 KB, far under LIMITS.eventBytes.
 */
export const HEADS_PER_EVENT = 80;

/** One task's chain head: its last transition and how many transitions its chain holds, that one included. */
export interface ChainHead {
  taskId: Hex32;
  eventId: Hex32;
  length: number;
}

export interface HeadsInput {
  /** Transitions the agent has published in all, this event's heads included. */
  count: number;
  /** 1..HEADS_PER_EVENT heads, one per task (any order: the event lists them by task id). */
  heads: readonly ChainHead[];
  /** The id of the previous heads event, or null for the first. */
  prev: Hex32 | null;
  /** Unix seconds: the agent's clock. */
  createdAt: number;
}

/** A heads event read back. */
export interface ParsedHeads {
  count: number;
  /** By task id. */
  heads: ChainHead[];
  prev: Hex32 | null;
}

/** A verified heads event of the agent, read back. */
export interface HeadsEvent extends ParsedHeads {
  eventId: Hex32;
  createdAt: number;
}

// Signing adds "id", "pubkey" and "sig" (285 bytes of JSON).
const SIGNED_FIELDS_BYTES = 285;

/** The unsigned heads label; throws ProtocolInputError rather than build one parseHeads refuses. */
export function buildHeads(input: HeadsInput): EventTemplate {
  if (!unixSeconds.safeParse(input.createdAt).success)
    throw new ProtocolInputError('heads: createdAt must be unix seconds');
  const heads = [...input.heads].sort((a, b) => compare(a.taskId, b.taskId));
  const template: EventTemplate = {
    kind: KINDS.label,
    created_at: input.createdAt,
    tags: [
      ['L', LABEL_NAMESPACE],
      ['l', HEADS_LABEL, LABEL_NAMESPACE],
      ['count', String(input.count)],
      ...heads.map((head) => ['head', head.taskId, head.eventId, String(head.length)]),
      ...(input.prev === null ? [] : [['e', input.prev, '', 'prev']]),
    ],
    content: '',
  };
  parseHeads(template);
  if (utf8ByteLength(JSON.stringify(template)) + SIGNED_FIELDS_BYTES > LIMITS.eventBytes) {
    throw new ProtocolInputError(`heads: must be at most ${LIMITS.eventBytes} bytes once signed`);
  }
  return template;
}

const countString = integerString(1, Number.MAX_SAFE_INTEGER, 'a number of transitions');

const headsSchema = z.object({
  tags: z
    .object({
      ...labelTags(z.literal(HEADS_LABEL)),
      count: tagValue('count', countString),
      head: z.preprocess(
        (value) => value ?? [],
        z
          .array(
            tuple([z.literal('head'), hex64, hex64, countString]).transform(
              ([, taskId, eventId, length]): ChainHead => ({ taskId, eventId, length }),
            ),
          )
          .min(1, 'needs at least one ["head", <task id>, <event id>, <transitions>] tag')
          .max(HEADS_PER_EVENT, `allows at most ${HEADS_PER_EVENT} ["head", …] tags`)
          .refine(
            (heads) => heads.every((head, index) => index === 0 || heads[index - 1]!.taskId < head.taskId),
            {
              message: 'must list the heads by task id, each task once',
              ...onlyIfValid,
            },
          ),
      ),
      'e:prev': optionalTag(markedEventTag('prev'), 'e tag marked "prev" (the previous heads event)'),
    })
    .refine((tags) => tags.head.reduce((sum, head) => sum + head.length, 0) <= tags.count, {
      message: "must be at least the sum of the heads' transitions",
      path: ['count'],
      ...onlyIfValid,
    }),
  content: z.literal('', { error: 'must be empty' }),
});

/**
 * Reads a heads label back (the signed event, or a template). Strict: canonical integers, lowercase hex, each tag
 * of ours exactly as often as allowed (others are ignored). Throws ProtocolInputError naming what is wrong. The
 * signature and the author are the caller's to check (chainHeads does both).
 */
export function parseHeads(event: Pick<NostrEvent, 'kind' | 'tags' | 'content'>): ParsedHeads {
  const label = readLabel(event);
  if (!label.ok) throw new ProtocolInputError(`heads: invalid: ${label.text}`);
  if (label.label !== HEADS_LABEL)
    throw new ProtocolInputError(`heads: invalid: "${label.label}" is not the heads label`);
  const parsed = parseLabelled(headsSchema, event);
  if (!parsed.ok) throw new ProtocolInputError(`heads: invalid: ${parsed.text}`);
  const { tags } = parsed.value;
  return { count: tags.count, heads: tags.head, prev: tags['e:prev'] ?? null };
}

/** Whether an event is a heads label of ours (by its label only: parseHeads judges the rest). */
export function isHeadsEvent(event: Pick<NostrEvent, 'kind' | 'tags'>): boolean {
  const label = readLabel(event);
  return label.ok && label.label === HEADS_LABEL;
}

export interface HeadsChain {
  /** The agent's heads events from the first (no prev) along the prev links. */
  chain: HeadsEvent[];
  /** What breaks the chain: a fork, a heads event whose prev is missing, a count that goes down, a malformed one. */
  problems: string[];
  /** Events that are not the agent's (a bad id or signature, another author): noise anyone can publish. */
  ignored: number;
}

/**
 * Verifies the agent's heads events (id, signature, author, strict shape) and orders them along their prev links.
 * Every event must chain: exactly one first event, no two naming the same prev, no prev that is not among them,
 * and `count` never going down.
 */
export function chainHeads(events: readonly NostrEvent[], options: { agentPubkey: Hex32 }): HeadsChain {
  const problems: string[] = [];
  let ignored = 0;
  const byId = new Map<string, HeadsEvent>();
  for (const event of events) {
    if (!isHeadsEvent(event) || byId.has(event.id)) continue;
    if (event.pubkey !== options.agentPubkey || !verifyEvent(event).ok) {
      ignored += 1;
      continue;
    }
    try {
      byId.set(event.id, { ...parseHeads(event), eventId: event.id, createdAt: event.created_at });
    } catch (error) {
      problems.push(`heads event ${event.id}: ${(error as Error).message}`);
    }
  }
  const next = new Map<string | null, HeadsEvent[]>();
  for (const heads of byId.values()) {
    if (heads.prev !== null && !byId.has(heads.prev))
      problems.push(`heads event ${heads.eventId}: its prev ${heads.prev} is missing`);
    next.set(heads.prev, [...(next.get(heads.prev) ?? []), heads]);
  }
  for (const [prev, children] of next) {
    if (children.length > 1)
      problems.push(
        `${children.length} heads events name ${prev === null ? 'no prev (two firsts)' : `the prev ${prev}`}: a fork`,
      );
  }
  const chain: HeadsEvent[] = [];
  let at = next.get(null)?.[0];
  while (at !== undefined && chain.length < byId.size) {
    const previous = chain.at(-1);
    if (previous && at.count < previous.count)
      problems.push(`heads event ${at.eventId}: count ${at.count} is less than ${previous.count} before it`);
    chain.push(at);
    at = next.get(at.eventId)?.[0];
  }
  if (chain.length < byId.size)
    problems.push(`${byId.size - chain.length} heads event(s) are not on the chain from the first one`);
  return { chain, problems, ignored };
}

/** Each task's latest head over the heads events (the one with the most transitions: a chain only grows). */
export function latestHeads(heads: readonly ParsedHeads[]): Map<Hex32, ChainHead> {
  const latest = new Map<Hex32, ChainHead>();
  for (const event of heads) {
    for (const head of event.heads) {
      const known = latest.get(head.taskId);
      if (!known || head.length > known.length) latest.set(head.taskId, head);
    }
  }
  return latest;
}

export type HeadMismatchProblem =
  /** No transition of the task, or not the one the heads name as its last at that length. */
  | 'missing_head'
  /** Walking back from the named head, a transition's prev is missing: one in the middle is gone. */
  | 'broken_chain'
  /** The walk back reaches the first transition after another number of transitions than the heads say. */
  | 'length'
  /** Two transitions of the task name the same prev, or two have none. */
  | 'fork';

export interface HeadMismatch {
  taskId: Hex32;
  problem: HeadMismatchProblem;
  /** What the heads say: the task's last transition and how many transitions its chain held then. */
  expected: { eventId: Hex32; length: number };
  /** What the transitions hold: their number, and the chain's ends (transitions nothing names as prev). */
  found: { transitions: number; tips: Hex32[] };
}

/**
 * Compares a copy of the agent's transitions (verified kind 1985 events of its key; other labels are skipped) with
 * its heads (parseHeads or chainHeads, any order): for every task the heads name, the named transition must be
 * there, its chain must walk back to the first transition in exactly the named number of steps, and the task may
 * not fork. Transitions published after the last heads event may follow the named head. Returns the tasks that
 * differ, by task id; an empty list when the copy holds everything the heads vouch for.
 */
export function checkAgainstHeads(
  heads: readonly ParsedHeads[],
  transitions: readonly Pick<NostrEvent, 'id' | 'kind' | 'tags'>[],
): HeadMismatch[] {
  const byTask = new Map<string, Map<string, string | null>>();
  for (const event of transitions) {
    const label = readLabel(event);
    if (!label.ok || !isTransitionState(label.label)) continue;
    const taskId = markedId(event.tags, 'task');
    if (taskId === null) continue;
    const chain = byTask.get(taskId) ?? new Map<string, string | null>();
    chain.set(event.id, markedId(event.tags, 'prev'));
    byTask.set(taskId, chain);
  }
  const mismatches: HeadMismatch[] = [];
  for (const head of [...latestHeads(heads).values()].sort((a, b) => compare(a.taskId, b.taskId))) {
    const chain = byTask.get(head.taskId) ?? new Map<string, string | null>();
    const named = new Set([...chain.values()]);
    const tips = [...chain.keys()].filter((id) => !named.has(id)).sort();
    const found = { transitions: chain.size, tips };
    const report = (problem: HeadMismatchProblem) =>
      mismatches.push({
        taskId: head.taskId,
        problem,
        expected: { eventId: head.eventId, length: head.length },
        found,
      });
    if (!chain.has(head.eventId)) {
      report('missing_head');
      continue;
    }
    let steps = 0;
    let at: string | null = head.eventId;
    while (at !== null && chain.has(at) && steps <= chain.size) {
      steps += 1;
      at = chain.get(at) ?? null;
    }
    if (at !== null) {
      report('broken_chain');
      continue;
    }
    if (steps !== head.length) {
      report('length');
      continue;
    }
    const prevs = [...chain.values()];
    if (new Set(prevs).size !== prevs.length) report('fork');
  }
  return mismatches;
}

/** The id of the task's `["e", <id>, <relay>, <marker>]` tag, or null. */
function markedId(tags: readonly string[][], marker: 'task' | 'prev'): string | null {
  return tags.find((tag) => tag[0] === 'e' && tag[3] === marker)?.[1] ?? null;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
