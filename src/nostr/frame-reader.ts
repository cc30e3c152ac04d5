// Reads one relay frame with limits BEFORE any object is built, so that no single frame can exhaust the stack, the
// heap or the delivery loop:
//   1. size: a frame larger than the event limit (plus a small envelope allowance) is not parsed at all;
//   2. nesting: a small scanner walks the TEXT, counting `[`/`{` depth outside strings, and stops as soon as the
//      depth passes the limit (a Nostr frame needs 4: frame, event, tags, tag);
//   3. only then JSON.parse, then the shape: ["EVENT", <subscription id>, {..."id": string, "created_at": integer}].
// The same scan finds where each top-level element of the frame starts and ends, so an event is handed on as the
// exact substring the relay sent (its raw JSON text): the consumer's strict parser sees duplicate keys, `__proto__`
// and the exact bytes, not a re-serialised object. Duplicate keys are the consumer's to refuse (the agent's intake
// counts them as DuplicateKey); the pool passes such an event on as received.
// A frame that cannot be read is `dropped` with its reason; when the scan could still read its subscription id and
// the event's `created_at`, the drop carries them, so catch-up paging can step past the event.

export type DropReason =
  /** Larger than the event limit. */
  | 'oversized'
  /** Nested deeper than the depth limit. */
  | 'too-deep'
  /** Not JSON. */
  | 'invalid-json'
  /** JSON, but not a Nostr message (not an array, no type). */
  | 'not-a-message'
  /** An EVENT without a subscription id, or whose event is not an object with a string id and a created_at. */
  | 'bad-shape';

export interface InboundEvent {
  /** The event's JSON text exactly as the relay sent it. */
  raw: string;
  id: string;
  createdAt: number;
  /** UTF-8 size of `raw`. */
  bytes: number;
  /** The parsed object (for plain subscriptions, which hand on objects). */
  value: Record<string, unknown>;
}

export type ReadFrame =
  | { kind: 'event'; subscriptionId: string; event: InboundEvent }
  | { kind: 'message'; type: string; message: unknown[] }
  | { kind: 'dropped'; reason: DropReason; subscriptionId?: string; createdAt?: number; bytes: number };

export interface FrameLimits {
  /** An event's JSON text may be at most this many UTF-8 bytes. */
  maxEventBytes: number;
  /** `[`/`{` nesting the frame may have. */
  maxDepth: number;
}

/** Room for `["EVENT","<subscription id>",` around an event. */
export const ENVELOPE_BYTES = 1024;

export interface FrameScan {
  /** The nesting passed the limit; the scan stopped there. */
  tooDeep: boolean;
  /** The text is a JSON array (its first non-blank character is `[`). */
  isArray: boolean;
  /** [start, end) of the first top-level elements of the array (at most 3). */
  elements: Array<[number, number]>;
  /** The last `"created_at"` number at the top level of the third element, if it is an object. */
  createdAt: number | undefined;
}

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const COMMA = 44;
const COLON = 58;

function isBlank(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13;
}

