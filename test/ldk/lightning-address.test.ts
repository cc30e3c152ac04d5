// The Lightning-address client against a real HTTP server on 127.0.0.1 (random port), serving LUD-16 pay
// requests and callbacks whose invoices are real signed regtest BOLT11 strings (encodeBolt11, a fixed test
// key), so each refusal is the client's own judgement of a well-formed answer. One case serves the callback
// over https with a self-signed certificate (openssl), skipped with a SKIP line when openssl is missing.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type CurrencyPrefix, encodeBolt11, type TaggedField } from '../../src/ldk/bolt11/index.ts';
import {
  type AddressFetchOptions,
  type AddressFetchResult,
  fetchInvoiceFromAddress,
  nonPublicAddressKind,
  parseLightningAddress,
} from '../../src/ldk/lightning-address.ts';
import { createStandinTls, opensslAvailable } from '../fakes/lnd-standin/standin-tls.ts';

const PAYEE_KEY = hexToBytes('e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734');
const AMOUNT = 21_000n;
const METADATA = JSON.stringify([
  ['text/plain', 'Refund to alice'],
  ['text/identifier', 'alice@example.com'],
]);
const utf8 = new TextEncoder();
const METADATA_HASH = bytesToHex(sha256(utf8.encode(METADATA)));

// ---------------------------------------------------------------------------------------------------------
// Invoices

interface InvoiceShape {
  amountMsat?: bigint | null;
  currencyPrefix?: CurrencyPrefix;
  /** null: a plain description (d) instead of a hash. */
  descriptionHash?: string | null;
  timestamp?: number;
  expirySeconds?: number;
}

let invoiceCount = 0;
function makeInvoice(shape: InvoiceShape = {}): { bolt11: string; paymentHash: string } {
  invoiceCount += 1;
  const paymentHash = bytesToHex(sha256(utf8.encode(`preimage ${invoiceCount}`)));
  const descriptionHash = shape.descriptionHash === undefined ? METADATA_HASH : shape.descriptionHash;
  const fields: TaggedField[] = [
    { kind: 'payment_hash', paymentHash },
    { kind: 'payment_secret', paymentSecret: '33'.repeat(32) },
    descriptionHash === null
      ? { kind: 'description', description: 'Refund to alice' }
      : { kind: 'description_hash', descriptionHash },
    { kind: 'expiry', seconds: shape.expirySeconds ?? 600 },
    { kind: 'features', bits: [8, 14] },
  ];
  const bolt11 = encodeBolt11(
    {
      currencyPrefix: shape.currencyPrefix ?? 'bcrt',
      amountMsat: shape.amountMsat === undefined ? AMOUNT : shape.amountMsat,
      timestamp: shape.timestamp ?? Math.floor(Date.now() / 1000),
      fields,
    },
    { privateKey: PAYEE_KEY },
  );
  return { bolt11, paymentHash };
}

// ---------------------------------------------------------------------------------------------------------
// The server: one handler per path, every request's path and query recorded.

type Handler = (request: IncomingMessage, response: ServerResponse) => void;
const routes = new Map<string, Handler>();
const requests: string[] = [];
let server: Server;
let base = '';
let host = '';

function sendJson(response: ServerResponse, body: unknown, status = 200): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/** Serves `name`'s pay request (with `payRequest` overriding its fields) and its callback answer. */
function serve(
  name: string,
  payRequest: Record<string, unknown> = {},
  callback: (query: URLSearchParams) => unknown = () => ({ pr: makeInvoice().bolt11, routes: [] }),
): string {
  routes.set(`/.well-known/lnurlp/${name}`, (_request, response) =>
    sendJson(response, {
      tag: 'payRequest',
      callback: `${base}/callback/${name}`,
      minSendable: 1_000,
      maxSendable: 1_000_000_000,
      metadata: METADATA,
      ...payRequest,
    }),
  );
  routes.set(`/callback/${name}`, (request, response) =>
    sendJson(response, callback(new URL(request.url!, base).searchParams)),
  );
  return `${name}@${host}`;
}

