// LND's errors, as the `lightning` package hands them over: arrays `[httpLikeCode, 'PascalCaseError',
// {err}]` where `err` is the gRPC error carrying LND's own message in `details`, or plain Errors thrown for
// bad arguments. This file reads them and maps them onto the port's typed LightningError codes. LND's
// messages are stable strings from its source (invoices/errors.go, payments/db/errors.go, macaroons); the
// table below quotes them. An error nobody recognises becomes Timeout: LND answered, but what it did is
// unknown until the next lookup, which is the safe reading for settle, cancel and create.
import { LightningError, type LightningErrorCode } from '../lightning-error.ts';

export interface LndFailure {
  /** The `lightning` package's HTTP-like code (400, 404, 503...), null for a plain Error. */
  status: number | null;
  /** The `lightning` package's PascalCase name, or the Error message. */
  name: string;
  /** The gRPC status code of the underlying call, when there was one. */
  grpcCode: number | null;
  /** LND's own message (gRPC details), or '' when there is none. */
  details: string;
}

/** The command that bakes a macaroon with exactly the permissions the port uses. */
export const BAKE_MACAROON =
  'lncli bakemacaroon invoices:read invoices:write offchain:read offchain:write info:read';

export type LndOperation = 'create' | 'settle' | 'cancel' | 'lookup' | 'pay' | 'info';

/** gRPC status codes that matter here. */
const GRPC = { CANCELLED: 1, UNKNOWN: 2, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, INTERNAL: 13, UNAVAILABLE: 14 };

