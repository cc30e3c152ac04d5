// STAND-IN LND (test double, not LND): the payer and the worker of the stand-in network, simulated (no gRPC,
// no LND): the payer pays the agent's holds (and, through the agent, the worker's invoices) like an LND
// sender would (3 blocks of CLTV padding, a 2016-block CLTV limit, the fee cap, failure reasons named as
// LND's), and the worker issues plain invoices it settles as soon as an HTLC pays them in full. They are the
// conformance harness's PayingWallet and ReceivingWallet. A test can make a wallet hold incoming HTLCs
// (holdIncoming) to keep a payment in flight.
import { createHash, randomBytes } from 'node:crypto';
import { Bolt11Error, decodeBolt11 } from '../../../src/ldk/bolt11/index.ts';
import { LightningError } from '../../../src/ldk/lightning-error.ts';
import type {
  CreatedHoldInvoice,
  NodeInfo,
  PayFailureReason,
  PaymentResult,
  PayRequest,
} from '../../../src/ldk/port.ts';
import type { ReceivingWallet } from '../../ldk/conformance/types.ts';
import { mintInvoice, type NodeKey } from './standin-keys.ts';
import type {
  FailureReason,
  IncomingHtlc,
  NetworkNode,
  NodeName,
  PaymentOutcome,
  StandinNetwork,
} from './standin-network.ts';

const CLTV_LIMIT = 2016;
const FINAL_CLTV_DELTA = 40;

const REASONS: Record<FailureReason, PayFailureReason> = {
  NO_ROUTE: 'no_route',
  INSUFFICIENT_BALANCE: 'insufficient_balance',
  INCORRECT_PAYMENT_DETAILS: 'rejected',
  TIMEOUT: 'timeout',
  ERROR: 'error',
};

interface OwnInvoice {
  preimage: string;
  amountMsat: bigint;
  paymentSecret: string;
  expiresAt: number;
  finalCltvDelta: number;
}

export class SimulatedWallet implements ReceivingWallet, NetworkNode {
  /** Keep incoming HTLCs in flight instead of settling them (release with releaseHeld()). */
  holdIncoming = false;
  private readonly invoices = new Map<string, OwnInvoice>();
  private readonly payments = new Map<string, PaymentResult>();
  private readonly amounts = new Map<string, bigint>();
  private readonly waiters = new Map<string, Set<(result: PaymentResult) => void>>();
  private readonly held: IncomingHtlc[] = [];

  constructor(
    readonly name: NodeName,
    private readonly network: StandinNetwork,
    private readonly key: NodeKey,
  ) {
    network.attach(name, this);
  }

  async pay(request: PayRequest): Promise<PaymentResult> {
    let invoice: ReturnType<typeof decodeBolt11>;
    try {
      invoice = decodeBolt11(request.bolt11);
    } catch (error) {
      if (error instanceof Bolt11Error) throw new LightningError('InvoiceInvalid', error.message);
      throw error;
    }
    if (invoice.network !== 'regtest') {
      throw new LightningError(
        'WrongNetwork',
        `the invoice is for ${invoice.network}, this wallet is on regtest`,
      );
    }
    if (invoice.amountMsat === null) throw new LightningError('InvoiceInvalid', 'the invoice has no amount');
    const paymentHash = invoice.paymentHash;
    const previous = this.payments.get(paymentHash);
    if (previous?.status === 'succeeded') return previous;
    if (previous?.status !== 'pending') {
      if (invoice.expiresAt * 1000 < Date.now()) {
        return this.record(this.failed(paymentHash, 'invoice_expired', 'invoice expired'));
      }
      const sent = this.network.send(this.name, invoice, {
        maxFeeMsat: request.maxFeeMsat,
        cltvLimit: CLTV_LIMIT,
      });
      if (!sent.ok) return this.record(this.failed(paymentHash, REASONS[sent.reason], sent.reason));
      this.amounts.set(paymentHash, invoice.amountMsat);
      this.payments.set(paymentHash, { status: 'pending', paymentHash });
    }
    return this.waitFor(paymentHash, request.timeoutSeconds * 1000);
  }

  async paymentStatus(paymentHash: string): Promise<PaymentResult | null> {
    return this.payments.get(paymentHash) ?? null;
  }