/** One pass over the text, no objects built (only the key strings at the event's top level). */
export function scanFrame(text: string, maxDepth: number): FrameScan {
  const elements: Array<[number, number]> = [];
  let depth = 0;
  let isArray = false;
  let started = false;
  let elementStart = -1;
  // Inside the third element, an object: at its top level, is the next string a key?
  let eventIsObject = false;
  let expectKey = false;
  let pendingCreatedAt = false;
  let createdAt: number | undefined;
  const close = (end: number) => {
    if (elementStart < 0 || elements.length >= 3) return;
    let stop = end;
    while (stop > elementStart && isBlank(text.charCodeAt(stop - 1))) stop -= 1;
    elements.push([elementStart, stop]);
    elementStart = -1;
  };
  const length = text.length;
  for (let index = 0; index < length; index += 1) {
    const code = text.charCodeAt(index);
    if (!started) {
      if (isBlank(code)) continue;
      started = true;
      isArray = code === OPEN_BRACKET;
    }
    if (depth === 1 && elementStart < 0 && !isBlank(code) && code !== COMMA && code !== CLOSE_BRACKET) {
      elementStart = index;
      eventIsObject = elements.length === 2 && code === OPEN_BRACE;
    }
    if (code === QUOTE) {
      const start = index;
      index += 1;
      while (index < length) {
        const inner = text.charCodeAt(index);
        if (inner === BACKSLASH) index += 2;
        else if (inner === QUOTE) break;
        else index += 1;
      }
      if (depth === 2 && eventIsObject && elements.length === 2 && expectKey) {
        expectKey = false;
        pendingCreatedAt = index - start === 11 && text.slice(start, index + 1) === '"created_at"';
      }
      continue;
    }
    if (pendingCreatedAt && code === COLON) {
      pendingCreatedAt = false;
      let cursor = index + 1;
      while (cursor < length && isBlank(text.charCodeAt(cursor))) cursor += 1;
      let end = cursor;
      while (end < length && /[-+0-9.eE]/.test(text[end] as string)) end += 1;
      const value = end > cursor && end - cursor < 32 ? Number(text.slice(cursor, end)) : Number.NaN;
      if (Number.isFinite(value)) createdAt = value;
      continue;
    }
    if (code === OPEN_BRACKET || code === OPEN_BRACE) {
      depth += 1;
      if (depth > maxDepth) return { tooDeep: true, isArray, elements, createdAt };
      if (depth === 2 && code === OPEN_BRACE && eventIsObject && elements.length === 2) expectKey = true;
    } else if (code === CLOSE_BRACKET || code === CLOSE_BRACE) {
      if (depth === 1) close(index);
      depth -= 1;
      if (depth === 1 && elements.length === 2 && eventIsObject) eventIsObject = false;
      if (depth <= 0) break;
    } else if (code === COMMA) {
      if (depth === 1) close(index);
      else if (depth === 2 && eventIsObject && elements.length === 2) expectKey = true;
    }
  }
  return { tooDeep: false, isArray, elements, createdAt };
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function subscriptionIdOf(text: string, scan: FrameScan): string | undefined {
  const element = scan.elements[1];
  if (!scan.isArray || !element || element[1] - element[0] > 200) return undefined;
  try {
    const value: unknown = JSON.parse(text.slice(element[0], element[1]));
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

function dropped(
  reason: DropReason,
  text: string,
  bytes: number,
  scan: FrameScan | undefined,
  createdAt?: number,
): ReadFrame {
  const subscriptionId = scan ? subscriptionIdOf(text, scan) : undefined;
  const at = createdAt ?? scan?.createdAt;
  return {
    kind: 'dropped',
    reason,
    bytes,
    ...(subscriptionId === undefined ? {} : { subscriptionId }),
    ...(at === undefined || !Number.isFinite(at) ? {} : { createdAt: at }),
  };
}

/** Reads one text frame of `bytes` UTF-8 bytes; never throws. */
export function readFrame(text: string, bytes: number, limits: FrameLimits): ReadFrame {
  if (bytes > limits.maxEventBytes + ENVELOPE_BYTES) {
    // Not parsed: the scan (linear, nothing built) still finds where to step past it.
    return dropped('oversized', text, bytes, scanFrame(text, limits.maxDepth));
  }
  const scan = scanFrame(text, limits.maxDepth);
  if (scan.tooDeep) return dropped('too-deep', text, bytes, scan);
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return dropped('invalid-json', text, bytes, scan);
  }
  if (!Array.isArray(message) || typeof message[0] !== 'string')
    return dropped('not-a-message', text, bytes, scan);
  const type = message[0];
  if (type !== 'EVENT') return { kind: 'message', type, message };
  const [, subscriptionId, value] = message as [string, unknown, unknown];
  const element = scan.elements[2];
  const createdAt = (value as { created_at?: unknown } | null)?.created_at;
  if (
    typeof subscriptionId !== 'string' ||
    element === undefined ||
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    typeof (value as { id?: unknown }).id !== 'string' ||
    typeof createdAt !== 'number' ||
    !Number.isSafeInteger(createdAt) ||
    createdAt < 0
  ) {
    return dropped('bad-shape', text, bytes, scan, typeof createdAt === 'number' ? createdAt : undefined);
  }
  const raw = text.slice(element[0], element[1]);
  const rawBytes = utf8Bytes(raw);
  if (rawBytes > limits.maxEventBytes) return dropped('oversized', text, bytes, scan, createdAt);
  return {
    kind: 'event',
    subscriptionId,
    event: {
      raw,
      id: (value as { id: string }).id,
      createdAt,
      bytes: rawBytes,
      value: value as Record<string, unknown>,
    },
  };
}
