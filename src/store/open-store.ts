// The one entry point: openStore({ url, preimageKey }) picks the dialect from the URL.
import { InternalError } from '../domain/errors.ts';
import type { EscrowStore, OpenStoreOptions } from './port.ts';
import { openPostgresStore } from './postgres/open-postgres.ts';
import { createPreimageCipher } from './preimage-cipher.ts';
import { openSqliteStore } from './sqlite/open-sqlite.ts';

const systemClock = () => Math.floor(Date.now() / 1000);

export async function openStore(options: OpenStoreOptions): Promise<EscrowStore> {
  const cipher = createPreimageCipher(options.preimageKey);
  const clock = options.clock ?? systemClock;
  const { url } = options;
  if (url.startsWith('sqlite:')) {
    // sqlite:./relative.db, sqlite:/absolute.db, and the URL form sqlite:///absolute.db.
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '' || path.startsWith('//')) {
      throw new InternalError(
        'Config',
        'a sqlite: URL needs a file path: sqlite:./data/escrow.db or sqlite:///srv/escrow.db',
      );
    }
    return openSqliteStore(path, { cipher, clock, busyTimeoutMs: options.busyTimeoutMs ?? 5000 });
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return openPostgresStore(url, {
      cipher,
      clock,
      maxConnections: options.maxConnections ?? 10,
      onBackgroundError: options.onBackgroundError ?? (() => {}),
    });
  }
  // The URL may carry a password: name only its scheme.
  const scheme = url.split(':')[0] ?? '';
  throw new InternalError(
    'Config',
    `unknown store URL scheme "${scheme}:" (expected sqlite: or postgres://)`,
  );
}