function requestsFor(name: string): string[] {
  return requests.filter((path) => path.includes(`/${name}`));
}

const LOCAL: AddressFetchOptions = {
  amountMsat: AMOUNT,
  network: 'regtest',
  allowHttp: true,
  allowPrivateAddresses: true,
};

async function refusal(address: string, options: Partial<AddressFetchOptions> = {}) {
  const result: AddressFetchResult = await fetchInvoiceFromAddress(address, { ...LOCAL, ...options });
  if (result.ok) assert.unreachable(`expected a refusal, got ${result.bolt11}`);
  return result as Extract<AddressFetchResult, { ok: false }>;
}

test.before(async () => {
  server = createServer((request, response) => {
    requests.push(request.url ?? '');
    const handler = routes.get(new URL(request.url ?? '/', 'http://x').pathname);
    if (handler) handler(request, response);
    else sendJson(response, { status: 'ERROR', reason: 'not found' }, 404);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  host = `127.0.0.1:${port}`;
  base = `http://${host}`;
});

test.after(async () => {
  server.closeAllConnections();
  server.close();
});

// ---------------------------------------------------------------------------------------------------------
// The address

test('parseLightningAddress accepts LUD-16 addresses and lower-cases them', () => {
  assert.equal(parseLightningAddress('alice@example.com'), { name: 'alice', domain: 'example.com' });
  assert.equal(parseLightningAddress('Alice.B+tip_1-x@Pay.Example.COM'), {
    name: 'alice.b+tip_1-x',
    domain: 'pay.example.com',
  });
  assert.equal(parseLightningAddress('  bob@example.org\n'), { name: 'bob', domain: 'example.org' });
  assert.equal(parseLightningAddress('alice@127.0.0.1:8080', { allowHttp: true }), {
    name: 'alice',
    domain: '127.0.0.1:8080',
  });
  const longest = `${'a'.repeat(320 - '@example.com'.length)}@example.com`;
  assert.is(parseLightningAddress(longest)?.domain, 'example.com');
});

const NOT_ADDRESSES: [string, string][] = [
  ['', 'the Lightning address is empty'],
  ['alice', 'has no "@"'],
  ['a@b@example.com', 'more than one "@"'],
  ['@example.com', 'no name before the "@"'],
  ['alice@', 'no domain after the "@"'],
  ['al ice@example.com', 'not printable ASCII'],
  ['alice!@example.com', 'may only contain a-z 0-9 - _ . +'],
  ['ａlice@example.com', 'not printable ASCII'],
  ['\u212Aate@example.com', 'not printable ASCII'],
  ['..@example.com', 'cannot be ".."'],
  ['alice@localhost', 'not a hostname like example.com'],
  ['alice@exa_mple.com', 'not a hostname like example.com'],
  ['alice@-example.com', 'not a hostname like example.com'],
  ['alice@example.com.', 'not a hostname like example.com'],
  ['alice@example.com/x', 'not a hostname like example.com'],
  ['alice@[::1]', 'not a hostname like example.com'],
  ['alice@example.com:8080', 'names a port, which only a test setup (allowHttp) allows'],
  [`${'a'.repeat(321 - '@example.com'.length)}@example.com`, 'has 321 characters, more than 320'],
];

test('parseLightningAddress refuses what is not an address, and the fetch says exactly why', async () => {
  for (const [text, why] of NOT_ADDRESSES) {
    assert.is(parseLightningAddress(text), null, text);
    const result = await fetchInvoiceFromAddress(text, { ...LOCAL, allowHttp: false });
    assert.is(result.ok, false, text);
    if (!result.ok) {
      assert.ok(result.reason.includes(why), `${text}: ${result.reason}`);
      assert.is(result.retryable, false, text);
    }
  }
});

test('a port is refused without allowHttp, and out of range with it', () => {
  assert.is(parseLightningAddress('alice@example.com:8080'), null);
  assert.ok(parseLightningAddress('alice@example.com:8080', { allowHttp: true }));
  for (const port of ['0', '65536', '080', 'x', '']) {
    assert.is(parseLightningAddress(`alice@example.com:${port}`, { allowHttp: true }), null, port);
  }
});

// ---------------------------------------------------------------------------------------------------------
// Which addresses may be connected to

test('non-public addresses are named, IPv4-mapped and 6to4 forms included; public ones pass', () => {
  const cases: [string, string | null][] = [
    ['127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private (RFC 1918)'],
    ['172.16.0.1', 'private (RFC 1918)'],
    ['192.168.1.1', 'private (RFC 1918)'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT (100.64.0.0/10)'],
    ['0.0.0.0', '"this network" (0.0.0.0/8)'],
    ['224.0.0.251', 'multicast'],
    ['255.255.255.255', 'reserved (240.0.0.0/4)'],
    ['::1', 'loopback'],
    ['::', 'unspecified (::)'],
    ['fd00::1', 'unique-local (fc00::/7)'],
    ['fe80::1%eth0', 'link-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback (127.0.0.1)'],
    ['::ffff:a00:1', 'IPv4-mapped private (RFC 1918) (10.0.0.1)'],
    ['2002:c0a8:101::', '6to4 private (RFC 1918) (192.168.1.1)'],
    ['64:ff9b::7f00:1', 'NAT64 loopback (127.0.0.1)'],
    ['8.8.8.8', null],
    ['100.128.0.1', null],
    ['172.32.0.1', null],
    ['::ffff:8.8.8.8', null],
    ['2606:4700:4700::1111', null],
    ['not an address', 'unrecognised'],
  ];
  for (const [address, kind] of cases) assert.is(nonPublicAddressKind(address), kind, address);
});

test('the test server on 127.0.0.1 is refused by default, naming why, and never asked', async () => {
  const address = serve('private');
  const result = await refusal(address, { allowPrivateAddresses: undefined });
  assert.is(
    result.reason,
    `the Lightning address service at ${host}: the host 127.0.0.1 resolves to 127.0.0.1, a loopback address; only public addresses are allowed`,
  );
  assert.is(result.retryable, false);
  assert.equal(requestsFor('private'), []);
});

test('without allowHttp nothing goes over http: an address with a port is refused before any request', async () => {
  const address = serve('plain');
  const result = await refusal(address, { allowHttp: false });
  assert.ok(
    result.reason.includes('names a port, which only a test setup (allowHttp) allows'),
    result.reason,
  );
  assert.equal(requestsFor('plain'), []);
});

// ---------------------------------------------------------------------------------------------------------
// The happy paths

test('an address gives its invoice and payment hash, the callback asked for the exact amount', async () => {
  const invoice = makeInvoice();
  const address = serve('alice', {}, () => ({ pr: invoice.bolt11, routes: [] }));
  const result = await fetchInvoiceFromAddress(address.toUpperCase(), LOCAL);
  assert.equal(result, { ok: true, bolt11: invoice.bolt11, paymentHash: invoice.paymentHash });
  assert.equal(requestsFor('alice'), ['/.well-known/lnurlp/alice', '/callback/alice?amount=21000']);
});

test('a callback that has a query string already gets the amount appended to it', async () => {
  const invoice = makeInvoice();
  let token: string | null = null;
  const address = serve(
    'query',
    { callback: `${base}/callback/query?token=a%20b&lang=en#fragment` },
    (query) => {
      token = query.get('token');
      return { pr: invoice.bolt11 };
    },
  );
  const result = await fetchInvoiceFromAddress(address, LOCAL);
  assert.equal(result, { ok: true, bolt11: invoice.bolt11, paymentHash: invoice.paymentHash });
  assert.equal(requestsFor('query'), [
    '/.well-known/lnurlp/query',
    '/callback/query?token=a%20b&lang=en&amount=21000',
  ]);
  assert.is(token, 'a b');
});

const tlsTest = opensslAvailable() ? test : test.skip;
if (!opensslAvailable()) {
  console.log('SKIP the https callback case: it needs the openssl command to make a TLS certificate');
}

tlsTest(
  'an https callback is reached by name with the given CA, and refused with Node’s own CAs',
  async () => {
    const tls = createStandinTls('lightning-address-test');
    const invoice = makeInvoice();
    const secure = createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, (_request, response) =>
      sendJson(response, { pr: invoice.bolt11 }),
    );
    secure.listen(0, '127.0.0.1');
    await once(secure, 'listening');
    try {
      const port = (secure.address() as AddressInfo).port;
      const address = serve('secure', { callback: `https://localhost:${port}/callback` });
      const result = await fetchInvoiceFromAddress(address, { ...LOCAL, ca: tls.certPem });
      assert.equal(result, { ok: true, bolt11: invoice.bolt11, paymentHash: invoice.paymentHash });
      const untrusted = await refusal(address);
      assert.is(
        untrusted.reason,
        `the pay callback at localhost:${port}: the connection failed (DEPTH_ZERO_SELF_SIGNED_CERT)`,
      );
      assert.is(untrusted.retryable, true);
    } finally {
      secure.closeAllConnections();
      secure.close();
    }
  },
);

// ---------------------------------------------------------------------------------------------------------
// The invoice

test('an invoice for another amount, or for none, is refused', async () => {
  const other = serve('other-amount', {}, () => ({ pr: makeInvoice({ amountMsat: 20_000n }).bolt11 }));
  const wrong = await refusal(other);
  assert.is(
    wrong.reason,
    `the invoice from the pay callback at ${host} is for 20000 msat, not the 21000 msat asked for`,
  );
  assert.is(wrong.retryable, false);
  const none = serve('no-amount', {}, () => ({ pr: makeInvoice({ amountMsat: null }).bolt11 }));
  assert.ok((await refusal(none)).reason.endsWith('names no amount; it must be for exactly 21000 msat'));
});

test('an invoice without a description hash, or with another one, is refused', async () => {
  const plain = serve('plain-description', {}, () => ({ pr: makeInvoice({ descriptionHash: null }).bolt11 }));
  assert.ok(
    (await refusal(plain)).reason.endsWith(
      'has no description hash (LUD-06: it must be the sha256 of the metadata)',
    ),
  );
  const otherHash = bytesToHex(sha256(utf8.encode(`${METADATA} `)));
  const wrong = serve('wrong-hash', {}, () => ({ pr: makeInvoice({ descriptionHash: otherHash }).bolt11 }));
  const result = await refusal(wrong);
  assert.ok(result.reason.endsWith('has a description hash that is not the sha256 of the metadata'));
  assert.is(result.retryable, false);
});

test('an invoice for another network is refused', async () => {
  const testnet = serve('testnet', {}, () => ({ pr: makeInvoice({ currencyPrefix: 'tb' }).bolt11 }));
  assert.is(
    (await refusal(testnet)).reason,
    `the invoice from the pay callback at ${host} is for testnet, not regtest`,
  );
  const mainnet = serve('mainnet', {}, () => ({ pr: makeInvoice().bolt11 }));
  assert.ok((await refusal(mainnet, { network: 'bitcoin' })).reason.endsWith('is for regtest, not bitcoin'));
});

test('an expired invoice, and a string that is no invoice, are refused', async () => {
  const expired = serve('expired', {}, () => ({
    pr: makeInvoice({ timestamp: 1_700_000_000, expirySeconds: 3600 }).bolt11,
  }));
  assert.ok((await refusal(expired)).reason.endsWith('expired at 2023-11-14T23:13:20.000Z'));
  const garbage = serve('garbage', {}, () => ({ pr: 'lnbcrt1garbage' }));
  const result = await refusal(garbage);
  assert.ok(
    result.reason.startsWith(`the invoice from the pay callback at ${host} is not valid: `),
    result.reason,
  );
  const missing = serve('missing', {}, () => ({ routes: [] }));
  assert.ok((await refusal(missing)).reason.endsWith('answered without an invoice (pr)'));
});

// ---------------------------------------------------------------------------------------------------------
// The pay request

test('an amount outside minSendable..maxSendable is refused before the callback is asked', async () => {
  const high = serve('min', { minSendable: 50_000 });
  assert.is(
    (await refusal(high)).reason,
    `the Lightning address service at ${host} accepts 50000 to 1000000000 msat, and 21000 msat is below that`,
  );
  const low = serve('max', { maxSendable: 20_000 });
  assert.ok((await refusal(low)).reason.endsWith('accepts 1000 to 20000 msat, and 21000 msat is above that'));
  assert.equal(requestsFor('min'), ['/.well-known/lnurlp/min']);
  assert.equal(requestsFor('max'), ['/.well-known/lnurlp/max']);
});

test('a malformed pay request is refused, naming what is wrong', async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ tag: 'withdrawRequest' }, 'is not an LNURL pay request (no tag "payRequest")'],
    [{ callback: 42 }, 'answered without a callback URL'],
    [{ minSendable: '1000' }, 'answered with a minSendable that is not a whole number of msat'],
    [{ maxSendable: 1.5 }, 'answered with a maxSendable that is not a whole number of msat'],
    [{ minSendable: 5_000, maxSendable: 4_000 }, 'answered with minSendable 5000 above maxSendable 4000'],
    [{ metadata: [['text/plain', 'x']] }, 'answered without metadata (a JSON string)'],
    [{ metadata: '{"text/plain":"x"}' }, 'answered with metadata that is not a JSON array'],
    [{ callback: 'ftp://example.com/cb' }, 'is not an https URL'],
    [{ callback: `http://user:secret@${host}/cb` }, 'carries a user name or password, which is not allowed'],
    [{ callback: 'not a url' }, 'is not a URL'],
  ];
  for (const [index, [fields, why]] of cases.entries()) {
    const result = await refusal(serve(`malformed-${index}`, fields));
    assert.ok(result.reason.endsWith(why), `${why}: ${result.reason}`);
    assert.ok(!result.reason.includes('secret'), result.reason);
    assert.is(result.retryable, false);
  }
});

