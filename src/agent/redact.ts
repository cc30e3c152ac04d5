// Secrets never reach the terminal or a log. One function, redactSecrets, masks every kind of secret a connection
// string or a message can carry; the command line passes every message it prints through it, and loggerOptions
// below makes pino pass every string it writes (the message, every field, an error's message and stack) through it
// too, and censors the fields that hold a secret whole (a key, a preimage). Both src/agent and src/cli import it.
import type { LoggerOptions } from 'pino';
import pino from 'pino';

const MASK = '***';

/** `postgres://escrow:secret@host/db` -> `postgres://escrow:***@host/db`. */
export function redactUrl(url: string): string {
  return redactSecrets(url);
}

/**
 * Masks what may be a secret anywhere in a text:
 * - URL credentials: `scheme://user:password@host` (the password, up to the last `@` before the host, so a password
 *   with an unencoded `@` is masked whole) and a bare `scheme://token@host`;
 * - the parameters that carry credentials, in a query string or `name=value` text (NWC's `secret=`, lndconnect's
 *   `macaroon=` and `cert=`, `password=`, `pass=`, `token=`, `key=`, `auth=`), and variables named like one
 *   (`AGENT_SECRET_KEY=`, `LND_MACAROON=`, `"secretKey": "..."`);
 * - nsec keys (`nsec1...`), LND macaroons in hex or base64 wherever they appear (they start with `0201036c6e64`
 *   and `AgEDbG5k`), and 64-hex secrets after a word that says they are a secret or private key.
 */
export function redactSecrets(text: string): string {
  return (
    text
      // user:password@ in a URL: greedy up to the last @ before the path, so `u:p@ss@host` hides `p@ss`.
      .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"'`]*):[^\s/"'`]*@/gi, `$1:${MASK}@`)
      // A token as the user part alone (https://ghp_xxx@host): scheme://token@host.
      .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s:/@"'`]{16,}@/gi, `$1${MASK}@`)
      .replace(
        /((?:^|[?&;\s,({[])(?:secret|macaroon|cert|password|passwd|pass|token|key|auth|api_key|access_token)=)(?!\*\*\*|<|\.\.\.)[^&\s"'`,;)}\]]+/gim,
        `$1${MASK}`,
      )
      // A variable or field named like a secret: AGENT_SECRET_KEY=..., LND_MACAROON=..., "secretKey": "...", but
      // not one that names where the secret is (LND_MACAROON_PATH=..., secret_key_file = ...). After ":" only a
      // value that looks like a secret (8 or more key characters), so prose ("secret: not set") stays readable.
      .replace(
        /(\b([\w-]*(?:secret|macaroon|password|passwd|private_?key|priv_?key)[\w-]*)["']?(?:\s*=\s*["']?(?!\*\*\*|<|\.\.\.)[^\s&"'`,;)}\]]+|["']?\s*:\s*(?:"[^"\s]+"|'[^'\s]+'|[A-Za-z0-9+/=_.~%-]{8,})))/gi,
        (match, _all: string, name: string) =>
          /(path|file)$/i.test(name) ? match : match.replace(/([:=]\s*["']?)[^"']*(["']?)$/, `$1${MASK}$2`),
      )
      .replace(/\bnsec1[0-9a-z]{8,}/gi, `nsec1${MASK}`)
      .replace(/\b0201036c6e64[0-9a-f]*/gi, MASK)
      .replace(/AgEDbG5k[A-Za-z0-9+/=_-]*/g, MASK)
      .replace(/(\b(?:secret|private)\b[\w\s-]{0,20}?\b)[0-9a-f]{64}\b/gi, `$1${MASK}`)
  );
}

/** Fields whose whole value is a secret: censored, never printed. */
const SECRET_FIELDS = ['secretKey', 'secret', 'preimage', 'macaroon', 'password', 'nsec', 'preimageKey'];

/**
 * pino's options for every logger of the agent: the fields that hold a secret are censored whole ("[Redacted]",
 * at the top level and one level down), and every other string of a line (the message, each field, an error's
 * message and stack, nested objects) goes through redactSecrets.
 */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: {
      paths: SECRET_FIELDS.flatMap((field) => [field, `*.${field}`]),
      censor: '[Redacted]',
    },
    hooks: {
      logMethod(args, method) {
        // log.error(error) alone takes the error's message as the line's message: give it the masked one.
        const [first, ...rest] = args as unknown[];
        const named =
          first instanceof Error && typeof rest[0] !== 'string'
            ? [{ err: first }, first.message, ...rest]
            : args;
        method.apply(
          this,
          named.map((arg) => (typeof arg === 'string' ? redactSecrets(arg) : arg)) as Parameters<
            typeof method
          >,
        );
      },
    },
    serializers: { err: redactError, error: redactError },
    formatters: { log: (object) => redactFields(object) as Record<string, unknown> },
  };
}

function redactError(error: unknown): unknown {
  if (!(error instanceof Error)) return redactFields(error);
  // pino's serialized error has a prototype of its own: copy its fields into a plain object to walk them.
  const serialized = { ...(pino.stdSerializers.err(error) as unknown as Record<string, unknown>) };
  return redactFields(serialized);
}

/** Every string in a log line's fields through redactSecrets (errors are left to the err serializer). */
function redactFields(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (depth > 6 || value === null || typeof value !== 'object' || value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((item) => redactFields(item, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null)
    return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = redactFields(item, depth + 1);
  return out;
}
