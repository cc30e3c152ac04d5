// A Lightning-address client (LUD-16 over LNURL-pay, LUD-06): turns `alice@example.com` into a BOLT11 invoice
// for an exact amount, for a refund to a poster who gave an address instead of an invoice.
//
// The address is chosen by whoever posted the task, so every step is strict:
// - only https (http when allowHttp, for tests), no redirects followed, a byte limit on each answer and one
//   deadline for the whole look-up (DNS and both requests);
// - each host (the address's domain and the callback's) is resolved here, every address it resolves to must be
//   public (unless allowPrivateAddresses), and the connection is pinned to those vetted addresses through the
//   request's `lookup`, so a second DNS answer (rebinding) cannot send it elsewhere;
// - the invoice is decoded with our own decoder and must be for the node's network, for exactly the amount
//   asked, carry the sha256 of the service's metadata as its description hash (LUD-06), and not be expired.
// Whatever the remote side does, the answer is { ok: false, reason, retryable }, never a throw; only a caller's
// own mistake (a bad amount, network, timeout or limit) throws. Reasons never contain the callback's full URL
// (it may carry a token), only its host.
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { type NetworkName, tryDecodeBolt11 } from './bolt11/index.ts';

/** The networks an invoice can be fetched for: the decoder's names, without simnet. */
export type AddressNetwork = Exclude<NetworkName, 'simnet'>;

export interface AddressFetchOptions {
  /** The exact amount the invoice must be for, > 0. */
  amountMsat: bigint;
  /** The node's network; the invoice must be for it. */
  network: AddressNetwork;
  /** The whole look-up (DNS and both requests). Default 10 000. */
  timeoutMs?: number;
  /** The most each answer may hold; reading stops beyond it. Default 64 KiB. */
  maxResponseBytes?: number;
  /** Default false: hosts resolving to loopback, private, link-local, CGNAT, multicast... are refused. */
  allowPrivateAddresses?: boolean;
  /** Default false: https only. When true, the address is fetched over http and may name a port. */
  allowHttp?: boolean;
  /**
   * CA certificates (PEM) to trust for https instead of Node's bundled ones: for tests and private deployments.
   * Absent: Node's bundled roots.
   */
  ca?: string | readonly string[];
}

export type AddressFetchResult =
  | { ok: true; bolt11: string; paymentHash: string }
  | { ok: false; reason: string; retryable: boolean };

type Failure = Extract<AddressFetchResult, { ok: false }>;

export const DEFAULT_ADDRESS_TIMEOUT_MS = 10_000;
export const DEFAULT_ADDRESS_MAX_RESPONSE_BYTES = 64 * 1024;
export const MAX_LIGHTNING_ADDRESS_LENGTH = 320;
/** The most of a service's own error text that is passed on. */
export const MAX_SERVICE_REASON_CHARS = 200;
const MAX_CALLBACK_LENGTH = 2048;
const MAX_HOSTNAME_LENGTH = 253;
const NETWORK_NAMES: readonly AddressNetwork[] = ['bitcoin', 'testnet', 'signet', 'regtest'];

const NAME_PATTERN = /^[a-z0-9\-_.+]+$/;
const LABEL_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const PORT_PATTERN = /^[1-9][0-9]{0,4}$/;

function fail(reason: string, retryable: boolean): Failure {
  return { ok: false, reason, retryable };
}

// ---------------------------------------------------------------------------------------------------------
// The address

type AddressAnalysis = { ok: true; name: string; domain: string } | { ok: false; problem: string };

