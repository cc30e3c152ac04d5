// Table-driven refusals beyond the spec's vectors: broken strings, and invoices that are properly signed but
// whose fields break a rule, each refused with its own code. Invoices are built with encodeBolt11, which
// writes whatever it is given (a `skipped` field writes raw words under any tag).
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { bech32 } from '@scure/base';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type Bolt11ErrorCode,
  decodeBolt11,
  encodeBolt11,
  type InvoiceToEncode,
  MAX_INVOICE_LENGTH,
  type TaggedField,
  tryDecodeBolt11,
} from '../../../src/ldk/bolt11/index.ts';

const PAYEE_KEY = hexToBytes('e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734');
const PAYEE = bytesToHex(secp256k1.getPublicKey(PAYEE_KEY, true));
const OTHER_KEY = hexToBytes('11'.repeat(32));
const OTHER = bytesToHex(secp256k1.getPublicKey(OTHER_KEY, true));

const paymentHash: TaggedField = { kind: 'payment_hash', paymentHash: '22'.repeat(32) };
const paymentSecret: TaggedField = { kind: 'payment_secret', paymentSecret: '33'.repeat(32) };
const description: TaggedField = { kind: 'description', description: 'payout for task 1' };
const features: TaggedField = { kind: 'features', bits: [8, 14] };
const BASE: InvoiceToEncode = {
  currencyPrefix: 'bcrt',
  amountMsat: 21_000n,
  timestamp: 1_800_000_000,
  fields: [paymentHash, paymentSecret, description, features],
};
const GOOD = encodeBolt11(BASE, { privateKey: PAYEE_KEY });

function signed(fields: readonly TaggedField[], overrides: Partial<InvoiceToEncode> = {}): string {
  return encodeBolt11({ ...BASE, ...overrides, fields }, { privateKey: PAYEE_KEY });
}
function raw(tag: number, words: readonly number[]): TaggedField {
  return { kind: 'skipped', tag, words };
}
function rawBytes(tag: number, bytes: Uint8Array, prefixWords: number[] = []): TaggedField {
  return raw(tag, [...prefixWords, ...bech32.toWords(bytes)]);
}
/** The good invoice's words under another human-readable part (with a valid checksum). */
function withPrefix(humanReadablePart: string): string {
  return bech32.encode(humanReadablePart, bech32.decode(GOOD, false).words, false);
}
/** The good invoice's data words, edited, with its old signature and a fresh checksum. */
function withDataWords(edit: (data: number[]) => number[]): string {
  const { prefix, words } = bech32.decode(GOOD, false);
  return bech32.encode(prefix, [...edit(words.slice(0, -104)), ...words.slice(-104)], false);
}
function withSignature(compact: string, recoveryId: number, fields = BASE.fields): string {
  return encodeBolt11({ ...BASE, fields }, { signature: { compact, recoveryId, highS: false } });
}
function highS(compact: string): string {
  const signature = secp256k1.Signature.fromBytes(hexToBytes(compact), 'compact');
  return new secp256k1.Signature(signature.r, secp256k1.Point.Fn.ORDER - signature.s).toHex('compact');
}
const withPayee = [...BASE.fields, { kind: 'payee', nodeId: PAYEE } as TaggedField];
const lowSWithPayee = decodeBolt11(signed(withPayee)).signature;

test('the base invoice of these tables decodes', () => {
  const invoice = decodeBolt11(GOOD);
  assert.is(invoice.network, 'regtest');
  assert.is(invoice.amountMsat, 21_000n);
  assert.is(invoice.payeeNodeId, PAYEE);
});

