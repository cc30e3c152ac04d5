// What the user pastes into the verification page, read strictly: a task reference (64-hex id, note, nevent
// or naddr), the agent (npub, nprofile or 64-hex pubkey) and relay URLs, one per line. Nothing is guessed or
// repaired; every refusal says what was expected.
import { decode } from 'nostr-tools/nip19';
import { KINDS } from '../protocol/constants.ts';

const HEX64 = /^[0-9a-f]{64}$/;
/** More relays than this is a paste accident, not a plan: each one is a WebSocket from the reader's browser. */
export const MAX_RELAYS = 20;

export type TaskReference =
  | { kind: 'id'; taskId: string }
  /** A listing's address (30402:<poster>:<d>): the task is found through the agent's offers of it (`#a`). */
  | { kind: 'address'; address: string };

export interface PageInput {
  task: TaskReference;
  agentPubkey: string;
  relays: string[];
}

export type Read<T> = { ok: true; value: T } | { ok: false; error: string };

function stripUri(text: string): string {
  const trimmed = text.trim();
  return trimmed.toLowerCase().startsWith('nostr:') ? trimmed.slice('nostr:'.length) : trimmed;
}

function decoded(text: string): ReturnType<typeof decode> | null {
  try {
    return decode(text);
  } catch {
    return null;
  }
}

export function readTaskReference(text: string): Read<TaskReference> {
  const value = stripUri(text);
  if (value === '')
    return { ok: false, error: 'the task: paste its id (64 hex characters), a nevent or a naddr' };
  if (HEX64.test(value)) return { ok: true, value: { kind: 'id', taskId: value } };
  if (/^[0-9a-fA-F]{64}$/.test(value)) return { ok: false, error: 'the task id must be lowercase hex' };
  const result = decoded(value);
  if (result?.type === 'note') return { ok: true, value: { kind: 'id', taskId: result.data } };
  if (result?.type === 'nevent') return { ok: true, value: { kind: 'id', taskId: result.data.id } };
  if (result?.type === 'naddr') {
    if (result.data.kind !== KINDS.listing) {
      return { ok: false, error: `the naddr is of kind ${result.data.kind}, not a task listing (30402)` };
    }
    return {
      ok: true,
      value: { kind: 'address', address: `${KINDS.listing}:${result.data.pubkey}:${result.data.identifier}` },
    };
  }
  return { ok: false, error: 'the task: not a 64-hex id, note, nevent or naddr' };
}

export function readAgent(text: string): Read<string> {
  const value = stripUri(text);
  if (HEX64.test(value)) return { ok: true, value };
  if (value.startsWith('nsec1')) {
    return {
      ok: false,
      error: 'that is a secret key (nsec): never paste it anywhere. The agent’s npub is public',
    };
  }
  const result = decoded(value);
  if (result?.type === 'npub') return { ok: true, value: result.data };
  if (result?.type === 'nprofile') return { ok: true, value: result.data.pubkey };
  return { ok: false, error: 'the agent: paste its npub (or its 64-hex public key)' };
}

export function readRelays(text: string): Read<string[]> {
  const relays: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const value = line.trim();
    if (value === '') continue;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return { ok: false, error: `not a relay URL: ${value}` };
    }
    if (url.protocol !== 'wss:' && url.protocol !== 'ws:') {
      return { ok: false, error: `a relay URL starts with wss:// (or ws://): ${value}` };
    }
    if (url.username !== '' || url.password !== '') {
      return { ok: false, error: `a relay URL carries no user name or password: ${value}` };
    }
    const normal = url.toString();
    if (!relays.includes(normal)) relays.push(normal);
  }
  if (relays.length === 0) return { ok: false, error: 'the relays: paste at least one wss:// URL' };
  if (relays.length > MAX_RELAYS) return { ok: false, error: `at most ${MAX_RELAYS} relays at once` };
  return { ok: true, value: relays };
}

export function readPageInput(fields: { task: string; agent: string; relays: string }): Read<PageInput> {
  const task = readTaskReference(fields.task);
  if (!task.ok) return task;
  const agent = readAgent(fields.agent);
  if (!agent.ok) return agent;
  const relays = readRelays(fields.relays);
  if (!relays.ok) return relays;
  return { ok: true, value: { task: task.value, agentPubkey: agent.value, relays: relays.value } };
}