test("a service's ERROR answer is reported, cleaned of control characters and cut to 200 characters", async () => {
  const first = serve('unknown-user');
  routes.set('/.well-known/lnurlp/unknown-user', (_request, response) =>
    sendJson(response, { status: 'ERROR', reason: 'no such user' }),
  );
  const refused = await refusal(first);
  assert.is(refused.reason, `the Lightning address service at ${host} refused: no such user`);
  assert.is(refused.retryable, false);

  const noisy = `\u001b[31mnode\u0007 offline\u202e\r\n ${'x'.repeat(500)}`;
  const second = serve('noisy', {}, () => ({ status: 'ERROR', reason: noisy }));
  const result = await refusal(second);
  const prefix = `the pay callback at ${host} refused: `;
  assert.ok(result.reason.startsWith(prefix), result.reason);
  const reported = result.reason.slice(prefix.length);
  assert.is(Array.from(reported).length, 200);
  assert.ok(reported.startsWith('[31mnode offline x'), reported);
  assert.ok(reported.endsWith('x…'), reported);
  assert.not.match(reported, /[\p{Cc}\u202e]/u);
});

// ---------------------------------------------------------------------------------------------------------
// The transport

test('an answer larger than maxResponseBytes is refused, declared or streamed', async () => {
  const big = serve('big', { padding: 'y'.repeat(5_000) });
  const declared = await refusal(big, { maxResponseBytes: 1_024 });
  assert.is(declared.reason, `the Lightning address service at ${host} answered with more than 1024 bytes`);
  assert.is(declared.retryable, false);

  // A declared length beyond the limit is refused at once, without waiting for a body that never comes.
  const liar = serve('liar');
  routes.set('/callback/liar', (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': 100_000 });
    response.write('{"pr":"');
  });
  const early = await refusal(liar, { maxResponseBytes: 1_024, timeoutMs: 5_000 });
  assert.is(early.reason, `the pay callback at ${host} answered with more than 1024 bytes`);

  const streamed = serve('streamed');
  routes.set('/callback/streamed', (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.write(`{"pr":"${'z'.repeat(800)}`);
    setTimeout(() => response.end(`${'z'.repeat(800)}"}`), 20);
  });
  const result = await refusal(streamed, { maxResponseBytes: 1_024 });
  assert.is(result.reason, `the pay callback at ${host} answered with more than 1024 bytes`);
  // The same answers within a larger limit get past the size check (and fail later, on their contents).
  assert.ok(!(await refusal(streamed, { maxResponseBytes: 4_096 })).reason.includes('bytes'));
});