const MALFORMED_STRINGS: [string, string, Bolt11ErrorCode][] = [
  ['an empty string', '', 'Malformed'],
  ['a string with a space', `${GOOD.slice(0, 20)} ${GOOD.slice(20)}`, 'Malformed'],
  ['a string with a non-ASCII character', `${GOOD.slice(0, 20)}é${GOOD.slice(21)}`, 'Malformed'],
  [
    'a string with a character outside the bech32 alphabet',
    `${GOOD.slice(0, 40)}b${GOOD.slice(41)}`,
    'Malformed',
  ],
  ['a string without the "1" separator', GOOD.slice(GOOD.lastIndexOf('1') + 1), 'Malformed'],
  ['a wrong checksum', `${GOOD.slice(0, -1)}${GOOD.endsWith('q') ? 'p' : 'q'}`, 'BadChecksum'],
  [
    'a mistyped character',
    `${GOOD.slice(0, 30)}${GOOD[30] === 'q' ? 'p' : 'q'}${GOOD.slice(31)}`,
    'BadChecksum',
  ],
  ['a truncated invoice', GOOD.slice(0, -10), 'BadChecksum'],
  ['mixed case', `${GOOD.slice(0, 10).toUpperCase()}${GOOD.slice(10)}`, 'MixedCase'],
  ['more than 7089 characters', `lnbc1${'q'.repeat(MAX_INVOICE_LENGTH)}`, 'TooLong'],
  ['a bech32 string that is not an invoice', withPrefix('bc'), 'NotAnInvoice'],
  ['an unknown network prefix', withPrefix('lnxy210n'), 'UnknownNetwork'],
  ['a multiplier without a number', withPrefix('lnbcm'), 'UnknownNetwork'],
  ['an amount with a leading zero', withPrefix('lnbcrt0210n'), 'InvalidAmount'],
  ['an amount of zero', withPrefix('lnbcrt0'), 'InvalidAmount'],
  ['an amount with a decimal point', withPrefix('lnbcrt2.5m'), 'InvalidAmount'],
  ['an unknown multiplier', withPrefix('lnbcrt210k'), 'InvalidAmount'],
  ['two multipliers', withPrefix('lnbcrt21mu'), 'InvalidAmount'],
  ['a p amount that is not a whole msat', withPrefix('lnbcrt2101p'), 'SubMillisatoshiAmount'],
  ['an amount above 21 million bitcoin', withPrefix('lnbcrt21000001'), 'AmountOutOfRange'],
  ['no room for a signature', bech32.encode('lnbcrt', new Array(110).fill(0), false), 'TooShort'],
  ['a field header cut short', withDataWords((data) => [...data, 1, 1]), 'TruncatedField'],
  ['a field running into the signature', withDataWords((data) => [...data, 13, 1, 0, 0]), 'TruncatedField'],
];

for (const [name, invoice, code] of MALFORMED_STRINGS) {
  test(`a malformed string is refused with ${code}: ${name}`, () => {
    const result = tryDecodeBolt11(invoice);
    assert.is(result.ok ? 'accepted' : result.error.code, code);
    if (!result.ok) assert.ok(result.error.message.length < 200, 'the message does not echo the invoice');
  });
}

const BAD_FIELDS: [string, string, Bolt11ErrorCode][] = [
  ['two payment hashes', signed([...BASE.fields, paymentHash]), 'DuplicateField'],
  ['two payment secrets', signed([...BASE.fields, paymentSecret]), 'DuplicateField'],
  ['two descriptions', signed([...BASE.fields, description]), 'DuplicateField'],
  [
    'two expiries',
    signed([...BASE.fields, { kind: 'expiry', seconds: 60 }, { kind: 'expiry', seconds: 3600 }]),
    'DuplicateField',
  ],
  ['two feature fields', signed([...BASE.fields, features]), 'DuplicateField'],
  ['two payee fields', signed([...withPayee, { kind: 'payee', nodeId: PAYEE }]), 'DuplicateField'],
  ['no payment hash', signed([paymentSecret, description]), 'MissingPaymentHash'],
  ['no payment secret', signed([paymentHash, description]), 'MissingPaymentSecret'],
  ['no description nor description hash', signed([paymentHash, paymentSecret]), 'MissingDescription'],
  [
    'both a description and a description hash',
    signed([...BASE.fields, { kind: 'description_hash', descriptionHash: '44'.repeat(32) }]),
    'ConflictingDescription',
  ],
  ['an expiry with a leading zero word', signed([...BASE.fields, raw(6, [0, 1])]), 'NonMinimalField'],
  ['a final CLTV with a leading zero word', signed([...BASE.fields, raw(24, [0, 18])]), 'NonMinimalField'],
  [
    'features with a leading zero word',
    signed([paymentHash, paymentSecret, description, raw(5, [0, 16, 8, 0])]),
    'NonMinimalField',
  ],
  ['an expiry wider than 50 bits', signed([...BASE.fields, raw(6, new Array(11).fill(1))]), 'InvalidField'],
  [
    'a payment hash with non-zero padding',
    signed([raw(1, [...new Array(51).fill(0), 1]), paymentSecret, description]),
    'NonZeroPadding',
  ],
  ['metadata with a whole word of padding', signed([...BASE.fields, raw(27, [0])]), 'NonZeroPadding'],
  [
    'a description that is not UTF-8',
    signed([paymentHash, paymentSecret, rawBytes(13, Uint8Array.of(0xff, 0xfe))]),
    'InvalidField',
  ],
  [
    'a payee field that is not a public key',
    signed([...BASE.fields, rawBytes(19, new Uint8Array(33))]),
    'InvalidField',
  ],
  ['an empty fallback address field', signed([...BASE.fields, raw(9, [])]), 'InvalidField'],
  [
    'a segwit v0 fallback of 17 bytes',
    signed([...BASE.fields, rawBytes(9, new Uint8Array(17), [0])]),
    'InvalidField',
  ],
  [
    'a pay-to-pubkey-hash fallback of 19 bytes',
    signed([...BASE.fields, rawBytes(9, new Uint8Array(19), [17])]),
    'InvalidField',
  ],
  ['a route hint of 50 bytes', signed([...BASE.fields, rawBytes(3, new Uint8Array(50))]), 'InvalidField'],
  [
    'a route hint through a node that is not a public key',
    signed([...BASE.fields, rawBytes(3, new Uint8Array(51))]),
    'InvalidField',
  ],
  [
    'a required feature we do not know',
    signed([paymentHash, paymentSecret, description, { kind: 'features', bits: [8, 14, 100] }]),
    'UnknownRequiredFeature',
  ],
  ['a recovery id of 4', withSignature(decodeBolt11(GOOD).signature.compact, 4), 'InvalidRecoveryId'],
  ['a signature of zeros', withSignature('00'.repeat(64), 0), 'SignatureNotRecoverable'],
  [
    'a payee field the signature does not match',
    signed([...BASE.fields, { kind: 'payee', nodeId: OTHER }]),
    'SignatureMismatch',
  ],
  [
    'a payee field with a signature of zeros',
    withSignature('00'.repeat(64), 0, withPayee),
    'SignatureMismatch',
  ],
  [
    'a payee field with a high-S signature',
    withSignature(highS(lowSWithPayee.compact), 0, withPayee),
    'HighSSignature',
  ],
];