function analyseAddress(text: unknown, allowHttp: boolean): AddressAnalysis {
  const problem = (what: string): AddressAnalysis => ({ ok: false, problem: what });
  if (typeof text !== 'string') return problem('the Lightning address is not text');
  const trimmed = text.trim();
  if (trimmed.length === 0) return problem('the Lightning address is empty');
  if (trimmed.length > MAX_LIGHTNING_ADDRESS_LENGTH) {
    return problem(
      `the Lightning address has ${trimmed.length} characters, more than ${MAX_LIGHTNING_ADDRESS_LENGTH}`,
    );
  }
  // ASCII before lower-casing: some non-ASCII letters lower-case to ASCII ones (the Kelvin sign to "k").
  if (!/^[\x21-\x7e]+$/.test(trimmed)) {
    return problem('the Lightning address contains spaces or characters that are not printable ASCII');
  }
  const lower = trimmed.toLowerCase();
  const parts = lower.split('@');
  if (parts.length !== 2) {
    return problem(
      parts.length < 2
        ? 'the Lightning address has no "@" (expected name@domain)'
        : 'the Lightning address has more than one "@" (expected name@domain)',
    );
  }
  const [name, domain] = parts as [string, string];
  if (name.length === 0) return problem('the Lightning address has no name before the "@"');
  if (!NAME_PATTERN.test(name)) {
    return problem('the name of the Lightning address may only contain a-z 0-9 - _ . + (LUD-16)');
  }
  if (name === '.' || name === '..') return problem(`the name of the Lightning address cannot be "${name}"`);
  if (domain.length === 0) return problem('the Lightning address has no domain after the "@"');
  const colon = domain.indexOf(':');
  const host = colon === -1 ? domain : domain.slice(0, colon);
  const labels = host.split('.');
  if (host.length > MAX_HOSTNAME_LENGTH || labels.length < 2 || !labels.every((l) => LABEL_PATTERN.test(l))) {
    return problem('the domain of the Lightning address is not a hostname like example.com');
  }
  if (colon !== -1) {
    if (!allowHttp) {
      return problem(
        'the domain of the Lightning address names a port, which only a test setup (allowHttp) allows',
      );
    }
    const port = domain.slice(colon + 1);
    if (!PORT_PATTERN.test(port) || Number(port) > 65_535) {
      return problem('the port of the Lightning address is not a number from 1 to 65535');
    }
  }
  return { ok: true, name, domain };
}

/**
 * A LUD-16 address, lower-cased: name of a-z 0-9 - _ . +, a hostname of at least two labels (with a `:port`
 * only when allowHttp), at most 320 characters. Null when it is not one.
 */
export function parseLightningAddress(
  text: string,
  options: { allowHttp?: boolean } = {},
): { name: string; domain: string } | null {
  const analysis = analyseAddress(text, options.allowHttp === true);
  return analysis.ok ? { name: analysis.name, domain: analysis.domain } : null;
}

// ---------------------------------------------------------------------------------------------------------
// Which addresses may be connected to

interface Range {
  readonly base: number[];
  readonly bits: number;
  readonly kind: string;
}

function range(base: string, bits: number, kind: string): Range {
  const bytes = base.includes(':') ? parseIPv6(base) : parseIPv4(base);
  if (!bytes) throw new Error(`bad range ${base}`);
  return { base: bytes, bits, kind };
}

const IPV4_REFUSED: readonly Range[] = [
  range('0.0.0.0', 8, '"this network" (0.0.0.0/8)'),
  range('10.0.0.0', 8, 'private (RFC 1918)'),
  range('100.64.0.0', 10, 'carrier-grade NAT (100.64.0.0/10)'),
  range('127.0.0.0', 8, 'loopback'),
  range('169.254.0.0', 16, 'link-local'),
  range('172.16.0.0', 12, 'private (RFC 1918)'),
  range('192.0.0.0', 24, 'IETF protocol assignment (192.0.0.0/24)'),
  range('192.0.2.0', 24, 'documentation (192.0.2.0/24)'),
  range('192.168.0.0', 16, 'private (RFC 1918)'),
  range('198.18.0.0', 15, 'benchmarking (198.18.0.0/15)'),
  range('198.51.100.0', 24, 'documentation (198.51.100.0/24)'),
  range('203.0.113.0', 24, 'documentation (203.0.113.0/24)'),
  range('224.0.0.0', 4, 'multicast'),
  range('240.0.0.0', 4, 'reserved (240.0.0.0/4)'),
];

