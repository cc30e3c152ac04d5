// One NIP-47 request against the backend (any HoldInvoiceBackend: the sandbox's agent node here). Parameters
// are parsed with zod; a refusal of the backend becomes a NIP-47 error whose message starts with the port's
// code. Methods this service was told not to offer answer NOT_IMPLEMENTED.
import { z } from 'zod';
import { tryDecodeBolt11 } from '../bolt11/index.ts';
import {
  EXTENSION_FIELDS,
  type Nip47Error,
  type Nip47Method,
  type Nip47NotificationType,
} from '../nwc/nip47.ts';
import type { CreatedHoldInvoice, HoldInvoiceBackend } from '../port.ts';
import { invalidArgument, toNip47Error } from './service-errors.ts';
import { holdTransaction, paymentTransaction, type SentPayment } from './to-transaction.ts';

/** Plain invoices, claimed on payment (the sandbox's nodes: SandboxBackend.createInvoice). */
export interface InvoiceMaker {
  createInvoice(request: {
    amountMsat: bigint;
    description: string;
    expirySeconds: number;
  }): Promise<CreatedHoldInvoice>;
}

export interface ServiceSettings {
  backend: HoldInvoiceBackend;
  /** What make_invoice uses; without one, make_invoice answers NOT_IMPLEMENTED. */
  invoiceMaker?: InvoiceMaker;
  methods: readonly Nip47Method[];
  notifications: readonly Nip47NotificationType[];
  extensions: boolean;
  alias: string;
  /** Invoices paid through this service, by payment hash (lookup_invoice returns them). */
  sent: Map<string, SentPayment>;
}

export type HandlerOutcome = { result: unknown } | { error: Nip47Error };

const msat = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const DEFAULT_EXPIRY_SECONDS = 86_400;
const DEFAULT_FINAL_CLTV_DELTA = 144;
const DEFAULT_PAY_TIMEOUT_SECONDS = 60;
const MAX_PAY_TIMEOUT_SECONDS = 600;
const MAX_REMEMBERED_PAYMENTS = 10_000;

const paramSchemas = {
  get_info: z.object({}),
  get_balance: z.object({}),
  make_hold_invoice: z.object({
    amount: msat,
    payment_hash: z.string(),
    description: z.string().optional(),
    description_hash: z.string().optional(),
    expiry: z.number().optional(),
    min_cltv_expiry_delta: z.number().optional(),
  }),
  settle_hold_invoice: z.object({ preimage: z.string() }),
  cancel_hold_invoice: z.object({ payment_hash: z.string() }),
  lookup_invoice: z.object({ payment_hash: z.string().optional(), invoice: z.string().optional() }),
  list_transactions: z.object({
    from: z.number().int().optional(),
    until: z.number().int().optional(),
    limit: z.number().int().positive().max(1000).optional(),
    offset: z.number().int().nonnegative().optional(),
    unpaid: z.boolean().optional(),
    type: z.enum(['incoming', 'outgoing']).optional(),
  }),
  pay_invoice: z.object({
    invoice: z.string(),
    amount: msat.optional(),
    [EXTENSION_FIELDS.maxFeeMsat]: msat.optional(),
    [EXTENSION_FIELDS.timeoutSeconds]: z.number().positive().optional(),
  }),
  make_invoice: z.object({
    amount: msat.refine((amount) => amount > 0, 'amount must be more than 0 msat'),
    description: z.string().max(639).optional(),
    description_hash: z.string().optional(),
    expiry: z.number().int().positive().max(31_536_000).optional(),
  }),
} satisfies Record<Nip47Method, z.ZodType>;

export function isServedMethod(method: string): method is Nip47Method {
  return Object.hasOwn(paramSchemas, method);
}

export async function handleRequest(
  settings: ServiceSettings,
  method: string,
  params: Record<string, unknown>,
): Promise<HandlerOutcome> {
  if (!isServedMethod(method) || !settings.methods.includes(method)) {
    return { error: { code: 'NOT_IMPLEMENTED', message: `${method} is not offered by this wallet service` } };
  }
  const parsed = paramSchemas[method].safeParse(params);
  if (!parsed.success)
    return { error: invalidArgument(`${method}: ${parsed.error.issues[0]?.message ?? 'bad params'}`) };
  try {
    return await run(settings, method, parsed.data as Record<string, unknown>);
  } catch (error) {
    return { error: toNip47Error(error) };
  }
}