for (const [name, invoice, code] of BAD_FIELDS) {
  test(`a signed invoice is refused with ${code}: ${name}`, () => {
    const result = tryDecodeBolt11(invoice);
    assert.is(result.ok ? 'accepted' : result.error.code, code);
  });
}

test('a payee field that verifies names the payee, and recovery is not used', () => {
  const invoice = decodeBolt11(signed(withPayee));
  assert.is(invoice.payeeNodeId, PAYEE);
  assert.is(invoice.payeeNodeIdSource, 'n-field');
});

test('without a payee field, a high-S signature is accepted and recovers with the flipped recovery id', () => {
  const lowS = decodeBolt11(GOOD).signature;
  const invoice = decodeBolt11(withSignature(highS(lowS.compact), lowS.recoveryId ^ 1));
  assert.is(invoice.signature.highS, true);
  assert.is(invoice.payeeNodeId, PAYEE);
});

test('unknown odd features, unknown field types and fallbacks of unknown version are accepted and kept', () => {
  const unknownType = raw(10, [1, 2, 3]);
  const unknownFallback = rawBytes(9, new Uint8Array(20), [19]);
  const invoice = decodeBolt11(
    signed([
      paymentHash,
      paymentSecret,
      description,
      { kind: 'features', bits: [9, 15, 17, 101] },
      unknownType,
      unknownFallback,
    ]),
  );
  assert.equal(invoice.features, [9, 15, 17, 101]);
  assert.equal(invoice.fallbackAddresses, []);
  assert.equal(
    invoice.fields.filter((field) => field.kind === 'skipped'),
    [unknownType, unknownFallback],
  );
});

test('every network prefix decodes to its network name', () => {
  const names = { bc: 'bitcoin', tb: 'testnet', tbs: 'signet', bcrt: 'regtest', sb: 'simnet' } as const;
  for (const [currencyPrefix, name] of Object.entries(names) as [keyof typeof names, string][]) {
    const invoice = decodeBolt11(signed(BASE.fields, { currencyPrefix }));
    assert.is(invoice.network, name);
    assert.is(invoice.currencyPrefix, currencyPrefix);
  }
});

test('amounts in every multiplier decode to msat and encode back in the shortest form', () => {
  const cases: [string, bigint][] = [
    ['lnbcrt1', 100_000_000_000n],
    ['lnbcrt1m', 100_000_000n],
    ['lnbcrt1u', 100_000n],
    ['lnbcrt1n', 100n],
    ['lnbcrt10p', 1n],
    ['lnbcrt2500u', 250_000_000n],
    ['lnbcrt21000000', 2_100_000_000_000_000_000n],
  ];
  for (const [humanReadablePart, msat] of cases) {
    const text = signed(BASE.fields, { amountMsat: msat });
    assert.ok(text.startsWith(`${humanReadablePart}1`), `${msat} msat is written as ${humanReadablePart}`);
    assert.is(decodeBolt11(text).amountMsat, msat);
    assert.is(decodeBolt11(withPrefix(humanReadablePart)).amountMsat, msat);
  }
});

test('an uppercase invoice decodes like its lowercase form', () => {
  assert.equal(decodeBolt11(GOOD.toUpperCase()), decodeBolt11(GOOD));
});

test.run();
