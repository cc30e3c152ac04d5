// The intake pipeline. Its order is load-bearing (docs/protocol.md, "Intake"), and pinned by
// test/agent/intake.test.ts:
//   size -> strict JSON -> own pubkey -> known id (memory, then store) -> shape (zod) -> id + signature
//   -> input screen -> rate gate -> freshness -> router.
// An event claiming the agent's own pubkey is dropped first thing: it is an echo of what the agent published or
// a forgery of one, and neither is input (answering it would make the agent talk to itself).
// A known id is dropped before verification: the id fixes the event's bytes, so a copy is the same event or a
// forgery of it, and the same event was handled already. Only ids that were verified AND recorded are known
// (the in-memory set is filled from handled or refused outcomes and from the store, which records verified events
// only): recording the id of a copy that failed verification would let a forged copy censor the genuine event.
// Only a person's input is ever answered (screenInput): never the agent's events, never a transition or rejection
// label, and nothing that failed before verification (its author could be forged). Every event is counted once by
// outcome, and every refusal once per distinct event and code.

import { verifySchnorr } from '../crypto/schnorr.ts';
import { isHex, isHex32 } from '../domain/hex.ts';
import type { Cause } from '../engine/cause.ts';
import type { AgentContext } from '../engine/context.ts';
import type { IntakeOutcome } from '../engine/outcome.ts';
import { refuse } from '../engine/refuse.ts';
import { LogLimiter } from '../nostr/log-limiter.ts';
import { type PoolLogger, silentLogger } from '../nostr/pool-types.ts';
import { utf8ByteLength } from '../protocol/bytes.ts';
import { LIMITS } from '../protocol/constants.ts';
import { type IntakeReasonCode, intakeFailure } from '../protocol/reasons.ts';
import { parseEvent } from '../protocol/schemas.ts';
import { parseStrictJson } from '../protocol/strict-json.ts';
import { checkFreshness, verifyEvent } from '../protocol/verify-event.ts';
import type { Preverifier } from './preverify.ts';
import type { RateGate } from './rate-gate.ts';
import { routeEvent, screenInput } from './router.ts';
import { BoundedSet } from './seen-ids.ts';

/** What the intake remembers between events: ids known handled, and the per-relay budget of debug lines. */
export interface IntakeMemory {
  /** Ids of events that were verified and recorded (least recently used forgotten first). */
  seen: BoundedSet;
  /** Debug lines about dropped and refused events, limited per relay and code. */
  logs: LogLimiter;
  /** Signatures of waiting events checked ahead on other cores (set by runAgent when it has worker threads). */
  ahead?: Preverifier | null;
}

/** `log` is where the limited debug lines go (the relay pool's limiter, shared with NOTICE/CLOSED floods). */
export function createIntakeMemory(
  options: { log?: PoolLogger; seenCapacity?: number; logBurst?: number; logWindowMs?: number } = {},
): IntakeMemory {
  return {
    seen: new BoundedSet(options.seenCapacity ?? 50_000),
    logs: new LogLimiter(options.log ?? silentLogger, {
      perWindow: options.logBurst ?? 20,
      windowMs: options.logWindowMs ?? 60_000,
    }),
  };
}

// One memory per store: the set mirrors what that store recorded, so every intake on one store may share it.
const memories = new WeakMap<object, IntakeMemory>();

/** The intake memory of the agent's store (created on first use). */
export function intakeMemoryOf(ctx: Pick<AgentContext, 'store' | 'log'>): IntakeMemory {
  let memory = memories.get(ctx.store);
  if (!memory) {
    memory = createIntakeMemory({ log: ctx.log });
    memories.set(ctx.store, memory);
  }
  return memory;
}

/** What the event says it is before it is verified (`verified` once it is). */
interface Claimed {
  id: string | null;
  pubkey: string | null;
  sig: string | null;
  verified: boolean;
}

type Admitted = {
  outcome: IntakeOutcome;
  count: 'handled' | 'refused' | 'dropped' | 'duplicate' | 'own_event';
};

export async function intakeEvent(
  ctx: AgentContext,
  gate: RateGate,
  received: unknown,
  relay: string,
  memory: IntakeMemory = intakeMemoryOf(ctx),
): Promise<IntakeOutcome> {
  const claimed: Claimed = { id: null, pubkey: null, sig: null, verified: false };
  const { outcome, count } = await admit(ctx, gate, received, relay, memory, claimed);
  ctx.metrics.inboundEvents.inc({ outcome: count });
  if (outcome.status === 'dropped' && count === 'dropped' && outcome.code !== 'HandlerFailed') {
    // Refusals are counted where they are recorded (engine/refuse.ts); drops here. Once per distinct event:
    // a verified event by its id, an unverified one by its claimed id and signature (null: always counted).
    const key = claimed.verified
      ? claimed.id
      : claimed.id && claimed.sig
        ? `${claimed.id}:${claimed.sig}`
        : null;
    ctx.metrics.countRejection(outcome.code, key);
  }
  if (outcome.status !== 'handled') logOutcome(memory, relay, claimed, outcome);
  return outcome;
}