async function run(
  settings: ServiceSettings,
  method: Nip47Method,
  params: Record<string, unknown>,
): Promise<HandlerOutcome> {
  const { backend, extensions } = settings;
  switch (method) {
    case 'get_info': {
      const info = await backend.getInfo();
      return {
        result: {
          alias: settings.alias,
          color: '#f7931a',
          pubkey: info.nodeId,
          network: info.network === 'bitcoin' ? 'mainnet' : info.network,
          block_height: info.blockHeight,
          block_hash: '',
          methods: settings.methods,
          notifications: settings.notifications,
        },
      };
    }
    case 'get_balance': {
      const info = await backend.getInfo();
      return {
        result: {
          balance: Number(info.localBalanceMsat),
          ...(extensions ? { [EXTENSION_FIELDS.maxReceivable]: Number(info.remoteBalanceMsat) } : {}),
        },
      };
    }
    case 'make_hold_invoice': {
      const request = params as z.infer<(typeof paramSchemas)['make_hold_invoice']>;
      if (request.description_hash !== undefined) {
        return { error: invalidArgument('description_hash is not supported; send a description') };
      }
      await backend.createHoldInvoice({
        paymentHash: request.payment_hash,
        amountMsat: BigInt(request.amount),
        description: request.description ?? '',
        expirySeconds: request.expiry ?? DEFAULT_EXPIRY_SECONDS,
        finalCltvDelta: request.min_cltv_expiry_delta ?? DEFAULT_FINAL_CLTV_DELTA,
      });
      const hold = await backend.lookup(request.payment_hash);
      if (!hold)
        return { error: { code: 'INTERNAL', message: 'the invoice was created but cannot be read back' } };
      return { result: holdTransaction(hold, extensions) };
    }
    case 'settle_hold_invoice':
      await backend.settle((params as { preimage: string }).preimage);
      return { result: {} };
    case 'cancel_hold_invoice':
      await backend.cancel((params as { payment_hash: string }).payment_hash);
      return { result: {} };
    case 'lookup_invoice':
      return lookupInvoice(settings, params as { payment_hash?: string; invoice?: string });
    case 'list_transactions':
      return listTransactions(settings, params as z.infer<(typeof paramSchemas)['list_transactions']>);
    case 'pay_invoice':
      return payInvoice(settings, params as z.infer<(typeof paramSchemas)['pay_invoice']>);
    case 'make_invoice':
      return makeInvoice(settings, params as z.infer<(typeof paramSchemas)['make_invoice']>);
  }
}

async function makeInvoice(
  settings: ServiceSettings,
  params: z.infer<(typeof paramSchemas)['make_invoice']>,
): Promise<HandlerOutcome> {
  if (!settings.invoiceMaker) {
    return {
      error: { code: 'NOT_IMPLEMENTED', message: 'make_invoice is not offered by this wallet service' },
    };
  }
  if (params.description_hash !== undefined) {
    return { error: invalidArgument('description_hash is not supported; send a description') };
  }
  const created = await settings.invoiceMaker.createInvoice({
    amountMsat: BigInt(params.amount),
    description: params.description ?? '',
    expirySeconds: params.expiry ?? DEFAULT_EXPIRY_SECONDS,
  });
  const now = Math.floor(Date.now() / 1000);
  return {
    result: {
      type: 'incoming',
      state: 'pending',
      invoice: created.bolt11,
      description: params.description ?? '',
      payment_hash: created.paymentHash,
      amount: params.amount,
      fees_paid: 0,
      created_at: now,
      expires_at: created.expiresAt,
    },
  };
}

