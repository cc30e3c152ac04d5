// STAND-IN LND (test double, not LND): the little Lightning network the stand-in lives in. A chain whose
// height tests control (mine), three nodes (a payer, the agent's stand-in LND, a worker) and two channels
// payer <-> agent <-> worker, with balances, channel reserves and HTLCs in flight. A payment is routed over
// the direct channel or through the agent (which charges LND's default forwarding policy: 1000 msat base,
// 1 ppm, a CLTV delta of 80), the sender adds LND's 3 blocks of padding to the final CLTV, and every HTLC
// locks the sender's balance until the receiver settles (the payee's balance grows) or fails it (the sender
// gets it back). Not modelled: gossip, multi-path payments, on-chain force closes of HTLCs left to expire.
import type { DecodedInvoice } from '../../../src/ldk/bolt11/index.ts';

export type NodeName = 'payer' | 'agent' | 'worker';

/** LND's routing.BlockPadding: a sender adds it to the final hop's CLTV. */
export const BLOCK_PADDING = 3;
/** LND's default forwarding policy (the agent's node forwards payer -> worker with it). */
export const FORWARD_BASE_FEE_MSAT = 1000n;
export const FORWARD_FEE_RATE_PPM = 1n;
export const FORWARD_CLTV_DELTA = 80;

export type FailureReason =
  | 'NO_ROUTE'
  | 'INSUFFICIENT_BALANCE'
  | 'INCORRECT_PAYMENT_DETAILS'
  | 'TIMEOUT'
  | 'ERROR';

export interface RouteHop {
  nodeId: string;
  channelId: string;
  capacitySat: bigint;
  amountToForwardMsat: bigint;
  feeMsat: bigint;
  expiry: number;
}

export interface Route {
  hops: RouteHop[];
  totalAmountMsat: bigint;
  totalFeesMsat: bigint;
  totalTimeLock: number;
}

export type PaymentOutcome =
  | { ok: true; preimage: string; feeMsat: bigint; route: Route }
  | { ok: false; reason: FailureReason; route: Route | null };

export interface IncomingHtlc {
  /** The network's id of the final HTLC: what the receiver settles or fails. */
  htlcId: string;
  channelId: string;
  htlcIndex: number;
  paymentHash: string;
  paymentSecret: string;
  amountMsat: bigint;
  expiryHeight: number;
}

export interface NetworkNode {
  receiveHtlc(htlc: IncomingHtlc): void;
  outgoingResolved(paymentHash: string, outcome: PaymentOutcome): void;
  onBlock(height: number): void;
}

export interface ChannelView {
  channelId: string;
  point: string;
  peer: NodeName;
  capacitySat: bigint;
  localMsat: bigint;
  remoteMsat: bigint;
  reserveSat: bigint;
  active: boolean;
  inFlight: {
    incoming: boolean;
    amountMsat: bigint;
    paymentHash: string;
    expiry: number;
    htlcIndex: number;
  }[];
}

interface Channel {
  id: string;
  point: string;
  ends: [NodeName, NodeName];
  capacitySat: bigint;
  reserveSat: bigint;
  balanceMsat: Map<NodeName, bigint>;
  nextHtlcIndex: number;
}

interface FlightHtlc {
  id: string;
  channel: Channel;
  from: NodeName;
  to: NodeName;
  amountMsat: bigint;
  paymentHash: string;
  expiry: number;
  htlcIndex: number;
}

interface PathRecord {
  sender: NodeName;
  paymentHash: string;
  htlcs: FlightHtlc[];
  route: Route;
}

export interface NetworkOptions {
  nodeIds: Record<NodeName, string>;
  startHeight: number;
  /** Satoshi capacity of each channel, and what the payer and the agent own of theirs at the start. */
  capacitySat: bigint;
  payerFundsSat: bigint;
  agentFundsSat: bigint;
}

export class StandinNetwork {
  private currentHeight: number;
  private readonly channels: Channel[];
  private readonly nodes = new Map<NodeName, NetworkNode>();
  private readonly paths = new Map<string, PathRecord>();
  /** Outcomes for a node that was offline when they happened, delivered when it comes back. */
  private readonly undelivered = new Map<NodeName, [string, PaymentOutcome][]>();
  private nextHtlcId = 1;

  constructor(readonly options: NetworkOptions) {
    this.currentHeight = options.startHeight;
    const reserveSat = options.capacitySat / 100n;
    const channel = (index: number, a: NodeName, b: NodeName, fundsOfA: bigint): Channel => ({
      id: shortChannelId(options.startHeight - 10, index + 1, 0),
      point: `${(index + 1).toString(16).padStart(64, '0')}:0`,
      ends: [a, b],
      capacitySat: options.capacitySat,
      reserveSat,
      balanceMsat: new Map([
        [a, fundsOfA * 1000n],
        [b, (options.capacitySat - fundsOfA) * 1000n],
      ]),
      nextHtlcIndex: 0,
    });
    this.channels = [
      channel(0, 'payer', 'agent', options.payerFundsSat),
      channel(1, 'agent', 'worker', options.agentFundsSat),
    ];
  }

