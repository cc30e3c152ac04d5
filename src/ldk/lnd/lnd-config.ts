// How the agent reaches an LND node: its gRPC socket, its TLS certificate and a macaroon, plus the LND
// settings the adapter cannot ask LND for (its hold-invoice auto-cancel delta is a config file value that no
// RPC reports). Credentials come as base64/hex strings, as files, from the environment, or from an
// lndconnect:// URL (the format Zeus and others use). Every problem names the setting and what to change.
import { readFileSync } from 'node:fs';

/**
 * LND's `invoices.holdexpirydelta` default since v0.21 (DefaultIncomingBroadcastDelta 16 + 2); up to v0.20 it
 * was 12 (10 + 2). The larger one is the safe default: a deadline computed with 18 on a node that cancels at
 * 12 is only early, never late.
 */
export const DEFAULT_HOLD_EXPIRY_DELTA = 18;
/** LND v0.21 refuses a smaller final CLTV delta for an invoice (routing.MinCLTVDelta; 18 up to v0.20). */
export const LND_MIN_FINAL_CLTV_DELTA = 24;
/**
 * LND caps a route's whole CLTV at 2016 blocks (the payer's default cltv_limit, and what forwarding nodes
 * accept), and an LND payer adds 3 blocks of padding to the final hop and needs the limit to be strictly
 * above that: over a direct channel, a final CLTV of 2012 is the most a payer can route to us.
 */
export const LND_MAX_ROUTE_CLTV = 2016;
export const LND_BLOCK_PADDING = 3;
export const DEFAULT_MAX_FINAL_CLTV_DELTA = LND_MAX_ROUTE_CLTV - LND_BLOCK_PADDING - 1;
/** The most blocks an outgoing payment's HTLCs may lock our funds for (route total CLTV). */
export const DEFAULT_MAX_PAYMENT_TIMELOCK_BLOCKS = 1008;

export interface LndConfig {
  /** host:port of LND's gRPC listener (`rpclisten`, 10009 by default). */
  socket: string;
  /**
   * LND's tls.cert, base64 (or hex) of the whole PEM file. Omit only when LND's certificate is signed by a
   * CA this machine already trusts.
   */
  cert?: string;
  /** The macaroon, base64 or hex of the binary file. */
  macaroon: string;
  /** LND's `invoices.holdexpirydelta`: it cancels a held invoice this many blocks before the HTLC expires. */
  holdExpiryDelta?: number;
  /** The largest final CLTV delta createHoldInvoice accepts (at most 2012, see LND_MAX_ROUTE_CLTV). */
  maxFinalCltvDelta?: number;
  /** The most blocks an outgoing payment may lock funds for (its route's total CLTV). */
  maxPaymentTimelockBlocks?: number;
  /** How often the block height is polled for `block` events, in ms. */
  pollIntervalMs?: number;
  /** How long one LND call may take before it is reported as Timeout (state unknown), in ms. */
  callTimeoutMs?: number;
}

/** Where the credentials may come from before they are read: inline values or file paths. */
export interface LndCredentialSources {
  socket?: string;
  cert?: string;
  certPath?: string;
  macaroon?: string;
  macaroonPath?: string;
}

export interface LndSettings {
  holdExpiryDelta: number;
  minFinalCltvDelta: number;
  maxFinalCltvDelta: number;
  maxPaymentTimelockBlocks: number;
  pollIntervalMs: number;
  callTimeoutMs: number;
}

export class LndConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LndConfigError';
  }
}

/** Checks the numbers against what LND can honour and fills in the defaults. */
export function lndSettings(config: LndConfig): LndSettings {
  const holdExpiryDelta = config.holdExpiryDelta ?? DEFAULT_HOLD_EXPIRY_DELTA;
  if (!Number.isInteger(holdExpiryDelta) || holdExpiryDelta < 1 || holdExpiryDelta > 1000) {
    throw new LndConfigError(
      `holdExpiryDelta ${holdExpiryDelta}: set it to LND's invoices.holdexpirydelta (18 by default since LND 0.21, 12 up to 0.20)`,
    );
  }
  const maxFinalCltvDelta = config.maxFinalCltvDelta ?? DEFAULT_MAX_FINAL_CLTV_DELTA;
  // A hold needs at least one block between the HTLC's arrival and LND's own cancel.
  const minFinalCltvDelta = Math.max(LND_MIN_FINAL_CLTV_DELTA, holdExpiryDelta + 1);
  if (
    !Number.isInteger(maxFinalCltvDelta) ||
    maxFinalCltvDelta < minFinalCltvDelta ||
    maxFinalCltvDelta > DEFAULT_MAX_FINAL_CLTV_DELTA
  ) {
    throw new LndConfigError(
      `maxFinalCltvDelta ${maxFinalCltvDelta}: must be ${minFinalCltvDelta}..${DEFAULT_MAX_FINAL_CLTV_DELTA} ` +
        `(LND routes at most ${LND_MAX_ROUTE_CLTV} blocks and holds must outlive holdExpiryDelta ${holdExpiryDelta})`,
    );
  }
  const maxPaymentTimelockBlocks = config.maxPaymentTimelockBlocks ?? DEFAULT_MAX_PAYMENT_TIMELOCK_BLOCKS;
  if (
    !Number.isInteger(maxPaymentTimelockBlocks) ||
    maxPaymentTimelockBlocks < 40 ||
    maxPaymentTimelockBlocks > LND_MAX_ROUTE_CLTV
  ) {
    throw new LndConfigError(
      `maxPaymentTimelockBlocks ${maxPaymentTimelockBlocks}: must be 40..${LND_MAX_ROUTE_CLTV}`,
    );
  }
  const pollIntervalMs = config.pollIntervalMs ?? 2000;
  const callTimeoutMs = config.callTimeoutMs ?? 30_000;
  for (const [name, value] of [
    ['pollIntervalMs', pollIntervalMs],
    ['callTimeoutMs', callTimeoutMs],
  ] as const) {
    if (!Number.isInteger(value) || value < 10)
      throw new LndConfigError(`${name} ${value}: must be >= 10 ms`);
  }
  return {
    holdExpiryDelta,
    minFinalCltvDelta,
    maxFinalCltvDelta,
    maxPaymentTimelockBlocks,
    pollIntervalMs,
    callTimeoutMs,
  };
}