test('a server that never answers times out, retryably', async () => {
  const silent = serve('silent');
  routes.set('/callback/silent', () => {});
  const result = await refusal(silent, { timeoutMs: 300 });
  assert.equal(result, {
    ok: false,
    reason: `the look-up of silent@${host} did not finish within 300 ms`,
    retryable: true,
  });
});

test('a redirect is refused and not followed', async () => {
  const moved = serve('moved');
  serve('target');
  routes.set('/.well-known/lnurlp/moved', (_request, response) => {
    response.writeHead(302, { location: `${base}/.well-known/lnurlp/target` });
    response.end();
  });
  const result = await refusal(moved);
  assert.is(
    result.reason,
    `the Lightning address service at ${host} answered with a redirect (HTTP 302), which is not followed`,
  );
  assert.is(result.retryable, false);
  assert.equal(requestsFor('target'), []);
});

test('HTTP errors: 5xx is retryable, 4xx and non-JSON are not', async () => {
  const cases: [Handler, string, boolean][] = [
    [(_q, r) => sendJson(r, {}, 503), 'answered HTTP 503', true],
    [(_q, r) => sendJson(r, {}, 500), 'answered HTTP 500', true],
    [(_q, r) => sendJson(r, {}, 404), 'answered HTTP 404', false],
    [(_q, r) => sendJson(r, {}, 204), 'answered HTTP 204', false],
    [(_q, r) => r.end('<html>hello</html>'), 'answered with something that is not JSON', false],
    [(_q, r) => sendJson(r, ['pr']), 'answered with JSON that is not an object', false],
    [(_q, r) => r.end(Buffer.from([0x7b, 0xff, 0x7d])), 'answered with text that is not UTF-8', false],
    [(_q, r) => r.socket?.destroy(), 'the connection failed (ECONNRESET)', true],
  ];
  for (const [index, [handler, why, retryable]] of cases.entries()) {
    const address = serve(`http-${index}`);
    routes.set(`/callback/http-${index}`, handler);
    const result = await refusal(address);
    assert.is(result.reason, `the pay callback at ${host}${why.startsWith('the') ? ': ' : ' '}${why}`);
    assert.is(result.retryable, retryable, why);
  }
});

test('a host that does not exist is refused without a throw', async () => {
  const result = await refusal('alice@does-not-exist.invalid', { allowHttp: false });
  assert.ok(
    result.reason.startsWith('the Lightning address service at does-not-exist.invalid: '),
    result.reason,
  );
  assert.ok(result.reason.includes('does-not-exist.invalid'));
});

test('invalid options are the caller’s mistake and throw', async () => {
  for (const options of [
    { amountMsat: 0n },
    { amountMsat: 21_000 as unknown as bigint },
    { network: 'simnet' as 'regtest' },
    { timeoutMs: 0 },
    { maxResponseBytes: 1.5 },
  ]) {
    try {
      await fetchInvoiceFromAddress('alice@example.com', { ...LOCAL, ...options });
      assert.unreachable(JSON.stringify(options, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)));
    } catch (error) {
      assert.instance(error, RangeError);
    }
  }
});

test.run();
