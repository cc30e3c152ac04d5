// Turns one WebSocket frame into a client message, or into the answer a malformed one gets. Shapes are checked
// with @nostr-relay/validator's schemas; the answer goes where the client is waiting for it: a bad EVENT gets
// `OK false` (when it carries an id), a bad REQ gets `CLOSED`, anything else a NOTICE.
import {
  createOutgoingClosedMessage,
  createOutgoingNoticeMessage,
  createOutgoingOkMessage,
  type Filter,
  type IncomingMessage,
  type OutgoingMessage,
} from '@nostr-relay/common';
import { Validator } from '@nostr-relay/validator';

export type ParsedFrame = { ok: true; message: IncomingMessage } | { ok: false; reply: OutgoingMessage };

interface Issue {
  path: ReadonlyArray<string | number>;
  message: string;
}

const FILTER_FIELDS = new Set(['ids', 'authors', 'kinds', 'since', 'until', 'limit']);
const TAG_FILTER_KEY = /^#[a-zA-Z]$/;
/** NIP-01: a subscription id is a non-empty string of at most 64 characters. */
const MAX_SUBSCRIPTION_ID_LENGTH = 64;

const validator = new Validator({ maxSubscriptionIdLength: MAX_SUBSCRIPTION_ID_LENGTH });
const eventSchema = validator.getEventSchema();
const filterSchema = validator.getFilterSchema();

function describe(issues: readonly Issue[]): string {
  const issue = issues[0];
  if (!issue) return 'invalid: malformed message';
  const where = issue.path.length > 0 ? `${issue.path.join('.')} ` : '';
  return `invalid: ${where}${issue.message}`;
}

const notice = (message: string): ParsedFrame => ({ ok: false, reply: createOutgoingNoticeMessage(message) });
const closed = (subscriptionId: string, message: string): ParsedFrame => ({
  ok: false,
  reply: createOutgoingClosedMessage(subscriptionId, message),
});

function isSubscriptionId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_SUBSCRIPTION_ID_LENGTH;
}

function parseEvent(message: unknown[]): ParsedFrame {
  const result = eventSchema.safeParse(message[1]);
  if (message.length === 2 && result.success) return { ok: true, message: ['EVENT', result.data] };
  const reason = result.success
    ? 'invalid: an EVENT message has exactly one event'
    : describe(result.error.issues);
  const id = (message[1] as { id?: unknown } | undefined)?.id;
  if (typeof id === 'string') return { ok: false, reply: createOutgoingOkMessage(id, false, reason) };
  return notice(reason);
}

function parseReq(message: unknown[]): ParsedFrame {
  const [, subscriptionId, ...rawFilters] = message;
  if (!isSubscriptionId(subscriptionId)) {
    return notice(`invalid: a subscription id is a string of 1 to ${MAX_SUBSCRIPTION_ID_LENGTH} characters`);
  }
  const filters: Filter[] = [];
  for (const raw of rawFilters) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      return closed(subscriptionId, 'invalid: a filter is a JSON object');
    }
    const keys = Object.keys(raw);
    if (keys.includes('search'))
      return closed(subscriptionId, 'unsupported: search (NIP-50) is not supported');
    // The schema would silently drop an unknown key and so widen the filter; refuse instead.
    const unknown = keys.find((key) => !FILTER_FIELDS.has(key) && !TAG_FILTER_KEY.test(key));
    if (unknown !== undefined) {
      return closed(
        subscriptionId,
        `unsupported: filter contains unknown element ${JSON.stringify(unknown)}`,
      );
    }
    const result = filterSchema.safeParse(raw);
    if (!result.success) return closed(subscriptionId, describe(result.error.issues));
    filters.push(result.data);
  }
  return { ok: true, message: ['REQ', subscriptionId, ...filters] };
}

export function parseClientMessage(frame: string): ParsedFrame {
  let message: unknown;
  try {
    message = JSON.parse(frame);
  } catch {
    return notice('invalid: message is not JSON');
  }
  if (!Array.isArray(message) || typeof message[0] !== 'string') {
    return notice('invalid: a message is a JSON array whose first element is its type');
  }
  switch (message[0]) {
    case 'EVENT':
      return parseEvent(message);
    case 'REQ':
      return parseReq(message);
    case 'COUNT':
      return isSubscriptionId(message[1])
        ? closed(message[1], 'unsupported: COUNT (NIP-45) is not supported')
        : notice('unsupported: COUNT (NIP-45) is not supported');
    case 'CLOSE':
      return message.length === 2 && isSubscriptionId(message[1])
        ? { ok: true, message: ['CLOSE', message[1]] }
        : notice('invalid: CLOSE takes one subscription id');
    case 'AUTH': {
      const result = eventSchema.safeParse(message[1]);
      return result.success
        ? { ok: true, message: ['AUTH', result.data] }
        : notice(describe(result.error.issues));
    }
    default:
      return notice(`unsupported: unknown message type ${JSON.stringify(message[0]).slice(0, 40)}`);
  }
}