/** Reads credential files and checks the socket; the result is what LndBackend.connect() takes. */
export function resolveLndCredentials(
  sources: LndCredentialSources,
): Pick<LndConfig, 'socket' | 'cert' | 'macaroon'> {
  const socket = sources.socket?.trim();
  if (!socket) {
    throw new LndConfigError(
      'LND socket missing: set LND_SOCKET to host:port of LND gRPC (e.g. 127.0.0.1:10009)',
    );
  }
  if (!/^[^\s:]+:\d{1,5}$/.test(socket) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(socket)) {
    throw new LndConfigError(`LND socket "${socket}" is not host:port (e.g. 127.0.0.1:10009)`);
  }
  const cert = sources.cert?.trim() || readCredentialFile('LND_CERT_PATH', sources.certPath, 'base64');
  const macaroon =
    sources.macaroon?.trim() || readCredentialFile('LND_MACAROON_PATH', sources.macaroonPath, 'hex');
  if (!macaroon) {
    throw new LndConfigError(
      'LND macaroon missing: set LND_MACAROON (base64 or hex) or LND_MACAROON_PATH to a macaroon with ' +
        'invoices:read invoices:write offchain:read offchain:write info:read',
    );
  }
  if (!isBase64OrHex(macaroon)) throw new LndConfigError('LND_MACAROON is neither base64 nor hex');
  if (cert !== undefined && !isBase64OrHex(cert)) {
    throw new LndConfigError('LND_CERT is neither base64 nor hex of LND tls.cert');
  }
  return cert === undefined ? { socket, macaroon } : { socket, cert, macaroon };
}

/**
 * The environment: LND_SOCKET, LND_CERT or LND_CERT_PATH, LND_MACAROON or LND_MACAROON_PATH, and optionally
 * LND_HOLD_EXPIRY_DELTA, LND_MAX_FINAL_CLTV_DELTA, LND_MAX_PAYMENT_TIMELOCK_BLOCKS.
 */
export function lndConfigFromEnv(env: NodeJS.ProcessEnv = process.env): LndConfig {
  const credentials = resolveLndCredentials({
    socket: env.LND_SOCKET,
    cert: env.LND_CERT,
    certPath: env.LND_CERT_PATH,
    macaroon: env.LND_MACAROON,
    macaroonPath: env.LND_MACAROON_PATH,
  });
  const config: LndConfig = { ...credentials };
  const numbers = {
    holdExpiryDelta: 'LND_HOLD_EXPIRY_DELTA',
    maxFinalCltvDelta: 'LND_MAX_FINAL_CLTV_DELTA',
    maxPaymentTimelockBlocks: 'LND_MAX_PAYMENT_TIMELOCK_BLOCKS',
  } as const;
  for (const [key, name] of Object.entries(numbers) as [keyof typeof numbers, string][]) {
    const text = env[name]?.trim();
    if (!text) continue;
    if (!/^\d+$/.test(text)) throw new LndConfigError(`${name}="${text}" is not a whole number of blocks`);
    config[key] = Number(text);
  }
  lndSettings(config);
  return config;
}

/**
 * lndconnect://host:port?cert=<base64url DER>&macaroon=<base64url>, as `lndconnect` and Zeus write it. The
 * cert parameter may be absent when LND's certificate is CA-signed.
 */
export function lndConfigFromUrl(url: string): LndConfig {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new LndConfigError(
      'the LND URL is not a URL: expected lndconnect://host:port?cert=...&macaroon=...',
    );
  }
  if (parsed.protocol !== 'lndconnect:') {
    throw new LndConfigError(`the LND URL starts with ${parsed.protocol}//, expected lndconnect://`);
  }
  const certDer = parsed.searchParams.get('cert');
  const macaroon = parsed.searchParams.get('macaroon');
  if (!macaroon) throw new LndConfigError('the lndconnect URL has no macaroon parameter');
  const pem = certDer ? derToPem(Buffer.from(certDer, 'base64url')) : undefined;
  const socket = `${parsed.hostname}:${parsed.port || '10009'}`;
  return resolveLndCredentials({
    socket,
    macaroon: Buffer.from(macaroon, 'base64url').toString('hex'),
    ...(pem ? { cert: Buffer.from(pem).toString('base64') } : {}),
  });
}

function derToPem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

function readCredentialFile(
  name: string,
  path: string | undefined,
  encoding: 'base64' | 'hex',
): string | undefined {
  if (!path?.trim()) return undefined;
  try {
    return readFileSync(path.trim()).toString(encoding);
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new LndConfigError(`${name}=${path} cannot be read (${reason})`);
  }
}

function isBase64OrHex(text: string): boolean {
  return /^[0-9a-fA-F]+$/.test(text) || /^[A-Za-z0-9+/]+={0,2}$/.test(text);
}
