// One task's examples in order, with the prev chain of its transitions.
import type { EventTemplate } from 'nostr-tools/pure';
import { requiredFinalCltv } from '../../src/domain/deadlines.ts';
import { feeFor } from '../../src/domain/money.ts';
import { RULEBOOK_SHA256, RULEBOOK_VERSION } from '../../src/domain/rulebook.ts';
import { buildListing } from '../../src/protocol/build-listing.ts';
import { buildTransition } from '../../src/protocol/build-transition.ts';
import type { NostrEvent } from '../../src/protocol/schemas.ts';
import type { Transition } from '../../src/protocol/transition-types.ts';
import {
  EXAMPLE_KEYS,
  EXAMPLE_POLICY,
  type Example,
  exampleInvoice,
  exampleNodeKey,
  hashHex,
  preimage,
  RELAY,
  SECRET,
  sign,
} from './fixtures.ts';

/** One task's examples, with the prev chain kept for it. */
export class TaskStory {
  readonly listing: NostrEvent;
  readonly amountMsat: bigint;
  readonly feeMsat: bigint;
  readonly cltv: number;
  readonly paymentHash: string;
  readonly preimage: string;
  private prev: string | null = null;
  worker: string | null = null;

  constructor(
    private readonly out: Example[],
    private readonly prefix: string,
    readonly name: string,
    listing: { d: string; title: string; summary: string; sats: number; windows?: string[][]; at: number },
  ) {
    this.amountMsat = BigInt(listing.sats) * 1000n;
    this.feeMsat = feeFor(this.amountMsat, EXAMPLE_POLICY.fee);
    this.listing = this.add(
      'task-listing',
      sign(
        buildListing({
          d: listing.d,
          title: listing.title,
          summary: listing.summary,
          amountMsat: this.amountMsat,
          agent: EXAMPLE_KEYS.agent,
          windows: Object.fromEntries(
            (listing.windows ?? []).map(([, name, seconds]) => [name, Number(seconds)]),
          ),
          content: `${listing.summary}\n\nDeliver a link in your submission. Paid through the escrow agent.`,
          createdAt: listing.at,
        }),
        SECRET.poster,
      ),
    );
    const windows = { ...EXAMPLE_POLICY.windows };
    for (const [, window, seconds] of listing.windows ?? []) {
      windows[`${window as 'claim' | 'work' | 'review' | 'dispute'}Seconds`] = Number(seconds);
    }
    this.cltv = requiredFinalCltv(windows, EXAMPLE_POLICY);
    this.preimage = preimage(name);
    this.paymentHash = hashHex(this.preimage);
  }

  get taskId(): string {
    return this.listing.id;
  }

  add(name: string, event: NostrEvent): NostrEvent {
    const file = `${String(this.out.length + 1).padStart(2, '0')}-${this.prefix}${name.replaceAll('_', '-')}.json`;
    this.out.push({ file, event });
    return event;
  }

  act(name: string, secret: Uint8Array, template: EventTemplate): NostrEvent {
    return this.add(name, sign(template, secret));
  }

  /** Signs the next transition of this task, chained to the previous one. */
  transition(
    at: number,
    cause: NostrEvent | null,
    step: DistributiveOmit<Transition, keyof Common>,
  ): NostrEvent {
    const template = buildTransition({
      ...step,
      taskId: this.taskId,
      prev: this.prev,
      cause: cause?.id ?? null,
      poster: EXAMPLE_KEYS.poster,
      worker: this.worker,
      createdAt: at,
      relayHint: RELAY,
    } as Parameters<typeof buildTransition>[0]);
    const event = this.add(step.state, sign(template, SECRET.agent));
    this.prev = event.id;
    return event;
  }

  offer(at: number): NostrEvent {
    return this.transition(at, null, {
      state: 'offered',
      details: {
        listing: this.listing,
        bolt11: this.invoice(at),
        paymentHash: this.paymentHash,
        amountMsat: this.amountMsat,
        feeMsat: this.feeMsat,
        expiresAt: at + EXAMPLE_POLICY.invoiceExpirySeconds,
        finalCltvDelta: this.cltv,
        arbitration: {
          arbitrators: [...EXAMPLE_POLICY.arbitrators],
          threshold: 1,
          deadlineRule: EXAMPLE_POLICY.disputeDeadlineRule,
          rulesSha256: RULEBOOK_SHA256,
          rulesVersion: RULEBOOK_VERSION,
        },
      },
    });
  }

  invoice(at: number): string {
    return exampleInvoice({
      node: exampleNodeKey('agent'),
      amountMsat: this.amountMsat,
      timestamp: at,
      paymentHash: this.paymentHash,
      description: `escrow: ${this.listing.tags.find((tag) => tag[0] === 'title')?.[1]}`,
      expirySeconds: EXAMPLE_POLICY.invoiceExpirySeconds,
      minFinalCltv: this.cltv,
    });
  }

  fund(at: number, height: number): NostrEvent {
    const htlcExpiry = height + this.cltv + 3; // LDK adds 3 to the requested final CLTV
    const claimDeadline = htlcExpiry - EXAMPLE_POLICY.backendAutoCancelBlocks;
    return this.transition(at, null, {
      state: 'funded',
      details: {
        amountMsat: this.amountMsat,
        htlcExpiryHeight: htlcExpiry,
        claimDeadlineHeight: claimDeadline,
        holdDeadlineHeight: claimDeadline - EXAMPLE_POLICY.safetyMarginBlocks,
        windowEndsAt: at + EXAMPLE_POLICY.windows.claimSeconds,
      },
    });
  }

  settlement(height: number) {
    return {
      paymentHash: this.paymentHash,
      preimage: this.preimage,
      amountMsat: this.amountMsat,
      feeMsat: this.feeMsat,
      height,
    };
  }
}

type Common = {
  taskId: string;
  prev: string | null;
  cause: string | null;
  poster: string;
  worker: string | null;
};
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
