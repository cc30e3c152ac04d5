// A Lightning-address service (LUD-16 over LNURL-pay, LUD-06) on 127.0.0.1, in front of a REAL sandbox LDK node
// (the poster's wallet), and that wallet's own invoices.
//
// GET /.well-known/lnurlp/<name>      -> { tag: "payRequest", callback, minSendable, maxSendable, metadata }
// GET /lnurlp/callback/<name>?amount= -> { pr: <invoice from the node>, routes: [] }
//
// Why the invoice is made this way: the port (src/ldk/port.ts) and the sandbox adapter can issue an invoice with a
// plain description only (createInvoice / createHoldInvoice); neither can set a description hash, and LUD-06 needs
// description_hash = sha256(metadata). So the wallet does what an LNURL wallet does with its own node:
//   1. it registers a payment hash with the node through the port (createHoldInvoice: a hash whose preimage only
//      the wallet knows), so the node's adapter knows the payment when it arrives;
//   2. it has the same LDK node sign the invoice for that hash with the description hash
//      (UtilMethods.create_invoice_from_channelmanager_with_description_hash_and_payment_hash on the node's own
//      ChannelManager: LDK's payment secret for a hash is stateless, so a second invoice for it is as valid);
//   3. when the node reports the payment held (hold_accepted), it settles it at once with the preimage: the money
//      lands on the node as with any invoice. `received()` is what the node's own record says it settled.
// Nothing is mocked: the invoice is the node's, signed by its key, and the payment is a real HTLC into it.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import * as ldk from 'lightningdevkit';
import type { HoldInvoice } from '../../src/ldk/port.ts';
import type { SandboxBackend } from '../../src/ldk/sandbox/sandbox-backend.ts';

/** The final CLTV delta asked by the wallet's invoices (LDK writes it + 3; payout invoices must ask <= 144). */
const FINAL_CLTV_DELTA = 40;

export interface WalletInvoice {
  bolt11: string;
  paymentHash: string;
  amountMsat: bigint;
  /** sha256(metadata) when the invoice carries a description hash (LUD-06), else null. */
  descriptionHash: string | null;
}

/** A node's wallet: issues invoices on the node and claims each one as soon as the node holds its payment. */
export interface Wallet {
  readonly node: SandboxBackend;
  invoice(request: {
    amountMsat: bigint;
    description?: string;
    /** The invoice carries sha256(metadata) as its description hash instead of a description. */
    metadata?: string;
    expirySeconds?: number;
  }): Promise<WalletInvoice>;
  /** The node's record of an invoice once it is SETTLED (what it received), or null if it never was. */
  received(paymentHash: string): Promise<HoldInvoice | null>;
  /** Waits until the node settled the invoice; throws after timeoutMs. */
  waitReceived(paymentHash: string, timeoutMs?: number): Promise<HoldInvoice>;
  /** Every invoice issued, oldest first. */
  readonly issued: readonly WalletInvoice[];
  stop(): void;
}