const IPV6_REFUSED: readonly Range[] = [
  range('::', 128, 'unspecified (::)'),
  range('::1', 128, 'loopback'),
  range('::', 96, 'IPv4-compatible (deprecated, ::/96)'),
  range('64:ff9b:1::', 48, 'local-use NAT64 (64:ff9b:1::/48)'),
  range('100::', 64, 'discard-only (100::/64)'),
  range('2001::', 32, 'Teredo (2001::/32)'),
  range('2001:db8::', 32, 'documentation (2001:db8::/32)'),
  range('fc00::', 7, 'unique-local (fc00::/7)'),
  range('fe80::', 10, 'link-local'),
  range('fec0::', 10, 'site-local (deprecated, fec0::/10)'),
  range('ff00::', 8, 'multicast'),
];
/** Prefixes that carry an IPv4 address, judged by that address. */
const IPV4_MAPPED = range('::ffff:0:0', 96, 'IPv4-mapped');
const NAT64 = range('64:ff9b::', 96, 'NAT64');
const SIX_TO_FOUR = range('2002::', 16, '6to4');
const GLOBAL_UNICAST = range('2000::', 3, 'global unicast');

function parseIPv4(text: string): number[] | null {
  if (!net.isIPv4(text)) return null;
  return text.split('.').map(Number);
}

function parseIPv6(text: string): number[] | null {
  const address = text.split('%')[0]!;
  if (!net.isIPv6(address)) return null;
  let head = address;
  let tail: number[] = [];
  const lastColon = address.lastIndexOf(':');
  if (address.slice(lastColon + 1).includes('.')) {
    const ipv4 = parseIPv4(address.slice(lastColon + 1));
    if (!ipv4) return null;
    tail = ipv4;
    head = address.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const groupsWanted = (16 - tail.length) / 2;
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const groupsOf = (part: string | undefined) =>
    part ? part.split(':').map((g) => Number.parseInt(g, 16)) : [];
  const leftGroups = groupsOf(left);
  const rightGroups = groupsOf(right);
  const zeros = right === undefined ? 0 : groupsWanted - leftGroups.length - rightGroups.length;
  const groups = [...leftGroups, ...new Array<number>(zeros).fill(0), ...rightGroups];
  if (groups.length !== groupsWanted || groups.some((g) => !(g >= 0 && g <= 0xffff))) return null;
  return [...groups.flatMap((g) => [g >> 8, g & 0xff]), ...tail];
}

function inRange(bytes: readonly number[], r: Range): boolean {
  if (bytes.length !== r.base.length) return false;
  for (let bit = 0; bit < r.bits; bit += 1) {
    const mask = 0x80 >> (bit % 8);
    if ((bytes[bit >> 3]! & mask) !== (r.base[bit >> 3]! & mask)) return false;
  }
  return true;
}

/** Null for a public address, or what kind of non-public address it is. Unparseable text is refused too. */
export function nonPublicAddressKind(address: string): string | null {
  const ipv4 = parseIPv4(address);
  if (ipv4) return IPV4_REFUSED.find((r) => inRange(ipv4, r))?.kind ?? null;
  const ipv6 = parseIPv6(address);
  if (!ipv6) return 'unrecognised';
  for (const [carrier, offset] of [
    [IPV4_MAPPED, 12],
    [NAT64, 12],
    [SIX_TO_FOUR, 2],
  ] as const) {
    if (inRange(ipv6, carrier)) {
      const inner = ipv6.slice(offset, offset + 4).join('.');
      const kind = nonPublicAddressKind(inner);
      return kind === null ? null : `${carrier.kind} ${kind} (${inner})`;
    }
  }
  const refused = IPV6_REFUSED.find((r) => inRange(ipv6, r));
  if (refused) return refused.kind;
  return inRange(ipv6, GLOBAL_UNICAST) ? null : 'reserved (outside 2000::/3)';
}

// ---------------------------------------------------------------------------------------------------------
// One GET, strictly

const TIMED_OUT = Symbol('timed out');

interface LookUp {
  readonly signal: AbortSignal;
  readonly timeoutFailure: Failure;
  readonly maxResponseBytes: number;
  readonly allowPrivateAddresses: boolean;
  readonly allowHttp: boolean;
  readonly ca: string | string[] | undefined;
}

/** The promise, or TIMED_OUT thrown when the deadline passes first. */
function beforeDeadline<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      promise.catch(() => {});
      reject(TIMED_OUT);
      return;
    }
    const onAbort = () => reject(TIMED_OUT);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function errorCode(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string')
    return error.code;
  return error instanceof Error ? error.name : 'unknown error';
}