export function describeLndError(error: unknown): LndFailure {
  if (Array.isArray(error)) {
    const [status, name, extra] = error as [unknown, unknown, unknown];
    const inner = isRecord(extra) ? extra.err : undefined;
    return {
      status: typeof status === 'number' ? status : null,
      name: typeof name === 'string' ? name : 'UnknownLndError',
      grpcCode: isRecord(inner) && typeof inner.code === 'number' ? inner.code : null,
      details: grpcDetails(inner),
    };
  }
  if (isRecord(error) && typeof error.code === 'number' && typeof error.details === 'string') {
    return { status: null, name: 'GrpcError', grpcCode: error.code, details: error.details };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { status: null, name: message, grpcCode: null, details: '' };
}

export type ConnectionProblem = 'unreachable' | 'tls' | 'macaroon' | 'permission' | 'starting';

/** Problems with reaching or being let into LND, as opposed to LND refusing one request. */
export function connectionProblem(failure: LndFailure): ConnectionProblem | null {
  const text = `${failure.details} ${failure.name}`;
  if (/permission denied/i.test(text)) return 'permission';
  if (
    /verification failed|expected 1 macaroon|unknown macaroon version|invalid ID|cannot get macaroon|ExpectedBase64OrHexEncodedMacaroon/i.test(
      text,
    )
  ) {
    return 'macaroon';
  }
  if (
    /wallet locked|waiting to start|not yet ready|in the process of starting|rpc server is not active/i.test(
      text,
    )
  ) {
    return 'starting';
  }
  if (failure.grpcCode !== GRPC.UNAVAILABLE) return null;
  if (/certificate|self[- ]signed|ssl|tls|handshake|wrong version number|altnames/i.test(text)) return 'tls';
  if (
    /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|No connection established|ETIMEDOUT/i.test(
      text,
    )
  ) {
    return 'unreachable';
  }
  return null;
}

/** The call may or may not have reached LND and done its work: only a later lookup can tell. */
export function isOutcomeUnknown(failure: LndFailure): boolean {
  if (connectionProblem(failure) !== null) return false;
  return (
    failure.grpcCode === GRPC.UNAVAILABLE ||
    failure.grpcCode === GRPC.DEADLINE_EXCEEDED ||
    failure.grpcCode === GRPC.CANCELLED ||
    failure.grpcCode === GRPC.INTERNAL
  );
}

/** LookupInvoice's answer for a hash it has no invoice for. */
export function isInvoiceNotFound(failure: LndFailure): boolean {
  return (
    failure.grpcCode === GRPC.NOT_FOUND ||
    /unable to locate invoice|there are no existing invoices/i.test(failure.details)
  );
}

interface ErrorRule {
  operations: readonly LndOperation[];
  /** Matched against LND's message, then against the `lightning` package's name. */
  pattern: RegExp;
  code: LightningErrorCode;
  meaning: string;
}

/** LND's refusals, by operation. The first matching rule wins. */
export const LND_ERROR_RULES: readonly ErrorRule[] = [
  {
    operations: ['settle'],
    pattern: /invoice still open|CannotSettleHtlcBeforeHtlcReceived/,
    code: 'NotAccepted',
    meaning: 'the hold has no payment yet',
  },
  {
    operations: ['settle'],
    pattern: /invoice already canceled/,
    code: 'AlreadyCanceled',
    meaning: 'the hold was canceled (by us or by LND before the HTLC expiry)',
  },
  {
    operations: ['settle'],
    pattern: /preimage does not match|ExpectedPaymentPreimageToSettleHodlInvoice/,
    code: 'WrongPreimage',
    meaning: 'the preimage is not the one the hold needs',
  },
  {
    operations: ['settle', 'cancel'],
    pattern:
      /unable to locate invoice|there are no existing invoices|SecretDoesNotMatchAnyExistingHodlInvoice/,
    code: 'UnknownHash',
    meaning: 'LND has no invoice for this payment hash',
  },
  {
    operations: ['cancel'],
    pattern: /invoice already settled/,
    code: 'AlreadySettled',
    meaning: 'the hold was settled',
  },
  {
    operations: ['create'],
    pattern: /invoice with payment hash already exists|invoice with payemnt addr already exists/,
    code: 'HashReused',
    meaning: 'LND has an invoice for this payment hash already',
  },
  {
    operations: ['create'],
    pattern: /CLTV delta/,
    code: 'CltvInvalid',
    meaning: 'LND refused the final CLTV delta',
  },
  {
    operations: ['create'],
    pattern: /negative value|invoice amount .* too large/,
    code: 'AmountInvalid',
    meaning: 'LND refused the amount',
  },
  {
    operations: ['create'],
    pattern: /expiry of .* seconds/,
    code: 'ExpiryInvalid',
    meaning: 'LND refused the expiry',
  },
  {
    operations: ['create'],
    pattern: /memo too large|description hash is/,
    code: 'InvalidArgument',
    meaning: 'LND refused the description',
  },
];

/** The port's view of an LND error raised by `operation`. Never carries a preimage (LND's messages do not). */
export function toLightningError(operation: LndOperation, error: unknown): LightningError {
  if (error instanceof LightningError) return error;
  const failure = describeLndError(error);
  const said = failure.details || failure.name;
  const problem = connectionProblem(failure);
  if (problem !== null) return new LightningError('NodeUnavailable', connectionMessage(problem, said));
  if (isOutcomeUnknown(failure)) {
    return new LightningError(
      'Timeout',
      `LND ${operation}: the outcome is unknown until the next lookup (${said})`,
    );
  }
  for (const rule of LND_ERROR_RULES) {
    if (!rule.operations.includes(operation)) continue;
    if (rule.pattern.test(failure.details) || rule.pattern.test(failure.name)) {
      return new LightningError(rule.code, `${rule.meaning} (LND: ${said})`);
    }
  }
  return new LightningError('Timeout', `LND ${operation} failed unexpectedly, state unknown (LND: ${said})`);
}

/** What an operator should do about a connection problem; also used by the start-up checks. */
export function connectionMessage(problem: ConnectionProblem, said: string): string {
  switch (problem) {
    case 'unreachable':
      return `LND is not reachable: check LND_SOCKET and that LND runs with rpclisten on it (${said})`;
    case 'tls':
      return `LND's TLS certificate does not match: set LND_CERT/LND_CERT_PATH to LND's current tls.cert (${said})`;
    case 'macaroon':
      return `LND refused the macaroon: set LND_MACAROON/LND_MACAROON_PATH to a macaroon this LND baked (${said})`;
    case 'permission':
      return `the macaroon lacks a permission: bake one with ${BAKE_MACAROON} (${said})`;
    case 'starting':
      return `LND is not ready (locked wallet or still starting): unlock it and wait (${said})`;
    default: {
      const unexpected: never = problem;
      return `unexpected LND connection problem ${String(unexpected)}`;
    }
  }
}

function grpcDetails(inner: unknown): string {
  if (!isRecord(inner)) return '';
  if (typeof inner.details === 'string' && inner.details) return inner.details;
  if (typeof inner.message === 'string') return inner.message;
  return '';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
