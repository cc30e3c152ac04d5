// Tag groups shared by the transition schemas: the common head of every transition, window ends,
// resolutions and the settlement proof.
import { z } from 'zod';
import type { Resolution } from '../domain/types.ts';
import { sha256Hex } from './bytes.ts';
import { RESOLUTION_KINDS, type TransitionState, type WindowName } from './constants.ts';
import {
  bpsString,
  heightString,
  hex64,
  labelTags,
  markedEventTag,
  msat,
  oneTag,
  onlyIfValid,
  optionalTag,
  optionalTagValue,
  relayHint,
  rolePubkeyTag,
  TASK_E_TAG,
  tagValue,
  tuple,
  unixString,
} from './schemas.ts';
import type { Settlement, TransitionCommon, VerdictRef } from './transition-types.ts';

export { sha256Hex };

interface Rules {
  /** required: every transition but the first; forbidden: `offered`, always the first; optional: `cancelled`. */
  prev: 'required' | 'forbidden' | 'optional';
  /** An action event always causes claimed, submitted and disputed. */
  cause?: boolean;
  /** From claimed on, the worker is known. */
  worker?: boolean;
}

export function commonTags<S extends TransitionState>(state: S, rules: Rules) {
  const prev = optionalTag(markedEventTag('prev'), 'e tag marked "prev"');
  return {
    ...labelTags(z.literal(state)),
    'e:task': oneTag(markedEventTag('task'), TASK_E_TAG),
    'e:prev':
      rules.prev === 'required'
        ? oneTag(markedEventTag('prev'), 'e tag marked "prev" (the previous transition of the task)')
        : rules.prev === 'forbidden'
          ? prev.refine((found) => found === undefined, 'must be absent: the first transition has no prev')
          : prev,
    'e:cause': rules.cause
      ? oneTag(markedEventTag('cause'), 'e tag marked "cause" (the action event)')
      : optionalTag(markedEventTag('cause'), 'e tag marked "cause"'),
    'p:poster': oneTag(rolePubkeyTag('poster'), 'p tag with role "poster"'),
    'p:worker': rules.worker
      ? oneTag(rolePubkeyTag('worker'), 'p tag with role "worker"')
      : optionalTag(rolePubkeyTag('worker'), 'p tag with role "worker"'),
  };
}

interface CommonTagValues {
  'e:task': string;
  'e:prev'?: string | undefined;
  'e:cause'?: string | undefined;
  'p:poster': string;
  'p:worker'?: string | undefined;
}

export function common(tags: CommonTagValues): TransitionCommon {
  return {
    taskId: tags['e:task'],
    prev: tags['e:prev'] ?? null,
    cause: tags['e:cause'] ?? null,
    poster: tags['p:poster'],
    worker: tags['p:worker'] ?? null,
  };
}

export function windowEnd(name: WindowName) {
  return oneTag(
    z.tuple([z.literal('window_end'), unixString, z.literal(name)]),
    `["window_end", <unix>, "${name}"] tag`,
  ).transform((found) => found[1]);
}

export const resolutionTags = {
  resolution: tagValue('resolution', z.enum(RESOLUTION_KINDS, { error: 'must be a resolution kind' })),
  share_bps: optionalTagValue('share_bps', bpsString),
};
export function resolutionOf(tags: {
  resolution: Resolution['kind'];
  share_bps?: number | undefined;
}): Resolution {
  return tags.resolution === 'split'
    ? { kind: 'split', workerShareBps: tags.share_bps ?? 0 }
    : { kind: tags.resolution };
}
export const shareBpsOnlyForSplit = {
  message: 'is required when the resolution is split, and only then',
  path: ['share_bps'],
  ...onlyIfValid,
};

// The settlement proof: all five tags or none (see Settlement).
export const settlementTags = {
  payment_hash: optionalTagValue('payment_hash', hex64),
  preimage: optionalTagValue('preimage', hex64),
  amount: optionalTagValue('amount', msat),
  fee: optionalTagValue('fee', msat),
  height: optionalTagValue('height', heightString),
};
type SettlementTagValues = { [K in keyof typeof settlementTags]?: z.output<(typeof settlementTags)[K]> };
export function settlementOf(tags: SettlementTagValues): Settlement | null {
  const { payment_hash, preimage, amount, fee, height } = tags;
  if (payment_hash === undefined || preimage === undefined || amount === undefined) return null;
  if (fee === undefined || height === undefined) return null;
  return { paymentHash: payment_hash, preimage, amountMsat: amount, feeMsat: fee, height };
}
export function settlementIsWhole(tags: SettlementTagValues): boolean {
  const keys = Object.keys(settlementTags) as (keyof SettlementTagValues)[];
  const present = keys.filter((key) => tags[key] !== undefined).length;
  return present === 0 || present === keys.length;
}

export function preimageMatches(tags: SettlementTagValues): boolean {
  return (
    tags.preimage === undefined ||
    tags.payment_hash === undefined ||
    sha256Hex(tags.preimage) === tags.payment_hash
  );
}
export const settlementWhole = {
  message: 'settlement proof needs payment_hash, preimage, amount, fee and height together',
  path: ['preimage'],
  ...onlyIfValid,
};
export const preimageHashes = {
  message: 'sha256(preimage) is not payment_hash',
  path: ['preimage'],
  ...onlyIfValid,
};

/** The verdicts a transition acts on (`e:verdict`, they agree) and the dissents on record (`e:dissent`). */
/** `["e", <verdict event id>, <relay or "">, "verdict" | "dissent", <arbitrator pubkey>]` (NIP-10's author). */
function verdictRef(marker: 'verdict' | 'dissent') {
  return tuple([z.literal('e'), hex64, relayHint, z.literal(marker), hex64]).transform((found) => ({
    eventId: found[1],
    by: found[4],
    agrees: marker === 'verdict',
  }));
}

export const verdictTags = {
  'e:verdict': z.preprocess(
    (value) => value ?? [],
    z.array(verdictRef('verdict')).max(20, 'allows at most 20 verdict references'),
  ),
  'e:dissent': z.preprocess(
    (value) => value ?? [],
    z.array(verdictRef('dissent')).max(20, 'allows at most 20 dissent references'),
  ),
};

export function verdictRefsOf(tags: { 'e:verdict': VerdictRef[]; 'e:dissent': VerdictRef[] }): VerdictRef[] {
  return [...tags['e:verdict'], ...tags['e:dissent']];
}

export function verdictRefTags(refs: readonly VerdictRef[]): string[][] {
  return refs.map((ref) => ['e', ref.eventId, '', ref.agrees ? 'verdict' : 'dissent', ref.by]);
}
