// Reputation on the wire (docs/protocol.md, "Private notices and reputation"): one NIP-85 trusted assertion
// (kind 30382, `d` = the pubkey it is about) per pubkey, with counters over the tasks the agent finished, and
// how a finished task's outcome is read from the agent's own signed transitions. The assertions are a cache:
// anyone can recompute every counter from the log (§10) with taskOutcomeFromTransitions and reputationOf.
//
// NIP-85 leaves the result tags to providers and clients, so ours are named after our counters; it allows a
// `p` tag equal to `d`, and NIP-32 lets any event label itself, so the `L`/`l` pair marks the assertion as
// ours (clients find them with `#L` / `#l`). Sources (`e` tags) are capped: see REPUTATION_SOURCES_CAP.
import type { EventTemplate } from 'nostr-tools/pure';
import { z } from 'zod';
import {
  type Reputation,
  type ReputationCounters,
  sortedVerdicts,
  type TaskOutcome,
} from '../domain/reputation.ts';
import type { Hex32 } from '../domain/types.ts';
import { utf8ByteLength } from './bytes.ts';
import { KINDS, LABEL_NAMESPACE, LIMITS } from './constants.ts';
import type { ParsedTransition } from './parse-transition.ts';
import { ProtocolInputError } from './protocol-input-error.ts';
import { readLabel } from './read-label.ts';
import {
  hex64,
  integerString,
  labelTags,
  type NostrEvent,
  oneTag,
  onlyIfValid,
  parseLabelled,
  relayHint,
  tagValue,
  tuple,
  unixSeconds,
} from './schemas.ts';
import type { TransitionOf, VerdictRef } from './transition-types.ts';
import { verifyEvent } from './verify-event.ts';

export {
  type CitedVerdict,
  emptyReputationCounters,
  type Reputation,
  type ReputationCounters,
  reputationOf,
  reputationsAffectedBy,
  type TaskOutcome,
} from '../domain/reputation.ts';

/** The NIP-32 self-label of an assertion, in our namespace: `["l", "reputation", "nostr-escrow/v1"]`. */
export const REPUTATION_LABEL = 'reputation';

/**
 * At most this many sources (`["e", <finalEventId>]`) are listed: the first ones in sorted order, so the same
 * counters always give the same event; `["sources", n]` gives how many tasks were counted in all. The bound
 * that matters is the tag count, not the size: every parser of ours (and the agent's intake) refuses an event
 * with more than LIMITS.tags (100) tags, and an assertion has 16 tags besides its sources. 80 sources keep the
 * event near 6 KB, far under LIMITS.eventBytes (64 KiB). The full list is the agent's log itself.
 */
export const REPUTATION_SOURCES_CAP = 80;

/** Each counter and its tag, in the order the tags appear. */
export const REPUTATION_COUNTER_TAGS = {
  tasksPaidAsWorker: 'tasks_paid_as_worker',
  earnedMsat: 'earned_msat',
  tasksPaidAsPoster: 'tasks_paid_as_poster',
  spentMsat: 'spent_msat',
  tasksRefunded: 'tasks_refunded',
  refundedMsat: 'refunded_msat',
  disputesOpened: 'disputes_opened',
  disputesWon: 'disputes_won',
  disputesLost: 'disputes_lost',
  verdictsGiven: 'verdicts_given',
} as const satisfies Record<keyof ReputationCounters, string>;

/** A parsed assertion: the reputation, with `sources` as listed (at most REPUTATION_SOURCES_CAP of them). */
export interface ReputationAssertion extends Reputation {
  rulesVersion: number;
  /** How many tasks were counted in all (`["sources", n]`); `sources` lists the first ones. */
  sourcesTotal: number;
}

export interface ReputationAssertionInput {
  reputation: Reputation;
  /** The agent's rules version (as in its announcement) the counters were computed under. */
  rulesVersion: number;
  /** Unix seconds: the agent's clock. */
  createdAt: number;
}

// Signing adds "id", "pubkey" and "sig" (285 bytes of JSON).
const SIGNED_FIELDS_BYTES = 285;

