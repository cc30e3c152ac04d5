// What a person may give `escrow-agent verify` to name a task (docs/protocol.md §4: the listing's event id is the
// task id): the id as 64 lowercase hex characters, a NIP-19 `note1…` or `nevent1…` of the listing (a nevent's relay
// hints are extra relays to ask, its author, when given, is the poster), or the listing's address as an `naddr1…`
// (kind 30402, the poster's pubkey and its `d`): an address may have had several tasks over time, which the agent's
// `offered` transitions name (`#a` = `30402:<poster>:<d>`). A leading `nostr:` (NIP-21) is accepted. Anything else
// is refused with what to give instead. Pure: no I/O.
import { decode } from 'nostr-tools/nip19';
import { isHex32 } from '../domain/hex.ts';
import { normalizeRelayUrl } from '../nostr/relay-url.ts';
import { KINDS } from '../protocol/constants.ts';
import { redactSecrets } from './redact.ts';

export type TaskRef =
  | {
      kind: 'id';
      taskId: string;
      /** The poster, when a nevent names its author; null otherwise. */
      poster: string | null;
      /** Relay hints of a nevent, normalised (none for a bare id). */
      relays: string[];
      /** Hints that are not relay URLs, with why (they are not used). */
      badHints: string[];
    }
  | {
      kind: 'address';
      /** `30402:<poster>:<d>`, as the agent's `offered` transitions tag it (`a`). */
      address: string;
      poster: string;
      d: string;
      relays: string[];
      badHints: string[];
    };

/** What to give, for every message about a reference that cannot be used. */
export const TASK_REF_HELP =
  "give the task's id (the listing's event id: 64 lowercase hex characters, or its note1… / nevent1…), or the listing's address as an naddr1… (kind 30402)";

export class TaskRefError extends Error {
  override name = 'TaskRefError';
}

/** Parses a task reference; throws TaskRefError with what is wrong and what to give. */
export function parseTaskRef(input: string): TaskRef {
  const text = input.trim().replace(/^nostr:/i, '');
  if (text === '') throw new TaskRefError(`no task given: ${TASK_REF_HELP}`);
  if (/^[0-9a-fA-F]{64}$/.test(text)) {
    if (!isHex32(text)) {
      throw new TaskRefError(
        `"${input}" has upper-case hex: ids are compared exactly as written, so give it in lower case`,
      );
    }
    return { kind: 'id', taskId: text, poster: null, relays: [], badHints: [] };
  }
  const prefix = /^(note|nevent|naddr|npub|nprofile|nsec)1/i.exec(text)?.[1]?.toLowerCase();
  if (prefix === undefined) {
    throw new TaskRefError(`"${shorten(input)}" is not a task reference: ${TASK_REF_HELP}`);
  }
  if (prefix === 'npub' || prefix === 'nprofile') {
    throw new TaskRefError(
      `"${shorten(input)}" names a person, not a task: ${TASK_REF_HELP} (to name the agent, use --agent)`,
    );
  }
  if (prefix === 'nsec') {
    throw new TaskRefError(`that is a secret key (nsec), not a task: do not share it; ${TASK_REF_HELP}`);
  }
  let decoded: ReturnType<typeof decode>;
  try {
    decoded = decode(text.toLowerCase());
  } catch (error) {
    throw new TaskRefError(
      `"${shorten(input)}" is not a valid ${prefix}1… (${(error as Error).message}): ${TASK_REF_HELP}`,
    );
  }
  switch (decoded.type) {
    case 'note': {
      if (!isHex32(decoded.data))
        throw new TaskRefError(`"${shorten(input)}" holds no event id: ${TASK_REF_HELP}`);
      return { kind: 'id', taskId: decoded.data, poster: null, relays: [], badHints: [] };
    }
    case 'nevent': {
      const { id, author, kind, relays } = decoded.data;
      if (!isHex32(id)) throw new TaskRefError(`"${shorten(input)}" holds no event id: ${TASK_REF_HELP}`);
      if (kind !== undefined && kind !== KINDS.listing) {
        throw new TaskRefError(
          `"${shorten(input)}" points to a kind ${kind} event, not a task listing (kind ${KINDS.listing}): ${TASK_REF_HELP}`,
        );
      }
      if (author !== undefined && !isHex32(author)) {
        throw new TaskRefError(`"${shorten(input)}" names an author that is not a pubkey: ${TASK_REF_HELP}`);
      }
      return { kind: 'id', taskId: id, poster: author ?? null, ...hints(relays) };
    }
    case 'naddr': {
      const { identifier, pubkey, kind, relays } = decoded.data;
      if (kind !== KINDS.listing) {
        throw new TaskRefError(
          `"${shorten(input)}" is the address of a kind ${kind} event, not of a task listing (kind ${KINDS.listing}): ${TASK_REF_HELP}`,
        );
      }
      if (!isHex32(pubkey)) {
        throw new TaskRefError(`"${shorten(input)}" names no valid poster pubkey: ${TASK_REF_HELP}`);
      }
      return {
        kind: 'address',
        address: `${KINDS.listing}:${pubkey}:${identifier}`,
        poster: pubkey,
        d: identifier,
        ...hints(relays),
      };
    }
    default:
      throw new TaskRefError(`"${shorten(input)}" is not a task reference: ${TASK_REF_HELP}`);
  }
}

/** A reference's relay hints, normalised; the ones that are not relay URLs set aside with why. */
function hints(relays: readonly string[] | undefined): { relays: string[]; badHints: string[] } {
  const good: string[] = [];
  const badHints: string[] = [];
  for (const hint of relays ?? []) {
    try {
      const url = normalizeRelayUrl(hint);
      if (!good.includes(url)) good.push(url);
    } catch (error) {
      badHints.push(`${JSON.stringify(redactSecrets(shorten(hint)))} ${(error as Error).message}`);
    }
  }
  return { relays: good, badHints };
}

/** Long input is cut in messages, so a pasted blob does not flood the terminal. */
function shorten(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > 80 ? `${trimmed.slice(0, 77)}...` : trimmed;
}