  get height(): number {
    return this.currentHeight;
  }

  nodeId(name: NodeName): string {
    return this.options.nodeIds[name];
  }

  /** Connects a node (the agent's stand-in LND attaches at start and detaches when it stops). */
  attach(name: NodeName, node: NetworkNode): void {
    this.nodes.set(name, node);
    const waiting = this.undelivered.get(name) ?? [];
    this.undelivered.delete(name);
    for (const [paymentHash, outcome] of waiting) node.outgoingResolved(paymentHash, outcome);
  }

  detach(name: NodeName): void {
    this.nodes.delete(name);
  }

  isOnline(name: NodeName): boolean {
    return this.nodes.has(name);
  }

  mine(blocks: number): number {
    for (let block = 0; block < blocks; block += 1) {
      this.currentHeight += 1;
      for (const node of [...this.nodes.values()]) node.onBlock(this.currentHeight);
    }
    return this.currentHeight;
  }

  channelsOf(name: NodeName): ChannelView[] {
    return this.channels
      .filter((channel) => channel.ends.includes(name))
      .map((channel) => {
        const peer = channel.ends[0] === name ? channel.ends[1] : channel.ends[0];
        return {
          channelId: channel.id,
          point: channel.point,
          peer,
          capacitySat: channel.capacitySat,
          localMsat: channel.balanceMsat.get(name)!,
          remoteMsat: channel.balanceMsat.get(peer)!,
          reserveSat: channel.reserveSat,
          active: this.isOnline(peer) && this.isOnline(name),
          inFlight: this.flights()
            .filter((htlc) => htlc.channel === channel)
            .map((htlc) => ({
              incoming: htlc.to === name,
              amountMsat: htlc.amountMsat,
              paymentHash: htlc.paymentHash,
              expiry: htlc.expiry,
              htlcIndex: htlc.htlcIndex,
            })),
        };
      });
  }

  /** What `name` can send over one channel now: its balance above the reserve. */
  sendableMsat(name: NodeName, peer: NodeName): bigint {
    const channel = this.channelBetween(name, peer);
    if (!channel) return 0n;
    const spendable = channel.balanceMsat.get(name)! - channel.reserveSat * 1000n;
    return spendable > 0n ? spendable : 0n;
  }

  /**
   * Sends an HTLC towards the invoice's payee. Returns a failure when no HTLC left (no route, fee or CLTV
   * over the limits, not enough balance); otherwise the route, with the outcome told to the sender later.
   */
  send(
    sender: NodeName,
    invoice: DecodedInvoice,
    limits: { maxFeeMsat: bigint; cltvLimit: number },
  ): { ok: true; route: Route } | { ok: false; reason: FailureReason } {
    const payee = this.nameOf(invoice.payeeNodeId);
    const amountMsat = invoice.amountMsat ?? 0n;
    if (payee === null || payee === sender || !this.isOnline(sender))
      return { ok: false, reason: 'NO_ROUTE' };
    const hopNames: NodeName[] = this.channelBetween(sender, payee) ? [payee] : ['agent', payee];
    if (hopNames.length === 2 && (sender === 'agent' || payee === 'agent'))
      return { ok: false, reason: 'NO_ROUTE' };
    const feeMsat = hopNames.length === 2 ? forwardingFee(amountMsat) : 0n;
    const finalExpiry = this.currentHeight + invoice.minFinalCltvExpiryDelta + BLOCK_PADDING;
    const firstExpiry = hopNames.length === 2 ? finalExpiry + FORWARD_CLTV_DELTA : finalExpiry;
    if (feeMsat > limits.maxFeeMsat || firstExpiry - this.currentHeight > limits.cltvLimit) {
      return { ok: false, reason: 'NO_ROUTE' };
    }
    const total = this.channels
      .filter((channel) => channel.ends.includes(sender))
      .reduce((sum, channel) => {
        const peer = channel.ends[0] === sender ? channel.ends[1] : channel.ends[0];
        return sum + this.sendableMsat(sender, peer);
      }, 0n);
    if (total < amountMsat + feeMsat) return { ok: false, reason: 'INSUFFICIENT_BALANCE' };
    const firstHop = hopNames[0]!;
    if (this.sendableMsat(sender, firstHop) < amountMsat + feeMsat || !this.isOnline(firstHop)) {
      return { ok: false, reason: 'NO_ROUTE' };
    }
    if (hopNames.length === 2 && (this.sendableMsat('agent', payee) < amountMsat || !this.isOnline(payee))) {
      return { ok: false, reason: 'NO_ROUTE' };
    }
    const route = this.describeRoute(sender, hopNames, amountMsat, feeMsat, finalExpiry, firstExpiry);
    const htlcs: FlightHtlc[] = [];
    let from = sender;
    for (const [index, to] of hopNames.entries()) {
      const amount = index === 0 ? amountMsat + feeMsat : amountMsat;
      htlcs.push(this.lock(from, to, amount, invoice.paymentHash, index === 0 ? firstExpiry : finalExpiry));
      from = to;
    }
    const final = htlcs[htlcs.length - 1]!;
    this.paths.set(final.id, { sender, paymentHash: invoice.paymentHash, htlcs, route });
    // Delivered after the sender has been answered, as on a real network.
    setImmediate(() => {
      const node = this.nodes.get(payee);
      if (!node) {
        this.resolve(final.id, null);
        return;
      }
      node.receiveHtlc({
        htlcId: final.id,
        channelId: final.channel.id,
        htlcIndex: final.htlcIndex,
        paymentHash: invoice.paymentHash,
        paymentSecret: invoice.paymentSecret,
        amountMsat,
        expiryHeight: finalExpiry,
      });
    });
    return { ok: true, route };
  }