/** The host's addresses, every one of them public unless private ones are allowed. */
async function vettedAddresses(
  hostname: string,
  what: string,
  lookUp: LookUp,
): Promise<dns.LookupAddress[] | Failure> {
  let addresses: dns.LookupAddress[];
  try {
    addresses = await beforeDeadline(dns.promises.lookup(hostname, { all: true }), lookUp.signal);
  } catch (error) {
    if (error === TIMED_OUT) return lookUp.timeoutFailure;
    const code = errorCode(error);
    if (code === 'ENOTFOUND' || code === 'ENODATA') {
      return fail(`${what}: the host ${hostname} does not exist (DNS: ${code})`, false);
    }
    return fail(`${what}: could not resolve the host ${hostname} (DNS: ${code})`, true);
  }
  if (addresses.length === 0) return fail(`${what}: the host ${hostname} has no addresses`, false);
  if (!lookUp.allowPrivateAddresses) {
    for (const { address } of addresses) {
      const kind = nonPublicAddressKind(address);
      if (kind !== null) {
        return fail(
          `${what}: the host ${hostname} resolves to ${address}, a ${kind} address; only public addresses are allowed`,
          false,
        );
      }
    }
  }
  return addresses;
}

/** A `lookup` for http(s).request that answers only with the addresses vetted already. */
function pinnedLookup(addresses: readonly dns.LookupAddress[]): net.LookupFunction {
  return (_hostname, options, callback) => {
    const family = options.family === 4 || options.family === 6 ? options.family : 0;
    const usable = addresses.filter((a) => family === 0 || a.family === family);
    const first = usable[0];
    if (!first) {
      const error: NodeJS.ErrnoException = new Error('no vetted address of the requested family');
      error.code = 'ENOTFOUND';
      callback(error, '', 0);
    } else if (options.all) {
      callback(
        null,
        usable.map((a) => ({ address: a.address, family: a.family })),
      );
    } else {
      callback(null, first.address, first.family);
    }
  };
}

/** GET `url` (already checked to be http(s)) and return its JSON object, or why not. */
async function getJson(
  url: URL,
  what: string,
  lookUp: LookUp,
): Promise<{ ok: true; json: Record<string, unknown> } | Failure> {
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const addresses = await vettedAddresses(hostname, what, lookUp);
  if (!Array.isArray(addresses)) return addresses;
  if (lookUp.signal.aborted) return lookUp.timeoutFailure;
  const body = await new Promise<Buffer | Failure>((resolve) => {
    let settled = false;
    const isHttps = url.protocol === 'https:';
    const request = (isHttps ? https : http).request({
      protocol: url.protocol,
      host: hostname,
      port: url.port === '' ? (isHttps ? 443 : 80) : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      headers: { accept: 'application/json', 'user-agent': 'nostr-escrow-agent' },
      agent: false,
      lookup: pinnedLookup(addresses),
      ...(isHttps && lookUp.ca !== undefined ? { ca: lookUp.ca } : {}),
    });
    const finish = (outcome: Buffer | Failure) => {
      if (settled) return;
      settled = true;
      lookUp.signal.removeEventListener('abort', onAbort);
      request.destroy();
      resolve(outcome);
    };
    const onAbort = () => finish(lookUp.timeoutFailure);
    const networkFailure = (error: unknown) =>
      finish(
        lookUp.signal.aborted
          ? lookUp.timeoutFailure
          : fail(`${what}: the connection failed (${errorCode(error)})`, true),
      );
    lookUp.signal.addEventListener('abort', onAbort, { once: true });
    request.on('error', networkFailure);
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        finish(fail(`${what} answered with a redirect (HTTP ${status}), which is not followed`, false));
        return;
      }
      if (status !== 200) {
        finish(fail(`${what} answered HTTP ${status}`, status >= 500));
        return;
      }
      const tooLarge = fail(`${what} answered with more than ${lookUp.maxResponseBytes} bytes`, false);
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > lookUp.maxResponseBytes) {
        finish(tooLarge);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > lookUp.maxResponseBytes) finish(tooLarge);
        else chunks.push(chunk);
      });
      response.on('end', () => finish(Buffer.concat(chunks)));
      response.on('error', networkFailure);
      response.on('close', () => networkFailure({ code: 'closed before the answer was complete' }));
    });
    request.end();
  });
  if (!Buffer.isBuffer(body)) return body;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return fail(`${what} answered with text that is not UTF-8`, false);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return fail(`${what} answered with something that is not JSON`, false);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return fail(`${what} answered with JSON that is not an object`, false);
  }
  return { ok: true, json: json as Record<string, unknown> };
}

