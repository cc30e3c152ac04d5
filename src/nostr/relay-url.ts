// One spelling per relay: lower-case scheme and host, no default port, no trailing slash, no fragment. The pool keys
// its relays (and the store its relay cursors) by this name, so two spellings of one relay are caught as a duplicate.

/** Credentials in a URL would be logged and stored with the cursors, so they are refused rather than kept. */
export function normalizeRelayUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    throw new Error('is not a URL');
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new Error('must be a ws:// or wss:// URL');
  if (url.username !== '' || url.password !== '') throw new Error('must not contain a user name or password');
  if (url.hostname === '') throw new Error('has no host');
  // URL already lower-cases the scheme and host and drops the default port of ws (80) and wss (443).
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.protocol}//${url.host}${path}${url.search}`;
}
