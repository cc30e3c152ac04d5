// The fixed ingredients of the examples: TEST keys, the example policy, the clock and block height, and how
// examples are signed and invoiced. Everything here is public and worthless by design.
import { createHash } from 'node:crypto';
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { bech32 } from '@scure/base';
import { type EventTemplate, getEventHash, getPublicKey } from 'nostr-tools/pure';
import type { Policy } from '../../src/domain/types.ts';
import { type ActionInput, type ActionInputWithout, buildAction } from '../../src/protocol/build-action.ts';
import type { NostrEvent } from '../../src/protocol/schemas.ts';

export const sha256 = (data: string | Uint8Array): Buffer => createHash('sha256').update(data).digest();
export const hashHex = (hex: string): string => sha256(Buffer.from(hex, 'hex')).toString('hex');

/** TEST keys: sha256("nostr-escrow example key: <role>"). Public knowledge; worthless by design. */
function testKey(role: string): Uint8Array {
  return new Uint8Array(sha256(`nostr-escrow example key: ${role}`));
}
export const SECRET = {
  agent: testKey('agent'),
  poster: testKey('poster'),
  worker: testKey('worker'),
  arbitrator: testKey('arbitrator'),
};
export const EXAMPLE_KEYS = {
  agent: getPublicKey(SECRET.agent),
  poster: getPublicKey(SECRET.poster),
  worker: getPublicKey(SECRET.worker),
  arbitrator: getPublicKey(SECRET.arbitrator),
};

export const EXAMPLE_POLICY: Policy = {
  minAmountMsat: 1_000_000n,
  maxAmountMsat: 10_000_000_000n,
  fee: { baseMsat: 1_000n, ppm: 5_000 },
  windows: { claimSeconds: 7_200, workSeconds: 43_200, reviewSeconds: 21_600, disputeSeconds: 14_400 },
  safetyMarginBlocks: 16,
  backendAutoCancelBlocks: 21,
  maxFinalCltvDelta: 1_001,
  invoiceExpirySeconds: 3_600,
  arbitrators: [EXAMPLE_KEYS.arbitrator],
  arbitratorProfiles: [
    { pubkey: EXAMPLE_KEYS.arbitrator, name: 'Example arbitrator', feeBaseMsat: 0n, feePpm: 0 },
  ],
  disputeDeadlineRule: 'refund',
  maxHoldSeconds: 86_400,
  maxStatementLength: 4_000,
  custodyMaxSeconds: 604_800,
  maxPayoutAttempts: 3,
  lightningNodeId: Buffer.from(secp256k1.getPublicKey(exampleNodeKey('agent'), true)).toString('hex'),
  maxTitleLength: 200,
  rateLimit: { perMinute: 60, burst: 30 },
};

export const T0 = 1_750_000_000; // 2025-06-15T15:06:40Z
export const HEIGHT = 2_500; // regtest block height when the first hold is accepted
export const RELAY = 'wss://relay.example.com';

// ------------------------------------------------------------------------------- example invoices

function amountPart(msat: bigint): string {
  if (msat % 100_000_000n === 0n) return `${msat / 100_000_000n}m`;
  if (msat % 100_000n === 0n) return `${msat / 100_000n}u`;
  if (msat % 100n === 0n) return `${msat / 100n}n`;
  return `${msat * 10n}p`;
}

function integerWords(value: number, length?: number): number[] {
  const words: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 32)) words.unshift(rest % 32);
  while (words.length < (length ?? 1)) words.unshift(0);
  return words;
}

function field(type: number, data: number[]): number[] {
  return [type, data.length >> 5, data.length & 31, ...data];
}

/** 5-bit words to bytes, the last byte padded with zero bits (BOLT11's signing rule). */
export function wordsToPaddedBytes(words: readonly number[]): Uint8Array {
  const bytes: number[] = [];
  let accumulator = 0;
  let bits = 0;
  for (const word of words) {
    accumulator = ((accumulator << 5) | word) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((accumulator >> bits) & 0xff);
    }
  }
  if (bits > 0) bytes.push((accumulator << (8 - bits)) & 0xff);
  return new Uint8Array(bytes);
}

/** TEST Lightning node keys: sha256("nostr-escrow example node: <whose>"). */
export function exampleNodeKey(whose: 'agent' | 'worker' | 'poster'): Uint8Array {
  return new Uint8Array(sha256(`nostr-escrow example node: ${whose}`));
}

/** A regtest BOLT11 invoice (fields p, s, d, x, c), signed by `node`. */
export function exampleInvoice(input: {
  node: Uint8Array;
  amountMsat: bigint;
  timestamp: number;
  paymentHash: string;
  description: string;
  expirySeconds: number;
  minFinalCltv: number;
}): string {
  const prefix = `lnbcrt${amountPart(input.amountMsat)}`;
  const words = [
    ...integerWords(input.timestamp, 7),
    ...field(1, bech32.toWords(Buffer.from(input.paymentHash, 'hex'))),
    ...field(16, bech32.toWords(sha256(`payment secret: ${input.paymentHash}`))),
    ...field(13, bech32.toWords(Buffer.from(input.description, 'utf8'))),
    ...field(6, integerWords(input.expirySeconds)),
    ...field(24, integerWords(input.minFinalCltv)),
  ];
  const hash = sha256(Buffer.concat([Buffer.from(prefix, 'utf8'), wordsToPaddedBytes(words)]));
  const recovered = secp256k1.sign(hash, input.node, { prehash: false, format: 'recovered' }); // [recid, r, s]
  const signature = Buffer.concat([recovered.subarray(1), recovered.subarray(0, 1)]); // BOLT11: r, s, recid
  return bech32.encode(prefix, [...words, ...bech32.toWords(signature)], false);
}

/** Test preimage: sha256("nostr-escrow example preimage: <label>"). */
export function preimage(label: string): string {
  return sha256(`nostr-escrow example preimage: ${label}`).toString('hex');
}

// ------------------------------------------------------------------------------------ the lifecycles

export interface Example {
  file: string;
  event: NostrEvent;
}

/** BIP-340 with zero auxiliary randomness: deterministic, for the examples only. */
export function sign(template: EventTemplate, secret: Uint8Array): NostrEvent {
  const unsigned = { ...template, pubkey: getPublicKey(secret) };
  const id = getEventHash(unsigned);
  const sig = Buffer.from(schnorr.sign(Buffer.from(id, 'hex'), secret, new Uint8Array(32))).toString('hex');
  return { ...unsigned, id, sig };
}

/** An action from a person, tagging the example agent, with the example relay as the listing's hint. */
export function act(input: ActionInputWithout<'agent' | 'relayHint'>): EventTemplate {
  return buildAction({ ...input, agent: EXAMPLE_KEYS.agent, relayHint: RELAY } as ActionInput);
}

/** A payout invoice of `who`, with the preimage its node reveals when paid. */
export function payoutInvoice(label: string, whose: 'worker' | 'poster', amountMsat: bigint, at: number) {
  const proof = preimage(`payout ${label}`);
  const paymentHash = hashHex(proof);
  const bolt11 = exampleInvoice({
    node: exampleNodeKey(whose),
    amountMsat,
    timestamp: at,
    paymentHash,
    description: `payout ${label}`,
    expirySeconds: 86_400,
    minFinalCltv: 80,
  });
  return { bolt11, paymentHash, proof };
}