/** A service's own text: control and format characters removed, at most MAX_SERVICE_REASON_CHARS. */
function serviceText(value: unknown): string {
  const text = typeof value === 'string' ? value : '';
  const clean = text.replace(/[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu, '').trim();
  if (clean.length === 0) return '(no reason given)';
  const characters = Array.from(clean);
  return characters.length > MAX_SERVICE_REASON_CHARS
    ? `${characters.slice(0, MAX_SERVICE_REASON_CHARS - 1).join('')}…`
    : clean;
}

/** LUD-06's error answer, at either step. */
function serviceError(json: Record<string, unknown>, what: string): Failure | null {
  if (json.status !== 'ERROR') return null;
  return fail(`${what} refused: ${serviceText(json.reason)}`, false);
}

function checkUrl(text: string, what: string, allowHttp: boolean): URL | Failure {
  if (text.length > MAX_CALLBACK_LENGTH) {
    return fail(`${what} is ${text.length} characters long, more than ${MAX_CALLBACK_LENGTH}`, false);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(`${what} is not a URL`, false);
  }
  if (url.protocol === 'http:' && !allowHttp) {
    return fail(`${what} uses http; only https is allowed`, false);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return fail(`${what} is not an https URL`, false);
  }
  if (url.username !== '' || url.password !== '') {
    return fail(`${what} carries a user name or password, which is not allowed`, false);
  }
  if (url.hostname === '') return fail(`${what} has no host`, false);
  return url;
}

// ---------------------------------------------------------------------------------------------------------
// The look-up

function checkOptions(options: AddressFetchOptions): void {
  if (typeof options.amountMsat !== 'bigint' || options.amountMsat <= 0n) {
    throw new RangeError('amountMsat must be a bigint above 0');
  }
  if (!NETWORK_NAMES.includes(options.network)) {
    throw new RangeError(`network must be one of ${NETWORK_NAMES.join(', ')}`);
  }
  for (const [name, value] of [
    ['timeoutMs', options.timeoutMs],
    ['maxResponseBytes', options.maxResponseBytes],
  ] as const) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
      throw new RangeError(`${name} must be a whole number above 0`);
    }
  }
}

/**
 * Fetches an invoice for exactly `amountMsat` from a Lightning address, checked as the module header says.
 * Never throws for what the address or its service does; throws RangeError for invalid options.
 */
