// Secrets never reach the terminal: a database URL is printed without its password, and every error message the
// command line prints goes through redactSecrets first.

/** `postgres://escrow:secret@host/db` -> `postgres://escrow:***@host/db`. */
export function redactUrl(url: string): string {
  return url.replace(/:\/\/([^:/@]+):[^@]*@/, '://$1:***@');
}

/**
 * Masks what may be a secret anywhere in a text: passwords in URLs, the query parameters that carry credentials
 * (NWC's `secret=`, lndconnect's `macaroon=` and `cert=`, `password=`, `token=`, `key=`) and nsec keys.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/(:\/\/[^\s:/@]*):[^\s@/]*@/g, '$1:***@')
    .replace(/([?&;\s](?:secret|macaroon|cert|password|token|key)=)[^&\s"'`]+/gi, '$1***')
    .replace(/\bnsec1[0-9a-z]{8,}/g, 'nsec1***');
}
