// validatePayoutInvoice (ARCHITECTURE §3 rule 5): one table row per refusal, each with the exact reason the
// worker gets back, plus the boundaries of each rule. The clock is a plain number (ctx.now()).
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type CurrencyPrefix,
  checkPayoutInvoice,
  type DecodedInvoice,
  decodeBolt11,
  encodeBolt11,
  type InvoiceToEncode,
  type PayoutCheck,
  type PayoutInvoiceRules,
  type PayoutRefusalCode,
  type TaggedField,
  type TaggedFieldKind,
  validatePayoutInvoice,
} from '../../../src/ldk/bolt11/index.ts';

const WORKER_NODE_KEY = hexToBytes('77'.repeat(32));
const AGENT_NODE_KEY = hexToBytes('88'.repeat(32));
const AGENT_NODE_ID = bytesToHex(secp256k1.getPublicKey(AGENT_NODE_KEY, true));
const ESCROW_HASH = '2'.repeat(64);
const PAYOUT_HASH = '3'.repeat(64);
const T0 = 1_800_000_000;

const WORKER_INVOICE: InvoiceToEncode = {
  currencyPrefix: 'bcrt',
  amountMsat: 21_000n,
  timestamp: T0,
  fields: [
    { kind: 'payment_hash', paymentHash: PAYOUT_HASH },
    { kind: 'payment_secret', paymentSecret: '4'.repeat(64) },
    { kind: 'description', description: 'payout for task 1' },
    { kind: 'expiry', seconds: 3600 },
    { kind: 'min_final_cltv_expiry_delta', blocks: 40 },
    { kind: 'features', bits: [8, 14, 16] },
  ],
};
const RULES: PayoutInvoiceRules = {
  expectedAmountMsat: 21_000n,
  network: 'regtest',
  nowSeconds: T0 + 60,
  ownNodeId: AGENT_NODE_ID,
  escrowPaymentHash: ESCROW_HASH,
};

interface InvoiceChanges {
  /** Fields that take the place of the field of the same kind. */
  replace?: TaggedField[];
  remove?: TaggedFieldKind[];
  amountMsat?: bigint | null;
  currencyPrefix?: CurrencyPrefix;
}

/** The worker's invoice, changed, signed by `key` (the worker's node unless said otherwise). */
function workerInvoice(changes: InvoiceChanges = {}, key = WORKER_NODE_KEY): DecodedInvoice {
  const replaced = new Map((changes.replace ?? []).map((field) => [field.kind, field]));
  const fields = WORKER_INVOICE.fields
    .filter((field) => !changes.remove?.includes(field.kind))
    .map((field) => replaced.get(field.kind) ?? field);
  const invoice: InvoiceToEncode = {
    ...WORKER_INVOICE,
    fields,
    amountMsat: changes.amountMsat === undefined ? WORKER_INVOICE.amountMsat : changes.amountMsat,
    currencyPrefix: changes.currencyPrefix ?? WORKER_INVOICE.currencyPrefix,
  };
  return decodeBolt11(encodeBolt11(invoice, { privateKey: key }));
}

test('a payout invoice that meets every rule is accepted', () => {
  assert.equal(validatePayoutInvoice(workerInvoice(), RULES), { ok: true });
});

const REFUSALS: [string, DecodedInvoice, Partial<PayoutInvoiceRules>, PayoutRefusalCode, string][] = [
  [
    'an invoice for another network',
    workerInvoice({ currencyPrefix: 'bc' }),
    {},
    'WrongNetwork',
    'invalid: payout invoice is for bitcoin, expected regtest',
  ],
  [
    'an invoice without an amount',
    workerInvoice({ amountMsat: null }),
    {},
    'AmountMissing',
    'invalid: payout invoice has no amount, it must be for exactly 21000 msat',
  ],
  [
    'an invoice for less than is owed',
    workerInvoice({ amountMsat: 1000n }),
    {},
    'AmountMismatch',
    'invalid: payout invoice is for 1000 msat, expected 21000 msat',
  ],
  [
    'an invoice for more than is owed',
    workerInvoice({ amountMsat: 21_001n }),
    {},
    'AmountMismatch',
    'invalid: payout invoice is for 21001 msat, expected 21000 msat',
  ],
  [
    'an expired invoice',
    workerInvoice(),
    { nowSeconds: T0 + 3600 },
    'Expired',
    'invalid: payout invoice expired at 2027-01-15T09:00:00.000Z',
  ],
  [
    'an invoice expiring before a payment can finish',
    workerInvoice(),
    { nowSeconds: T0 + 3600 - 599 },
    'ExpiresTooSoon',
    'invalid: payout invoice expires in 599 s, it must stay valid for at least 600 s',
  ],
  [
    'an invoice with a final CLTV delta above the cap',
    workerInvoice({ replace: [{ kind: 'min_final_cltv_expiry_delta', blocks: 145 }] }),
    {},
    'FinalCltvTooLarge',
    'invalid: payout invoice asks for a final CLTV delta of 145 blocks, at most 144 are allowed',
  ],
  [
    'an invoice payable to our own node',
    workerInvoice({}, AGENT_NODE_KEY),
    {},
    'PayeeIsOwnNode',
    "invalid: payout invoice is payable to this agent's own node",
  ],
  [
    'an invoice locked to the escrow hash',
    workerInvoice({ replace: [{ kind: 'payment_hash', paymentHash: ESCROW_HASH }] }),
    {},
    'PaymentHashIsEscrowHash',
    "invalid: payout invoice uses the escrow's payment hash, whose preimage is public",
  ],
  [
    'an invoice with a description longer than the cap',
    workerInvoice({ replace: [{ kind: 'description', description: 'ä'.repeat(129) }] }),
    {},
    'DescriptionTooLong',
    'invalid: payout invoice description is 258 bytes long, at most 256 are allowed',
  ],
];