async function lookupInvoice(
  settings: ServiceSettings,
  params: { payment_hash?: string; invoice?: string },
): Promise<HandlerOutcome> {
  let paymentHash = params.payment_hash;
  if (paymentHash === undefined && params.invoice !== undefined) {
    const decoded = tryDecodeBolt11(params.invoice);
    if (!decoded.ok) return { error: invalidArgument(`invoice: ${decoded.error.message}`) };
    paymentHash = decoded.invoice.paymentHash;
  }
  if (paymentHash === undefined) return { error: invalidArgument('payment_hash or invoice is required') };
  const hold = await settings.backend.lookup(paymentHash);
  if (hold) return { result: holdTransaction(hold, settings.extensions) };
  const payment = await settings.backend.paymentStatus(paymentHash);
  if (payment)
    return { result: paymentTransaction(payment, settings.sent.get(paymentHash), settings.extensions) };
  return {
    error: { code: 'NOT_FOUND', message: `UnknownHash: no invoice or payment with hash ${paymentHash}` },
  };
}

/** Holds only (the port cannot list payments), newest first, as NIP-47 orders them. */
async function listTransactions(
  settings: ServiceSettings,
  params: z.infer<(typeof paramSchemas)['list_transactions']>,
): Promise<HandlerOutcome> {
  if (params.type === 'outgoing') return { result: { transactions: [], total_count: 0 } };
  const until = params.until ?? Number.MAX_SAFE_INTEGER;
  const holds = (await settings.backend.list())
    .filter((hold) => params.unpaid === true || hold.state === 'SETTLED')
    .filter((hold) => hold.createdAt >= (params.from ?? 0) && hold.createdAt <= until)
    .sort((left, right) => right.createdAt - left.createdAt);
  const offset = params.offset ?? 0;
  const page = holds.slice(offset, offset + (params.limit ?? 50));
  return {
    result: {
      transactions: page.map((hold) => holdTransaction(hold, settings.extensions)),
      total_count: holds.length,
    },
  };
}

async function payInvoice(
  settings: ServiceSettings,
  params: z.infer<(typeof paramSchemas)['pay_invoice']>,
): Promise<HandlerOutcome> {
  const decoded = tryDecodeBolt11(params.invoice);
  if (!decoded.ok) return { error: invalidArgument(`invoice: ${decoded.error.message}`) };
  const amountMsat = decoded.invoice.amountMsat;
  if (params.amount !== undefined && (amountMsat === null || BigInt(params.amount) !== amountMsat)) {
    return { error: invalidArgument('amount: this wallet pays only the amount the invoice names') };
  }
  const maxFee = settings.extensions ? params[EXTENSION_FIELDS.maxFeeMsat] : undefined;
  const timeout = settings.extensions ? params[EXTENSION_FIELDS.timeoutSeconds] : undefined;
  const paymentHash = decoded.invoice.paymentHash;
  if (!settings.sent.has(paymentHash)) {
    settings.sent.set(paymentHash, { bolt11: params.invoice, createdAt: Math.floor(Date.now() / 1000) });
    if (settings.sent.size > MAX_REMEMBERED_PAYMENTS)
      settings.sent.delete(settings.sent.keys().next().value as string);
  }
  const result = await settings.backend.pay({
    bolt11: params.invoice,
    // NIP-47 has no fee cap: without the extension, 1% of the amount and at least 10 sat.
    maxFeeMsat: maxFee !== undefined ? BigInt(maxFee) : defaultFeeCap(amountMsat ?? 0n),
    timeoutSeconds: Math.min(timeout ?? DEFAULT_PAY_TIMEOUT_SECONDS, MAX_PAY_TIMEOUT_SECONDS),
  });
  switch (result.status) {
    case 'succeeded':
      return { result: { preimage: result.preimage, fees_paid: Number(result.feeMsat) } };
    case 'failed':
      return {
        error: {
          code: result.reason === 'insufficient_balance' ? 'INSUFFICIENT_BALANCE' : 'PAYMENT_FAILED',
          message: `${result.reason}: ${result.detail}`,
        },
      };
    case 'pending':
      // Not a failure: an HTLC is in flight. NIP-47 has no word for it; the client looks the payment up.
      return {
        error: { code: 'INTERNAL', message: 'pending: the payment is still in flight; look it up later' },
      };
  }
}

function defaultFeeCap(amountMsat: bigint): bigint {
  const onePercent = amountMsat / 100n;
  return onePercent > 10_000n ? onePercent : 10_000n;
}
