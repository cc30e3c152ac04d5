// The relays the agent reads actions from and publishes its events to, checked once at start-up. They come from
// the NOSTR_RELAYS environment variable (comma-separated URLs, each read + write) if it is set, else from the
// `nostr.relays` config key, else from the relay file (relays.json at the project root by default):
//
//   { "relays": [ { "url": "wss://relay.example", "read": true, "write": false } ] }
//
// `read` and `write` are optional and default to true (NIP-65: a relay without a marker is both). URLs are
// normalised (lower-case scheme and host, no default port, no trailing slash, no fragment), so two spellings of
// one relay are caught as a duplicate and the relay cursors are keyed by one name.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { normalizeRelayUrl } from '../nostr/relay-url.ts';

export { normalizeRelayUrl };

export interface RelayEntry {
  url: string;
  read: boolean;
  write: boolean;
}

export class RelayListError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid relay list:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'RelayListError';
  }
}

const relayUrl = z.string().transform((value, context) => {
  try {
    return normalizeRelayUrl(value);
  } catch (error) {
    context.addIssue({ code: 'custom', message: `${JSON.stringify(value)} ${(error as Error).message}` });
    return z.NEVER;
  }
});

const relayEntrySchema = z
  .object({
    url: relayUrl,
    read: z.boolean({ error: 'must be true or false' }).default(true),
    write: z.boolean({ error: 'must be true or false' }).default(true),
  })
  .strict();

/** The relay file. */
export const relayFileSchema = z
  .object({ relays: z.array(relayEntrySchema, { error: 'must be a list of relays' }) })
  .strict();

function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path
    .map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index > 0 ? '.' : ''}${String(part)}`))
    .join('');
  const message =
    issue.code === 'unrecognized_keys'
      ? `unknown key(s) ${issue.keys.join(', ')}: check the spelling`
      : issue.message;
  return `${key || '(top level)'}: ${message}`;
}

/** Checks that hold across entries: no relay twice, somewhere to read from and somewhere to write to. */
function checkList(
  relays: RelayEntry[],
  source: string,
  describeEntry: (index: number) => string,
): RelayEntry[] {
  const problems: string[] = [];
  if (relays.length === 0) problems.push(`${source}: lists no relay; add at least one`);
  const firstIndex = new Map<string, number>();
  relays.forEach((relay, index) => {
    const earlier = firstIndex.get(relay.url);
    if (earlier !== undefined) {
      problems.push(
        `${source}: ${describeEntry(index)} ${relay.url} is the same relay as ${describeEntry(earlier)}`,
      );
    } else {
      firstIndex.set(relay.url, index);
    }
    if (!relay.read && !relay.write) {
      problems.push(`${source}: ${describeEntry(index)} ${relay.url} is neither read nor write; remove it`);
    }
  });
  if (relays.length > 0 && !relays.some((relay) => relay.read)) {
    problems.push(`${source}: no relay has "read": true, so the agent would hear nothing`);
  }
  if (relays.length > 0 && !relays.some((relay) => relay.write)) {
    problems.push(`${source}: no relay has "write": true, so the agent could publish nothing`);
  }
  if (problems.length > 0) throw new RelayListError(problems);
  return relays;
}

/** Parses the text of a relay file; `source` (the file's path) starts every problem. Throws RelayListError. */
export function parseRelayFile(text: string, source: string): RelayEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new RelayListError([`${source}: not valid JSON (${(error as Error).message})`]);
  }
  const parsed = relayFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new RelayListError(parsed.error.issues.map((issue) => `${source}: ${describeIssue(issue)}`));
  }
  return checkList(parsed.data.relays, source, (index) => `relays[${index}]`);
}

/** Plain URLs (NOSTR_RELAYS, the `nostr.relays` key): each one read + write. Throws RelayListError. */
export function relaysFromUrls(urls: readonly string[], source: string): RelayEntry[] {
  const problems: string[] = [];
  const relays: RelayEntry[] = [];
  urls.forEach((url, index) => {
    try {
      relays.push({ url: normalizeRelayUrl(url), read: true, write: true });
    } catch (error) {
      problems.push(`${source}: entry ${index + 1} ${JSON.stringify(url)} ${(error as Error).message}`);
    }
  });
  if (problems.length > 0) throw new RelayListError(problems);
  return checkList(relays, source, (index) => `entry ${index + 1}`);
}

/** NOSTR_RELAYS: comma-separated URLs; blanks around commas and empty items are ignored. */
export function parseRelayUrls(value: string, source: string): RelayEntry[] {
  const urls = value
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
  return relaysFromUrls(urls, source);
}

export interface LoadRelayListOptions {
  /** The relay file (config `nostr.relays_file`). */
  file: string;
  /** Default: process.env. NOSTR_RELAYS, when set and not empty, wins over everything else. */
  env?: NodeJS.ProcessEnv;
  /** The `nostr.relays` config key, used when NOSTR_RELAYS is not set. */
  urls?: readonly string[] | null;
}

export interface RelayList {
  relays: RelayEntry[];
  /** Where the list came from, for the start-up log. */
  source: string;
}

/** The agent's relays, from the first of NOSTR_RELAYS, the config's URLs and the relay file. Throws RelayListError. */
export function loadRelayList(options: LoadRelayListOptions): RelayList {
  const fromEnvironment = (options.env ?? process.env).NOSTR_RELAYS;
  if (fromEnvironment !== undefined && fromEnvironment.trim() !== '') {
    return { relays: parseRelayUrls(fromEnvironment, 'NOSTR_RELAYS'), source: 'NOSTR_RELAYS' };
  }
  if (options.urls) return { relays: relaysFromUrls(options.urls, 'nostr.relays'), source: 'nostr.relays' };
  let text: string;
  try {
    text = readFileSync(options.file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new RelayListError([
      `${options.file}: cannot read the relay list (${reason}); create it or set NOSTR_RELAYS`,
    ]);
  }
  return { relays: parseRelayFile(text, options.file), source: options.file };
}