  async getInfo(): Promise<NodeInfo> {
    const channels = this.network.channelsOf(this.name).map((channel) => ({
      channelId: channel.channelId,
      peerNodeId: this.network.nodeId(channel.peer),
      capacitySat: channel.capacitySat,
      localBalanceMsat: above(channel.localMsat, channel.reserveSat),
      remoteBalanceMsat: above(channel.remoteMsat, channel.reserveSat),
      usable: channel.active,
      pendingHtlcs: channel.inFlight.length,
    }));
    return {
      nodeId: this.key.nodeId,
      network: 'regtest',
      blockHeight: this.network.height,
      localBalanceMsat: channels.reduce((sum, channel) => sum + channel.localBalanceMsat, 0n),
      remoteBalanceMsat: channels.reduce((sum, channel) => sum + channel.remoteBalanceMsat, 0n),
      channels,
    };
  }

  async createInvoice(request: {
    amountMsat: bigint;
    description: string;
    expirySeconds: number;
  }): Promise<CreatedHoldInvoice> {
    const preimage = randomBytes(32).toString('hex');
    const paymentHash = createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex');
    const timestamp = Math.floor(Date.now() / 1000);
    const { bolt11, paymentSecret } = mintInvoice(this.key, {
      paymentHash,
      amountMsat: request.amountMsat,
      description: request.description,
      timestamp,
      expirySeconds: request.expirySeconds,
      finalCltvDelta: FINAL_CLTV_DELTA,
    });
    const expiresAt = timestamp + request.expirySeconds;
    this.invoices.set(paymentHash, {
      preimage,
      amountMsat: request.amountMsat,
      paymentSecret,
      expiresAt,
      finalCltvDelta: FINAL_CLTV_DELTA,
    });
    return { bolt11, paymentHash, expiresAt };
  }

  /** Settles (or fails) every HTLC kept by holdIncoming. */
  releaseHeld(): void {
    this.holdIncoming = false;
    for (const htlc of this.held.splice(0)) this.receiveHtlc(htlc);
  }

  receiveHtlc(htlc: IncomingHtlc): void {
    if (this.holdIncoming) {
      this.held.push(htlc);
      return;
    }
    const invoice = this.invoices.get(htlc.paymentHash);
    const acceptable =
      invoice !== undefined &&
      invoice.paymentSecret === htlc.paymentSecret &&
      htlc.amountMsat >= invoice.amountMsat &&
      invoice.expiresAt * 1000 >= Date.now() &&
      htlc.expiryHeight >= this.network.height + invoice.finalCltvDelta;
    this.network.resolve(htlc.htlcId, acceptable ? invoice.preimage : null);
  }

  outgoingResolved(paymentHash: string, outcome: PaymentOutcome): void {
    const result: PaymentResult = outcome.ok
      ? {
          status: 'succeeded',
          paymentHash,
          preimage: outcome.preimage,
          amountMsat: this.amounts.get(paymentHash) ?? 0n,
          feeMsat: outcome.feeMsat,
        }
      : this.failed(paymentHash, REASONS[outcome.reason], outcome.reason);
    this.record(result);
  }

  onBlock(): void {}

  private failed(paymentHash: string, reason: PayFailureReason, lndReason: string): PaymentResult {
    return { status: 'failed', paymentHash, reason, detail: `stand-in ${this.name}: ${lndReason}` };
  }

  private record(result: PaymentResult): PaymentResult {
    this.payments.set(result.paymentHash, result);
    for (const waiter of [...(this.waiters.get(result.paymentHash) ?? [])]) waiter(result);
    this.waiters.delete(result.paymentHash);
    return result;
  }

  private waitFor(paymentHash: string, waitMs: number): Promise<PaymentResult> {
    const current = this.payments.get(paymentHash);
    if (current && current.status !== 'pending') return Promise.resolve(current);
    return new Promise((resolve) => {
      const waiters = this.waiters.get(paymentHash) ?? new Set();
      const done = (result: PaymentResult) => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve(result);
      };
      const timer = setTimeout(() => done({ status: 'pending', paymentHash }), waitMs);
      // A payment left in flight at the end of a test must not keep the process alive.
      timer.unref();
      waiters.add(done);
      this.waiters.set(paymentHash, waiters);
    });
  }
}

function above(balanceMsat: bigint, reserveSat: bigint): bigint {
  const spendable = balanceMsat - reserveSat * 1000n;
  return spendable > 0n ? spendable : 0n;
}