export async function fetchInvoiceFromAddress(
  address: string,
  options: AddressFetchOptions,
): Promise<AddressFetchResult> {
  checkOptions(options);
  const allowHttp = options.allowHttp === true;
  const parsed = analyseAddress(address, allowHttp);
  if (!parsed.ok) return fail(parsed.problem, false);
  const timeoutMs = options.timeoutMs ?? DEFAULT_ADDRESS_TIMEOUT_MS;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const lookUp: LookUp = {
    signal: controller.signal,
    timeoutFailure: fail(
      `the look-up of ${parsed.name}@${parsed.domain} did not finish within ${timeoutMs} ms`,
      true,
    ),
    maxResponseBytes: options.maxResponseBytes ?? DEFAULT_ADDRESS_MAX_RESPONSE_BYTES,
    allowPrivateAddresses: options.allowPrivateAddresses === true,
    allowHttp,
    ca: options.ca === undefined ? undefined : typeof options.ca === 'string' ? options.ca : [...options.ca],
  };
  try {
    return await lookUpInvoice(parsed.name, parsed.domain, options, lookUp);
  } catch (error) {
    // A bug of ours, not the service's: still no throw where money waits on the answer.
    return fail(`the look-up failed unexpectedly (${errorCode(error)})`, true);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

async function lookUpInvoice(
  name: string,
  domain: string,
  options: AddressFetchOptions,
  lookUp: LookUp,
): Promise<AddressFetchResult> {
  const amount = options.amountMsat;
  const service = `the Lightning address service at ${domain}`;
  const fetched = await getJson(
    new URL(`${lookUp.allowHttp ? 'http' : 'https'}://${domain}/.well-known/lnurlp/${name}`),
    service,
    lookUp,
  );
  if (!fetched.ok) return fetched;
  const payRequest = fetched.json;
  const refused = serviceError(payRequest, service);
  if (refused) return refused;
  if (payRequest.tag !== 'payRequest') {
    return fail(
      `${service} answered with something that is not an LNURL pay request (no tag "payRequest")`,
      false,
    );
  }
  const { callback, minSendable, maxSendable, metadata } = payRequest;
  if (typeof callback !== 'string') return fail(`${service} answered without a callback URL`, false);
  for (const [field, value] of [
    ['minSendable', minSendable],
    ['maxSendable', maxSendable],
  ] as const) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      return fail(`${service} answered with a ${field} that is not a whole number of msat`, false);
    }
  }
  const min = BigInt(minSendable as number);
  const max = BigInt(maxSendable as number);
  if (min > max) return fail(`${service} answered with minSendable ${min} above maxSendable ${max}`, false);
  if (typeof metadata !== 'string')
    return fail(`${service} answered without metadata (a JSON string)`, false);
  try {
    if (!Array.isArray(JSON.parse(metadata))) throw new Error('not an array');
  } catch {
    return fail(`${service} answered with metadata that is not a JSON array`, false);
  }
  if (amount < min || amount > max) {
    return fail(
      `${service} accepts ${min} to ${max} msat, and ${amount} msat is ${amount < min ? 'below' : 'above'} that`,
      false,
    );
  }

  const callbackUrl = checkUrl(callback, `the callback URL of ${service}`, lookUp.allowHttp);
  if (!(callbackUrl instanceof URL)) return callbackUrl;
  callbackUrl.hash = '';
  const query = callbackUrl.search.replace(/^\?/, '').replace(/&+$/, '');
  callbackUrl.search = query === '' ? `?amount=${amount}` : `?${query}&amount=${amount}`;
  const payCallback = `the pay callback at ${callbackUrl.host}`;
  const answered = await getJson(callbackUrl, payCallback, lookUp);
  if (!answered.ok) return answered;
  const answer = answered.json;
  const callbackRefused = serviceError(answer, payCallback);
  if (callbackRefused) return callbackRefused;
  const bolt11 = answer.pr;
  if (typeof bolt11 !== 'string') return fail(`${payCallback} answered without an invoice (pr)`, false);

  const decoded = tryDecodeBolt11(bolt11);
  if (!decoded.ok) {
    return fail(`the invoice from ${payCallback} is not valid: ${decoded.error.message}`, false);
  }
  const invoice = decoded.invoice;
  if (invoice.network !== options.network) {
    return fail(`the invoice from ${payCallback} is for ${invoice.network}, not ${options.network}`, false);
  }
  if (invoice.amountMsat === null) {
    return fail(
      `the invoice from ${payCallback} names no amount; it must be for exactly ${amount} msat`,
      false,
    );
  }
  if (invoice.amountMsat !== amount) {
    return fail(
      `the invoice from ${payCallback} is for ${invoice.amountMsat} msat, not the ${amount} msat asked for`,
      false,
    );
  }
  if (invoice.descriptionHash === null) {
    return fail(
      `the invoice from ${payCallback} has no description hash (LUD-06: it must be the sha256 of the metadata)`,
      false,
    );
  }
  const metadataHash = bytesToHex(sha256(new TextEncoder().encode(metadata)));
  if (invoice.descriptionHash !== metadataHash) {
    return fail(
      `the invoice from ${payCallback} has a description hash that is not the sha256 of the metadata`,
      false,
    );
  }
  const now = Math.floor(Date.now() / 1000);
  if (invoice.expiresAt <= now) {
    return fail(
      `the invoice from ${payCallback} expired at ${new Date(invoice.expiresAt * 1000).toISOString()}`,
      false,
    );
  }
  return { ok: true, bolt11, paymentHash: invoice.paymentHash };
}