for (const [name, invoice, rules, code, reason] of REFUSALS) {
  test(`a payout invoice is refused with ${code}: ${name}`, () => {
    assert.equal(validatePayoutInvoice(invoice, { ...RULES, ...rules }), { ok: false, code, reason });
  });
}

const BOUNDARIES: [string, DecodedInvoice, Partial<PayoutInvoiceRules>, PayoutCheck['ok']][] = [
  ['exactly the minimum lifetime left', workerInvoice(), { nowSeconds: T0 + 3600 - 600 }, true],
  [
    'one second of life left, with no minimum',
    workerInvoice(),
    { nowSeconds: T0 + 3599, minRemainingSeconds: 0 },
    true,
  ],
  ['the expiry instant itself', workerInvoice(), { nowSeconds: T0 + 3600, minRemainingSeconds: 0 }, false],
  [
    'a final CLTV delta at the cap',
    workerInvoice({ replace: [{ kind: 'min_final_cltv_expiry_delta', blocks: 144 }] }),
    {},
    true,
  ],
  ['a lower configured CLTV cap', workerInvoice(), { maxFinalCltvExpiryDelta: 39 }, false],
  [
    'no c field: the default of 18 blocks',
    workerInvoice({ remove: ['min_final_cltv_expiry_delta'] }),
    { maxFinalCltvExpiryDelta: 18 },
    true,
  ],
  [
    'no x field: the default of an hour',
    workerInvoice({ remove: ['expiry'] }),
    { nowSeconds: T0 + 3000 },
    true,
  ],
  ['no x field, an hour later', workerInvoice({ remove: ['expiry'] }), { nowSeconds: T0 + 3001 }, false],
  [
    'a description exactly at the cap',
    workerInvoice({ replace: [{ kind: 'description', description: 'ä'.repeat(128) }] }),
    {},
    true,
  ],
  [
    'a one-byte description with a cap of zero',
    workerInvoice({ replace: [{ kind: 'description', description: 'x' }] }),
    { maxDescriptionBytes: 0 },
    false,
  ],
  [
    'an empty description with a cap of zero',
    workerInvoice({ replace: [{ kind: 'description', description: '' }] }),
    { maxDescriptionBytes: 0 },
    true,
  ],
  [
    'our node id written in upper case',
    workerInvoice({}, AGENT_NODE_KEY),
    { ownNodeId: AGENT_NODE_ID.toUpperCase() },
    false,
  ],
  [
    'the escrow hash written in upper case',
    workerInvoice({ replace: [{ kind: 'payment_hash', paymentHash: ESCROW_HASH }] }),
    { escrowPaymentHash: ESCROW_HASH.toUpperCase() },
    false,
  ],
];

for (const [name, invoice, rules, ok] of BOUNDARIES) {
  test(`payout rule boundary, ${ok ? 'accepted' : 'refused'}: ${name}`, () => {
    assert.is(validatePayoutInvoice(invoice, { ...RULES, ...rules }).ok, ok);
  });
}

test('an invoice with a description hash has no description to measure', () => {
  const withHash = decodeBolt11(
    encodeBolt11(
      {
        ...WORKER_INVOICE,
        fields: WORKER_INVOICE.fields.map(
          (field): TaggedField =>
            field.kind === 'description'
              ? { kind: 'description_hash', descriptionHash: '5'.repeat(64) }
              : field,
        ),
      },
      { privateKey: WORKER_NODE_KEY },
    ),
  );
  assert.equal(validatePayoutInvoice(withHash, { ...RULES, maxDescriptionBytes: 0 }), { ok: true });
});

test('checkPayoutInvoice decodes and validates the worker string in one step', () => {
  const text = encodeBolt11(WORKER_INVOICE, { privateKey: WORKER_NODE_KEY });
  const accepted = checkPayoutInvoice(text, RULES);
  assert.ok(accepted.ok);
  if (accepted.ok) assert.is(accepted.invoice.paymentHash, PAYOUT_HASH);
  assert.equal(checkPayoutInvoice(text, { ...RULES, expectedAmountMsat: 20_000n }), {
    ok: false,
    code: 'AmountMismatch',
    reason: 'invalid: payout invoice is for 21000 msat, expected 20000 msat',
  });
});

test('checkPayoutInvoice refuses a string that is not an invoice with the decoder reason', () => {
  const text = encodeBolt11(WORKER_INVOICE, { privateKey: WORKER_NODE_KEY });
  assert.equal(checkPayoutInvoice(`${text.slice(0, -1)}${text.endsWith('q') ? 'p' : 'q'}`, RULES), {
    ok: false,
    code: 'Undecodable',
    reason:
      'invalid: payout invoice is not a valid BOLT11 invoice: the invoice checksum is wrong (a character is missing, extra or mistyped)',
  });
  const refused = checkPayoutInvoice('lnbcrt1', RULES);
  assert.is(refused.ok ? 'accepted' : refused.code, 'Undecodable');
});

test.run();