export function startWallet(node: SandboxBackend): Wallet {
  const preimages = new Map<string, string>();
  const issued: WalletInvoice[] = [];
  const settling = new Set<string>();
  const settle = (paymentHash: string) => {
    const preimage = preimages.get(paymentHash);
    if (!preimage || settling.has(paymentHash)) return;
    settling.add(paymentHash);
    node.settle(preimage, paymentHash).catch((error: unknown) => {
      settling.delete(paymentHash);
      process.stderr.write(
        `wallet ${node.name}: settle ${paymentHash.slice(0, 8)} failed: ${String(error)}\n`,
      );
    });
  };
  const unsubscribe = node.subscribe((event) => {
    if (event.type === 'hold_accepted') settle(event.paymentHash);
  });

  const wallet: Wallet = {
    node,
    issued,
    async invoice({ amountMsat, description = 'wallet invoice', metadata, expirySeconds = 3600 }) {
      const preimage = randomBytes(32);
      const paymentHash = bytesToHex(sha256(preimage));
      preimages.set(paymentHash, preimage.toString('hex'));
      // Registers the hash with the node (its adapter refuses payments for hashes it never issued).
      const hold = await node.createHoldInvoice({
        paymentHash,
        amountMsat,
        description,
        expirySeconds,
        finalCltvDelta: FINAL_CLTV_DELTA,
      });
      let bolt11 = hold.bolt11;
      let descriptionHash: string | null = null;
      if (metadata !== undefined) {
        const hash = sha256(new TextEncoder().encode(metadata));
        descriptionHash = bytesToHex(hash);
        const created =
          ldk.UtilMethods.constructor_create_invoice_from_channelmanager_with_description_hash_and_payment_hash(
            node.node.manager,
            ldk.Option_u64Z.constructor_some(amountMsat),
            ldk.Sha256.constructor_from_bytes(hash),
            expirySeconds,
            Buffer.from(paymentHash, 'hex'),
            ldk.Option_u16Z.constructor_some(FINAL_CLTV_DELTA),
          );
        if (!(created instanceof ldk.Result_Bolt11InvoiceSignOrCreationErrorZ_OK)) {
          throw new Error(`${node.name}: LDK refused an invoice with a description hash`);
        }
        bolt11 = created.res.to_str();
      }
      const invoice: WalletInvoice = { bolt11, paymentHash, amountMsat, descriptionHash };
      issued.push(invoice);
      return invoice;
    },
    async received(paymentHash) {
      const hold = await node.lookup(paymentHash);
      return hold?.state === 'SETTLED' ? hold : null;
    },
    async waitReceived(paymentHash, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hold = await wallet.received(paymentHash);
        if (hold) return hold;
        if (Date.now() > deadline) {
          const seen = await node.lookup(paymentHash);
          throw new Error(
            `${node.name} never settled ${paymentHash.slice(0, 8)} (it is ${seen?.state ?? 'unknown'})`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    stop: unsubscribe,
  };
  return wallet;
}

/** How the service answers a name's callback: honestly, or with an invoice for another amount than asked. */
export type LnurlBehaviour = 'honest' | 'wrong_amount';

export interface LnurlRequest {
  name: string;
  /** The path with its query, as received. */
  url: string;
  /** The callback's `amount` (msat), or null for the pay-request step. */
  amountMsat: bigint | null;
  /** The invoice answered to a callback, if any. */
  invoice: WalletInvoice | null;
}

export interface LnurlServer {
  /** 127.0.0.1:<port>: the domain part of the addresses it serves. */
  readonly host: string;
  /** Serves `name` (lower case) and returns its address, name@127.0.0.1:<port>. */
  serve(name: string, behaviour?: LnurlBehaviour): string;
  /** The metadata (a JSON string) served for `name`; invoices carry sha256 of it. */
  metadataOf(name: string): string;
  /** Every request for a served name, oldest first. */
  readonly requests: readonly LnurlRequest[];
  callbacks(name: string): LnurlRequest[];
  stop(): Promise<void>;
}

/** The most an invoice may be for (LUD-06 maxSendable, msat); small enough to stay a safe JSON integer. */
const MAX_SENDABLE_MSAT = 1_000_000_000_000;

export async function startLnurlServer(wallet: Wallet): Promise<LnurlServer> {
  const served = new Map<string, LnurlBehaviour>();
  const requests: LnurlRequest[] = [];
  let host = '';
  const metadataOf = (name: string) =>
    JSON.stringify([
      ['text/plain', `Payouts to ${name}`],
      ['text/identifier', `${name}@${host}`],
    ]);

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', `http://${host}`);
    const payRequest = /^\/\.well-known\/lnurlp\/([^/]+)$/.exec(url.pathname);
    const callback = /^\/lnurlp\/callback\/([^/]+)$/.exec(url.pathname);
    const name = payRequest?.[1] ?? callback?.[1];
    const behaviour = name === undefined ? undefined : served.get(name);
    if (name === undefined || behaviour === undefined) {
      sendJson(response, { status: 'ERROR', reason: 'no such user' }, 404);
      return;
    }
    if (payRequest) {
      requests.push({ name, url: request.url ?? '', amountMsat: null, invoice: null });
      sendJson(response, {
        tag: 'payRequest',
        callback: `http://${host}/lnurlp/callback/${name}`,
        minSendable: 1_000,
        maxSendable: MAX_SENDABLE_MSAT,
        metadata: metadataOf(name),
      });
      return;
    }
    const amountText = url.searchParams.get('amount') ?? '';
    if (!/^[1-9][0-9]*$/.test(amountText)) {
      requests.push({ name, url: request.url ?? '', amountMsat: null, invoice: null });
      sendJson(response, { status: 'ERROR', reason: 'amount must be a whole number of msat' });
      return;
    }
    const amountMsat = BigInt(amountText);
    // A broken service: a real invoice from the node, with the right description hash, for 1 sat more.
    const invoiceAmount = behaviour === 'wrong_amount' ? amountMsat + 1_000n : amountMsat;
    const invoice = await wallet.invoice({
      amountMsat: invoiceAmount,
      description: `lnurl ${name}`,
      metadata: metadataOf(name),
    });
    requests.push({ name, url: request.url ?? '', amountMsat, invoice });
    sendJson(response, { pr: invoice.bolt11, routes: [] });
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, { status: 'ERROR', reason: String(error) }, 500);
      else response.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    get host() {
      return host;
    },
    serve(name, behaviour = 'honest') {
      served.set(name, behaviour);
      return `${name}@${host}`;
    },
    metadataOf,
    requests,
    callbacks: (name) => requests.filter((one) => one.name === name && one.amountMsat !== null),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function sendJson(response: ServerResponse, body: unknown, status = 200): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}