  /** The receiver settles (preimage) or fails (null) the final HTLC; every hop follows. */
  resolve(htlcId: string, preimage: string | null): void {
    const path = this.paths.get(htlcId);
    if (!path) return;
    this.paths.delete(htlcId);
    for (const htlc of path.htlcs) {
      const owner = preimage === null ? htlc.from : htlc.to;
      htlc.channel.balanceMsat.set(owner, htlc.channel.balanceMsat.get(owner)! + htlc.amountMsat);
    }
    const outcome: PaymentOutcome =
      preimage === null
        ? { ok: false, reason: 'INCORRECT_PAYMENT_DETAILS', route: path.route }
        : { ok: true, preimage, feeMsat: path.route.totalFeesMsat, route: path.route };
    const sender = this.nodes.get(path.sender);
    if (sender) {
      sender.outgoingResolved(path.paymentHash, outcome);
    } else {
      const waiting = this.undelivered.get(path.sender) ?? [];
      waiting.push([path.paymentHash, outcome]);
      this.undelivered.set(path.sender, waiting);
    }
  }

  /** The final HTLC of a payment still in flight, if any. */
  isInFlight(htlcId: string): boolean {
    return this.paths.has(htlcId);
  }

  private lock(
    from: NodeName,
    to: NodeName,
    amountMsat: bigint,
    paymentHash: string,
    expiry: number,
  ): FlightHtlc {
    const channel = this.channelBetween(from, to)!;
    channel.balanceMsat.set(from, channel.balanceMsat.get(from)! - amountMsat);
    const htlc: FlightHtlc = {
      id: `htlc-${this.nextHtlcId++}`,
      channel,
      from,
      to,
      amountMsat,
      paymentHash,
      expiry,
      htlcIndex: channel.nextHtlcIndex++,
    };
    return htlc;
  }

  private flights(): FlightHtlc[] {
    return [...this.paths.values()].flatMap((path) => path.htlcs);
  }

  private describeRoute(
    sender: NodeName,
    hopNames: NodeName[],
    amountMsat: bigint,
    feeMsat: bigint,
    finalExpiry: number,
    firstExpiry: number,
  ): Route {
    let from = sender;
    // Each hop forwards the amount with the final expiry; the first hop's fee is the forwarding node's.
    const hops = hopNames.map((to, index) => {
      const channel = this.channelBetween(from, to)!;
      from = to;
      return {
        nodeId: this.nodeId(to),
        channelId: channel.id,
        capacitySat: channel.capacitySat,
        amountToForwardMsat: amountMsat,
        feeMsat: index === hopNames.length - 1 ? 0n : feeMsat,
        expiry: finalExpiry,
      };
    });
    return {
      hops,
      totalAmountMsat: amountMsat + feeMsat,
      totalFeesMsat: feeMsat,
      totalTimeLock: firstExpiry,
    };
  }

  private channelBetween(a: NodeName, b: NodeName): Channel | undefined {
    return this.channels.find((channel) => channel.ends.includes(a) && channel.ends.includes(b));
  }

  private nameOf(nodeId: string): NodeName | null {
    for (const [name, id] of Object.entries(this.options.nodeIds) as [NodeName, string][]) {
      if (id === nodeId) return name;
    }
    return null;
  }
}

/** LND's fee formula: base + amount * rate / 1_000_000, rounded down. */
export function forwardingFee(amountMsat: bigint): bigint {
  return FORWARD_BASE_FEE_MSAT + (amountMsat * FORWARD_FEE_RATE_PPM) / 1_000_000n;
}

/** A short channel id (block height, transaction index, output) as LND's uint64. */
function shortChannelId(height: number, transaction: number, output: number): string {
  return ((BigInt(height) << 40n) | (BigInt(transaction) << 16n) | BigInt(output)).toString();
}
