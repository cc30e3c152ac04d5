// Who `escrow-agent task` speaks as, and to whom. The person's key: `--key FILE` (a file holding an nsec1… key or 64
// hex characters) or NOSTR_SECRET_KEY (the same, in the environment). A key file anyone but its owner can read is
// used, with a warning and the chmod to run (the agent refuses such a file for its own key; a person's key is the
// person's call). The secret is never printed, nor echoed in an error: only the npub of the key it gives.
//
// The agent: --agent NPUB (or 64 hex), else the agent this folder's configuration runs (the public half of its key,
// as `escrow-agent verify` finds it). Never taken from an event: anyone can sign a look-alike `offered` label.
import { readFileSync, statSync } from 'node:fs';
import { decode, npubEncode } from 'nostr-tools/nip19';
import { getPublicKey } from 'nostr-tools/pure';
import { pubkeyToHex } from '../../agent/config.ts';
import { readIdentity } from '../../agent/identity.ts';
import { CliError } from '../cli-error.ts';
import type { AgentConfig } from '../output.ts';

export interface PersonKey {
  pubkey: string;
  npub: string;
  /** Where the key came from, for messages: `--key FILE` or `NOSTR_SECRET_KEY`. */
  source: string;
  /** Not enumerable: JSON.stringify and object spreads leave it out. */
  readonly secretKey: Uint8Array;
}

export interface AgentRef {
  pubkey: string;
  npub: string;
  /** How it was found: `given with --agent`, or the configured agent. */
  source: string;
}

const KEY_HELP =
  'give --key FILE (a file holding your nsec1… key or 64 hex characters, mode 600) or set NOSTR_SECRET_KEY';

/**
 * The person's key from `--key FILE`, else NOSTR_SECRET_KEY; throws CliError (exit 2) saying what to change when
 * there is none or it cannot be used. `warn` receives the warning about a key file others can read.
 */
export function loadPersonKey(
  what: string,
  keyFile: string | undefined,
  env: NodeJS.ProcessEnv,
  warn: (line: string) => void,
): PersonKey {
  if (keyFile !== undefined) {
    const text = readKeyFile(what, keyFile, warn);
    return personKey(what, text, `--key ${keyFile}`, `the key file ${keyFile}`);
  }
  const fromEnv = env.NOSTR_SECRET_KEY?.trim();
  if (fromEnv) return personKey(what, fromEnv, 'NOSTR_SECRET_KEY', 'NOSTR_SECRET_KEY');
  throw new CliError(`${what}: this signs an event as you: ${KEY_HELP}`);
}

function readKeyFile(what: string, path: string, warn: (line: string) => void): string {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CliError(`${what}: --key ${path} cannot be read (${code}): give the path of your key file`);
  }
  if (!stat.isFile())
    throw new CliError(`${what}: --key ${path} is not a file: give the path of your key file`);
  const mode = stat.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    warn(
      `warning: the key file ${path} can be read by others (mode ${mode.toString(8)}); run: chmod 600 ${path}`,
    );
  }
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CliError(`${what}: --key ${path} cannot be read (${code}): give this user read access to it`);
  }
}

/** The key in `text` (nsec1… or 64 hex); the message names where it came from, never what it holds. */
function personKey(what: string, text: string, source: string, where: string): PersonKey {
  let secretKey: Uint8Array | null = null;
  if (/^[0-9a-fA-F]{64}$/.test(text)) secretKey = Uint8Array.from(Buffer.from(text, 'hex'));
  else if (/^nsec1/i.test(text)) {
    try {
      const decoded = decode(text.toLowerCase());
      if (decoded.type === 'nsec') secretKey = decoded.data;
    } catch {
      secretKey = null;
    }
  }
  const shape =
    'must hold one secret key: an nsec1… key or 64 hex characters, and nothing else (its content is not shown)';
  if (secretKey === null) {
    const npub = /^npub1/i.test(text)
      ? ' (it holds an npub: that is the public half, give the secret key)'
      : '';
    throw new CliError(`${what}: ${where} ${shape}${npub}`);
  }
  let pubkey: string;
  try {
    pubkey = getPublicKey(secretKey);
  } catch {
    throw new CliError(`${what}: ${where} holds no valid secp256k1 secret key (its content is not shown)`);
  }
  const key = { pubkey, npub: npubEncode(pubkey), source } as PersonKey;
  Object.defineProperty(key, 'secretKey', { value: secretKey, enumerable: false });
  return key;
}

/** --agent, else the agent this folder's configuration runs; throws CliError (exit 2) when neither is there. */
export function resolveAgent(what: string, config: AgentConfig, given: string | undefined): AgentRef {
  if (given !== undefined) {
    if (/^nsec1/i.test(given.trim())) {
      throw new CliError(
        `${what}: --agent was given a secret key (nsec): do not share it; give the agent's npub (npub1…)`,
      );
    }
    const pubkey = pubkeyToHex(given.trim());
    if (pubkey === null) {
      throw new CliError(
        `${what}: --agent ${JSON.stringify(shorten(given))} is not a pubkey: give the agent's npub (npub1…) or 64 lowercase hex characters`,
      );
    }
    return { pubkey, npub: npubEncode(pubkey), source: 'given with --agent' };
  }
  const why =
    "which agent? give its npub with --agent NPUB (its announcement and start's banner show it); without --agent, the agent this folder's configuration runs is used";
  let identity: ReturnType<typeof readIdentity>;
  try {
    identity = readIdentity(config.keyFile);
  } catch (error) {
    throw new CliError(`${what}: ${why} (its key cannot be read: ${(error as Error).message})`);
  }
  if (!identity) throw new CliError(`${what}: ${why} (there is no agent key at ${config.keyFile})`);
  const source =
    identity.source === 'AGENT_SECRET_KEY'
      ? "this folder's agent (AGENT_SECRET_KEY)"
      : `this folder's agent (${config.keyFile})`;
  return { pubkey: identity.pubkey, npub: identity.npub, source };
}

function shorten(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > 80 ? `${trimmed.slice(0, 77)}...` : trimmed;
}