async function admit(
  ctx: AgentContext,
  gate: RateGate,
  received: unknown,
  relay: string,
  memory: IntakeMemory,
  claimed: Claimed,
): Promise<Admitted> {
  // A fresh serialisation: nothing cached on the relay client's object (such as a "verified" flag) survives it.
  const raw = typeof received === 'string' ? received : JSON.stringify(received);
  // Size before any parsing, then strict JSON. The string's length bounds its UTF-8 size from below, and three
  // times the length from above (one UTF-16 unit is at most 3 bytes): only a text between the two is encoded.
  const bytesAtMost = raw.length * 3;
  if (
    raw.length > LIMITS.eventBytes ||
    (bytesAtMost > LIMITS.eventBytes && utf8ByteLength(raw) > LIMITS.eventBytes)
  ) {
    return dropped(intakeFailure('TooLarge', `event is larger than ${LIMITS.eventBytes} bytes`));
  }
  const json = parseStrictJson(raw);
  if (!json.ok) return dropped(json);
  peek(json.value, claimed);

  // The agent's own pubkey: ours or a forgery of ours; neither is input, and none is verified or answered.
  if (claimed.pubkey === ctx.identity.pubkey) {
    return {
      outcome: { status: 'dropped', code: 'OwnEvent', reason: "ignored: the agent's own event" },
      count: 'own_event',
    };
  }
  // A known id (verified and recorded before): dropped on sight, in memory first, then in the store.
  if (claimed.id !== null) {
    const id = claimed.id;
    const known = memory.seen.has(id) || (await ctx.store.read((reader) => reader.inbound.has(id)));
    if (known) {
      memory.seen.add(id);
      return {
        outcome: { status: 'dropped', code: 'AlreadySeen', reason: 'duplicate: already handled' },
        count: 'duplicate',
      };
    }
  }

  const parsed = parseEvent(json.value);
  if (!parsed.ok) return dropped(parsed);
  const event = parsed.event;
  // libsecp256k1 (WebAssembly) for the signature; the id is recomputed by the same code the browser pages run.
  // A verdict checked ahead on a worker thread (preverify.ts) counts for exactly this triple; else this thread.
  const early = memory.ahead?.take(event.sig, event.id, event.pubkey);
  const verdict = early ? await early.catch(() => undefined) : undefined;
  const verified = verifyEvent(
    event,
    verdict === undefined
      ? verifySchnorr
      : (sig, id, pubkey) =>
          sig === event.sig && id === event.id && pubkey === event.pubkey
            ? verdict
            : verifySchnorr(sig, id, pubkey),
  );
  if (!verified.ok) {
    ctx.metrics.invalidSignatures.inc({ relay });
    return dropped(verified);
  }
  claimed.verified = true;

  const screened = screenInput(event, ctx.identity.pubkey);
  if (!screened.input) return dropped(screened);
  const cause: Cause = { event, raw };
  const outcome = await gateAndRoute(ctx, gate, cause);
  // Handled and refused events are recorded in the store: later copies are dropped before verification.
  if (outcome.status !== 'dropped') memory.seen.add(event.id);
  return { outcome, count: outcome.status };
}

async function gateAndRoute(ctx: AgentContext, gate: RateGate, cause: Cause): Promise<IntakeOutcome> {
  const { event } = cause;
  const rate = gate.check(event.pubkey, ctx.now());
  const slowDown = 'rate-limited: too many events from this pubkey; wait a minute';
  // Answered once when the pubkey runs out, then only counted: answering a flood would amplify it.
  if (rate === 'limited') return refuse(ctx, cause, 'RateLimited', slowDown, null);
  if (rate === 'silenced') return { status: 'dropped', code: 'RateLimited', reason: slowDown };
  const fresh = checkFreshness(event, ctx.now());
  if (!fresh.ok) return refuse(ctx, cause, fresh.code, fresh.reason, null);
  return routeEvent(ctx, cause);
}

function dropped(failure: { code: IntakeReasonCode; reason: string }): Admitted {
  return { outcome: { status: 'dropped', code: failure.code, reason: failure.reason }, count: 'dropped' };
}

/** Reads the id, pubkey and signature an object claims, when they look right (no other check: see above). */
function peek(value: unknown, claimed: Claimed): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  const { id, pubkey, sig } = value as Record<string, unknown>;
  if (isHex32(id)) claimed.id = id;
  if (isHex32(pubkey)) claimed.pubkey = pubkey;
  if (isHex(sig, 64)) claimed.sig = sig;
}

/**
 * One line per event not handled, never its content: a refused input (answered with a rejection) at INFO with its
 * code, reason, id and author; a dropped one at debug with code, relay, id, pubkey. Limited per relay and code, so
 * a flood cannot fill the disk; past the limit, one line "… (suppressed N similar in the last M s)" when the window
 * ends.
 */
function logOutcome(
  memory: IntakeMemory,
  relay: string,
  claimed: Claimed,
  outcome: Exclude<IntakeOutcome, { status: 'handled' }>,
): void {
  const key = `intake ${relay} ${outcome.code}`;
  if (outcome.status === 'refused') {
    memory.logs.log(
      key,
      'info',
      { relay, code: outcome.code, reason: outcome.reason, eventId: claimed.id, author: claimed.pubkey },
      'inbound event refused',
    );
    return;
  }
  memory.logs.log(
    key,
    'debug',
    { relay, code: outcome.code, eventId: claimed.id, pubkey: claimed.pubkey, verified: claimed.verified },
    'inbound event dropped',
  );
}
