// Connecting to LND and checking, before the agent relies on it, that everything the port needs is there:
// the socket answers, the TLS certificate matches, the macaroon is accepted and carries each permission the
// port uses, the node is on a known Bitcoin network and synced to the chain. Each missing piece is reported
// by name, with what to change. The write permissions are probed with calls that cannot change anything: a
// cancel and a failed-attempts delete for a random payment hash no invoice or payment can have.
import { createHash, randomBytes } from 'node:crypto';
import {
  type AuthenticatedLnd,
  authenticatedLndGrpc,
  cancelHodlInvoice,
  getChannels,
  getInvoices,
  getWalletInfo,
} from 'lightning';
import { type LndConfig, lndSettings } from './lnd-config.ts';
import { LndContext } from './lnd-context.ts';
import {
  BAKE_MACAROON,
  type ConnectionProblem,
  connectionMessage,
  connectionProblem,
  describeLndError,
  isOutcomeUnknown,
} from './lnd-errors.ts';
import { networkOfChains } from './read-node-info.ts';

export type LndStartupProblem = ConnectionProblem | 'network' | 'not_synced' | 'unexpected';

export class LndConnectionError extends Error {
  constructor(
    readonly problem: LndStartupProblem,
    message: string,
  ) {
    super(message);
    this.name = 'LndConnectionError';
  }
}

/**
 * The permissions the port uses, each with a call that proves it without changing anything. LND checks the
 * macaroon before it runs a method, so any answer other than a refusal of the macaroon (an invoice or payment
 * not found, whatever the store's wording) shows the permission is there.
 */
const PERMISSION_PROBES: readonly {
  permission: string;
  usedFor: string;
  probe: (lnd: AuthenticatedLnd, randomHash: string) => Promise<unknown>;
}[] = [
  {
    permission: 'offchain:read',
    usedFor: 'channel balances and payment status',
    probe: (lnd) => getChannels({ lnd }),
  },
  {
    permission: 'invoices:read',
    usedFor: 'looking up and listing holds',
    probe: (lnd) => getInvoices({ lnd, limit: 1 }),
  },
  {
    permission: 'invoices:write',
    usedFor: 'creating, settling and canceling holds',
    // LND: "unable to locate invoice" (or "there are no existing invoices").
    probe: (lnd, randomHash) => cancelHodlInvoice({ lnd, id: randomHash }),
  },
  {
    permission: 'offchain:write',
    usedFor: 'paying payouts',
    // Raw DeletePayment: `lightning`'s deleteFailedPayAttempts sends the hash in a field LND does not read.
    // LND: "non bucket element in payments bucket" (bbolt) or "payment isn't initiated" (SQL).
    probe: (lnd, randomHash) =>
      new Promise((resolve, reject) =>
        lnd.default.deletePayment(
          { payment_hash: Buffer.from(randomHash, 'hex'), failed_htlcs_only: true },
          (error: unknown) => (error ? reject(error) : resolve(undefined)),
        ),
      ),
  },
];

/**
 * `lightning` loads LND's fourteen proto files on every authenticatedLndGrpc call (about half a second), so
 * one client per socket and credentials is made per process and shared by every connect(); its gRPC channel
 * reconnects by itself when LND comes back.
 */
const clients = new Map<string, AuthenticatedLnd>();

function lndClient(config: LndConfig): AuthenticatedLnd {
  const key = createHash('sha256')
    .update(`${config.socket}\n${config.cert ?? ''}\n${config.macaroon}`)
    .digest('hex');
  const known = clients.get(key);
  if (known) return known;
  try {
    const { lnd } = authenticatedLndGrpc({
      cert: config.cert,
      macaroon: config.macaroon,
      socket: config.socket,
    });
    clients.set(key, lnd);
    return lnd;
  } catch (error) {
    const said = error instanceof Error ? error.message : String(error);
    throw new LndConnectionError('macaroon', `the LND credentials cannot be used: ${said}`);
  }
}

export async function connectLnd(config: LndConfig): Promise<LndContext> {
  const settings = lndSettings(config);
  const lnd = lndClient(config);
  const info = await startupCall(config.socket, 'info:read', 'reading the node identity and height', () =>
    withDeadline(getWalletInfo({ lnd }), settings.callTimeoutMs),
  );
  const network = networkOfChains(info.chains);
  if (network === null) {
    throw new LndConnectionError(
      'network',
      `LND at ${config.socket} is on a chain this agent does not know (${info.chains.join(', ') || 'none'})`,
    );
  }
  if (!info.is_synced_to_chain) {
    throw new LndConnectionError(
      'not_synced',
      `LND at ${config.socket} is not synced to the chain (height ${info.current_block_height}): deadlines ` +
        'would be computed from a stale height; wait until lncli getinfo shows synced_to_chain true',
    );
  }
  const randomHash = randomBytes(32).toString('hex');
  for (const { permission, usedFor, probe } of PERMISSION_PROBES) {
    await startupCall(config.socket, permission, usedFor, async () => {
      try {
        await withDeadline(probe(lnd, randomHash), settings.callTimeoutMs);
      } catch (error) {
        if (refusedBeforeRunning(error)) throw error;
      }
    });
  }
  const context = new LndContext(lnd, settings, info.public_key, network);
  context.lastHeight = info.current_block_height;
  return context;
}

/** LND (or the connection to it) refused the call before the method ran: the probe proves nothing. */
function refusedBeforeRunning(error: unknown): boolean {
  const failure = describeLndError(error);
  return (
    failure.name === 'StartupTimeout' ||
    failure.grpcCode === 14 ||
    connectionProblem(failure) !== null ||
    isOutcomeUnknown(failure)
  );
}

/** A call on a connection LND just dropped (it restarted) fails once or twice while gRPC reconnects. */
const TRANSIENT_ATTEMPTS = 4;
const TRANSIENT_PAUSE_MS = 250;

async function startupCall<T>(socket: string, permission: string, usedFor: string, run: () => Promise<T>) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await run();
    } catch (error) {
      if (attempt < TRANSIENT_ATTEMPTS && isOutcomeUnknown(describeLndError(error))) {
        await new Promise((resolve) => setTimeout(resolve, TRANSIENT_PAUSE_MS));
        continue;
      }
      throw startupError(socket, permission, usedFor, error);
    }
  }
}

function startupError(
  socket: string,
  permission: string,
  usedFor: string,
  error: unknown,
): LndConnectionError {
  const failure = describeLndError(error);
  const said = failure.name === 'StartupTimeout' ? 'no answer in time' : failure.details || failure.name;
  const problem: ConnectionProblem | null =
    failure.name === 'StartupTimeout' || (failure.grpcCode === 14 && connectionProblem(failure) === null)
      ? 'unreachable'
      : connectionProblem(failure);
  if (problem === 'permission') {
    return new LndConnectionError(
      'permission',
      `the macaroon for LND at ${socket} lacks ${permission} (needed for ${usedFor}): ` +
        `bake one with ${BAKE_MACAROON} (${said})`,
    );
  }
  if (problem !== null) {
    return new LndConnectionError(problem, `LND at ${socket}: ${connectionMessage(problem, said)}`);
  }
  return new LndConnectionError(
    'unexpected',
    `LND at ${socket} failed while checking ${permission}: ${said}`,
  );
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('StartupTimeout')), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