/** The unsigned kind 30382 assertion; throws ProtocolInputError rather than build one parseReputationAssertion refuses. */
export function buildReputationAssertion(input: ReputationAssertionInput): EventTemplate {
  const { reputation } = input;
  const createdAt = unixSeconds.safeParse(input.createdAt);
  if (!createdAt.success)
    throw new ProtocolInputError('reputation assertion: createdAt must be unix seconds');
  const sources = [...new Set(reputation.sources)].sort();
  const counters = reputation.counters;
  const template: EventTemplate = {
    kind: KINDS.trustedAssertion,
    created_at: input.createdAt,
    tags: [
      ['d', reputation.pubkey],
      ['p', reputation.pubkey],
      ['L', LABEL_NAMESPACE],
      ['l', REPUTATION_LABEL, LABEL_NAMESPACE],
      ['rules_version', String(input.rulesVersion)],
      ...Object.entries(REPUTATION_COUNTER_TAGS).map(([key, name]) => [
        name,
        String(counters[key as keyof ReputationCounters]),
      ]),
      ['sources', String(sources.length)],
      ...sources.slice(0, REPUTATION_SOURCES_CAP).map((id) => ['e', id]),
    ],
    content: '',
  };
  parseReputationAssertion(template);
  if (utf8ByteLength(JSON.stringify(template)) + SIGNED_FIELDS_BYTES > LIMITS.eventBytes) {
    throw new ProtocolInputError(
      `reputation assertion: must be at most ${LIMITS.eventBytes} bytes once signed`,
    );
  }
  return template;
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;
const countString = integerString(0, Number.MAX_SAFE_INTEGER, 'a count');
/** A sum of msat over many tasks: canonical decimal, not capped at 21 million bitcoin like one amount is. */
const msatTotal = z
  .string({ error: (issue) => (issue.input === undefined ? 'is missing' : 'must be a decimal msat total') })
  .regex(DECIMAL, 'must be a whole number of msat in decimal, without sign or leading zeros')
  .max(30, 'must be at most 30 digits')
  .transform((value) => BigInt(value));

const counterSchemas = {
  tasks_paid_as_worker: tagValue('tasks_paid_as_worker', countString),
  earned_msat: tagValue('earned_msat', msatTotal),
  tasks_paid_as_poster: tagValue('tasks_paid_as_poster', countString),
  spent_msat: tagValue('spent_msat', msatTotal),
  tasks_refunded: tagValue('tasks_refunded', countString),
  refunded_msat: tagValue('refunded_msat', msatTotal),
  disputes_opened: tagValue('disputes_opened', countString),
  disputes_won: tagValue('disputes_won', countString),
  disputes_lost: tagValue('disputes_lost', countString),
  verdicts_given: tagValue('verdicts_given', countString),
} satisfies Record<(typeof REPUTATION_COUNTER_TAGS)[keyof ReputationCounters], z.ZodType>;

const COUNT_TAGS = [
  'tasks_paid_as_worker',
  'tasks_paid_as_poster',
  'tasks_refunded',
  'disputes_opened',
  'disputes_won',
  'disputes_lost',
  'verdicts_given',
] as const;

const assertionSchema = z.object({
  tags: z
    .object({
      d: tagValue('d', hex64),
      // NIP-85: a `p` tag equal to `d`, optionally with a relay hint for the subject.
      p: oneTag(z.tuple([z.literal('p'), hex64, relayHint.optional()]), '["p", <pubkey>] tag'),
      ...labelTags(z.literal(REPUTATION_LABEL)),
      rules_version: tagValue('rules_version', integerString(1, 1_000_000, 'the rules version')),
      ...counterSchemas,
      sources: tagValue('sources', countString),
      e: z.preprocess(
        (value) => value ?? [],
        z
          .array(tuple([z.literal('e'), hex64]).transform((found) => found[1]))
          .max(REPUTATION_SOURCES_CAP, `allows at most ${REPUTATION_SOURCES_CAP} ["e", <event id>] tags`)
          .refine((ids) => ids.every((id, index) => index === 0 || ids[index - 1]! < id), {
            message: 'must list the sources sorted, each once',
            ...onlyIfValid,
          }),
      ),
    })
    .refine((tags) => tags.p[1] === tags.d, {
      message: 'must name the pubkey of the d tag',
      path: ['p'],
      ...onlyIfValid,
    })
    .refine((tags) => tags.e.length === Math.min(tags.sources, REPUTATION_SOURCES_CAP), {
      message: `must list min(sources, ${REPUTATION_SOURCES_CAP}) ["e", <event id>] tags`,
      path: ['e'],
      ...onlyIfValid,
    })
    .refine((tags) => COUNT_TAGS.every((name) => tags[name] <= tags.sources), {
      message: 'must be at least every count (a task counts at most once in each)',
      path: ['sources'],
      ...onlyIfValid,
    })
    .refine(
      (tags) =>
        (tags.tasks_paid_as_worker === 0) === (tags.earned_msat === 0n) &&
        (tags.tasks_paid_as_poster === 0) === (tags.spent_msat === 0n),
      {
        message: 'must be 0 exactly when its count is 0',
        path: ['earned_msat'],
        ...onlyIfValid,
      },
    ),
  content: z.literal('', { error: 'must be empty' }),
});

/**
 * Reads an assertion back (the signed event, or a template). Strict: canonical integers, lowercase hex, each
 * tag of ours exactly as often as allowed (other tags, such as `client` or `alt`, are ignored). Throws
 * ProtocolInputError naming what is wrong. Checking the signature and the author is the caller's job
 * (verifyEvent, and the agent's key from its announcement).
 */
export function parseReputationAssertion(
  event: Pick<NostrEvent, 'kind' | 'tags' | 'content'>,
): ReputationAssertion {
  if (event.kind !== KINDS.trustedAssertion) {
    throw new ProtocolInputError(
      `reputation assertion: invalid: kind ${event.kind} is not a NIP-85 user assertion (${KINDS.trustedAssertion})`,
    );
  }
  const parsed = parseLabelled(assertionSchema, event);
  if (!parsed.ok) throw new ProtocolInputError(`reputation assertion: invalid: ${parsed.text}`);
  const { tags } = parsed.value;
  return {
    pubkey: tags.d,
    counters: {
      tasksPaidAsWorker: tags.tasks_paid_as_worker,
      earnedMsat: tags.earned_msat,
      tasksPaidAsPoster: tags.tasks_paid_as_poster,
      spentMsat: tags.spent_msat,
      tasksRefunded: tags.tasks_refunded,
      refundedMsat: tags.refunded_msat,
      disputesOpened: tags.disputes_opened,
      disputesWon: tags.disputes_won,
      disputesLost: tags.disputes_lost,
      verdictsGiven: tags.verdicts_given,
    },
    sources: tags.e,
    rulesVersion: tags.rules_version,
    sourcesTotal: tags.sources,
  };
}

// ------------------------------------------------------------------ outcomes from the agent's own log

/** What taskOutcomeFromTransitions may check besides the transitions themselves (nothing is required). */
export interface TaskOutcomeEvidence {
  /**
   * Action events by id (from the relays). When given, the events the log names for a dispute must all be in it
   * and hold: the `dispute` that caused `disputed` (its `e:cause`), signed by the party `opened_by` names, and
   * every verdict a transition cites, signed by the arbitrator the citation names; each verified (id and
   * signature), a label of that action, about this task.
   */
  actionsById?: ReadonlyMap<string, NostrEvent>;
}

/**
 * The outcome of one task from its verified transitions (verifyTaskHistory's `chain`, in order), or null
 * when the task is not finished with money moved (not yet `paid` or `refunded`; `cancelled` and `expired`
 * tasks received nothing and count for no one). Everything comes from the agent's transitions: the amounts
 * from the final one, who opened a dispute from `disputed`'s `opened_by`, and the verdicts from the
 * `["e", <verdict id>, <relay or "">, "verdict" | "dissent", <arbitrator>]` citations of the transitions after
 * it (agreeing or dissenting, a verdict was given), one per arbitrator named in the offer. Throws
 * ProtocolInputError when the transitions are not one task's, when the log contradicts itself (two endings, two
 * verdicts of one arbitrator), or when evidence is given and does not hold.
 */
export function taskOutcomeFromTransitions(
  transitions: readonly ParsedTransition[],
  evidence: TaskOutcomeEvidence = {},
): TaskOutcome | null {
  const first = transitions[0];
  if (first === undefined) return null;
  const taskId = first.taskId;
  if (transitions.some((transition) => transition.taskId !== taskId)) {
    throw new ProtocolInputError('task outcome: the transitions are not all of one task');
  }
  const endings = transitions.filter(
    (transition): transition is ParsedTransition & TransitionOf<'paid' | 'refunded'> =>
      transition.state === 'paid' || transition.state === 'refunded',
  );
  const final = endings[0];
  if (final === undefined) return null;
  if (endings.length > 1) throw new ProtocolInputError(`task outcome: task ${taskId} ends more than once`);

  const worker = [...transitions].reverse().find((transition) => transition.worker !== null)?.worker ?? null;
  const amounts =
    final.state === 'paid'
      ? {
          paidToWorkerMsat: payoutTo(final, 'worker'),
          paidToPosterMsat: payoutTo(final, 'poster'),
          refundedMsat: 0n,
        }
      : { paidToWorkerMsat: 0n, paidToPosterMsat: 0n, refundedMsat: final.details.amountMsat };
  return {
    taskId,
    finalEventId: final.eventId,
    ending: final.state,
    poster: final.poster,
    worker,
    ...amounts,
    dispute: disputeOf(transitions, taskId, evidence),
  };
}

function payoutTo(paid: TransitionOf<'paid'>, recipient: 'worker' | 'poster'): bigint {
  return paid.details.payouts
    .filter((payout) => payout.recipient === recipient)
    .reduce((sum, payout) => sum + payout.amountMsat, 0n);
}

/**
 * The verdicts a transition cites: those that end a dispute (`settling`, `refunding`) or act on money in custody
 * (whatever transition the verdict causes): any transition whose details carry `verdicts`.
 */
function citedBy(transition: ParsedTransition): readonly VerdictRef[] {
  return 'verdicts' in transition.details ? transition.details.verdicts : [];
}

function disputeOf(
  transitions: readonly ParsedTransition[],
  taskId: Hex32,
  evidence: TaskOutcomeEvidence,
): TaskOutcome['dispute'] {
  const at = transitions.findIndex((transition) => transition.state === 'disputed');
  if (at < 0) return null;
  const disputed = transitions[at] as ParsedTransition & TransitionOf<'disputed'>;
  const openedBy = disputed.details.openedBy === 'poster' ? disputed.poster : disputed.worker;
  if (openedBy === null) {
    throw new ProtocolInputError(`task outcome: transition ${disputed.eventId} names no worker`);
  }
  // The arbitrators the offer committed to (the `disputed` transition repeats them).
  const offered = transitions.find(
    (transition): transition is ParsedTransition & TransitionOf<'offered'> => transition.state === 'offered',
  );
  const named = offered?.details.arbitration.arbitrators ?? disputed.details.arbitrators;

  const byArbitrator = new Map<Hex32, Hex32>();
  for (const transition of transitions.slice(at + 1)) {
    for (const ref of citedBy(transition)) {
      if (!named.includes(ref.by)) continue;
      const known = byArbitrator.get(ref.by);
      if (known !== undefined && known !== ref.eventId) {
        throw new ProtocolInputError(
          `task outcome: task ${taskId} cites two verdicts of arbitrator ${ref.by} (${known} and ${ref.eventId})`,
        );
      }
      byArbitrator.set(ref.by, ref.eventId);
    }
  }
  const verdicts = sortedVerdicts(byArbitrator);

  if (evidence.actionsById !== undefined) {
    checkAction(disputed.cause!, 'dispute', openedBy, taskId, evidence.actionsById);
    for (const verdict of verdicts) {
      checkAction(verdict.eventId, 'verdict', verdict.by, taskId, evidence.actionsById);
    }
  }
  return { openedBy, verdicts };
}

/** The action `id` is in `actionsById`, genuine, a `label` action about this task, and signed by `author`. */
function checkAction(
  id: Hex32,
  label: 'dispute' | 'verdict',
  author: Hex32,
  taskId: Hex32,
  actionsById: ReadonlyMap<string, NostrEvent>,
): void {
  const event = actionsById.get(id);
  if (event === undefined) {
    throw new ProtocolInputError(`task outcome: the ${label} event ${id} was not given (actionsById)`);
  }
  const verified =
    event.id === id
      ? verifyEvent(event)
      : { ok: false as const, reason: 'invalid: actionsById holds another event under this id' };
  if (!verified.ok) throw new ProtocolInputError(`task outcome: ${label} ${id}: ${verified.reason}`);
  const read = readLabel(event);
  if (!read.ok || read.label !== label) {
    throw new ProtocolInputError(`task outcome: event ${id} is not a ${label} action`);
  }
  if (!event.tags.some((tag) => tag[0] === 'e' && tag[1] === taskId && tag[3] === 'task')) {
    throw new ProtocolInputError(`task outcome: ${label} ${id} is not about task ${taskId}`);
  }
  if (event.pubkey !== author) {
    throw new ProtocolInputError(
      `task outcome: ${label} ${id} is signed by ${event.pubkey}, not by ${author} as the log says`,
    );
  }
}
