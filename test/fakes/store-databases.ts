// Throwaway databases for the store's tests. Every `create()` gives a new, empty database: a file under the
// system temp folder for SQLite, a `CREATE DATABASE escrow_test_<random>` for PostgreSQL (on DATABASE_URL's
// server, or on a throwaway server started here when DATABASE_URL is not set). `dispose()` closes every store
// and connection opened through it and deletes every database it made, so suites can run in parallel.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openStore } from '../../src/store/open-store.ts';
import type { Dialect, EscrowStore, OpenStoreOptions } from '../../src/store/port.ts';
import { createPreimageCipher } from '../../src/store/preimage-cipher.ts';
import { openSqliteStore, type SqliteEscrowStore } from '../../src/store/sqlite/open-sqlite.ts';
import { PREIMAGE_KEY } from './store-fixtures.ts';

export type StoreOptions = Partial<Omit<OpenStoreOptions, 'url'>>;

/** One empty database, and ways in that do not go through the store (to tamper with it, as an attacker would). */
export interface TestDatabase {
  readonly dialect: Dialect;
  readonly url: string;
  /** Opens one more store instance on this database (a second process, a replica). */
  open(options?: StoreOptions): Promise<EscrowStore>;
  /** Runs raw SQL (no parameters) on a connection of its own. */
  execute(statement: string): Promise<void>;
  /** Runs a raw query (no parameters) on a connection of its own. */
  query<Row = Record<string, unknown>>(statement: string): Promise<Row[]>;
}

export interface TestDatabases {
  readonly dialect: Dialect;
  create(): Promise<TestDatabase>;
  dispose(): Promise<void>;
}

type Closer = () => Promise<void> | void;

function tracker() {
  const closers: Closer[] = [];
  return {
    add(closer: Closer) {
      closers.push(closer);
    },
    async closeAll() {
      for (const close of closers.splice(0).reverse()) await close();
    },
  };
}

export function sqliteDatabases(): TestDatabases {
  const folder = mkdtempSync(join(tmpdir(), 'escrow-store-test-'));
  const opened = tracker();
  let counter = 0;
  return {
    dialect: 'sqlite',
    async create() {
      counter += 1;
      const path = join(folder, `escrow-${counter}.db`);
      let raw: Database.Database | undefined;
      const rawConnection = () => {
        if (!raw) {
          raw = new Database(path, { timeout: 5000 });
          const connection = raw;
          opened.add(() => {
            connection.close();
          });
        }
        return raw;
      };
      return {
        dialect: 'sqlite',
        url: `sqlite:${path}`,
        async open(options = {}) {
          const store = await openStore({ preimageKey: PREIMAGE_KEY, ...options, url: `sqlite:${path}` });
          opened.add(() => store.close());
          return store;
        },
        async execute(statement) {
          rawConnection().exec(statement);
        },
        async query<Row>(statement: string) {
          return rawConnection().prepare(statement).all() as Row[];
        },
      };
    },
    async dispose() {
      await opened.closeAll();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** Opens the SQLite store directly, for the tests of its connection settings. */
export async function openSqliteForTest(
  path: string,
  options: StoreOptions = {},
): Promise<SqliteEscrowStore> {
  return openSqliteStore(path, {
    cipher: createPreimageCipher(options.preimageKey ?? PREIMAGE_KEY),
    clock: options.clock ?? (() => 0),
    busyTimeoutMs: options.busyTimeoutMs ?? 5000,
  });
}

interface ThrowawayServer {
  url: string;
  stop(): Promise<void>;
}

async function startThrowawayServer(): Promise<ThrowawayServer> {
  // A JavaScript module without type declarations: import it by a computed name and say what it gives.
  const modulePath = './throwaway-postgres.mjs';
  const module = (await import(modulePath)) as { startThrowawayPostgres(): Promise<ThrowawayServer> };
  return module.startThrowawayPostgres();
}

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export function postgresDatabases(): TestDatabases {
  const opened = tracker();
  const made: string[] = [];
  let server: Promise<ThrowawayServer | null> | undefined;
  const serverUrl = async () => {
    server ??= process.env.DATABASE_URL ? Promise.resolve(null) : startThrowawayServer();
    return (await server)?.url ?? process.env.DATABASE_URL!;
  };
  const onServer = async <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: await serverUrl() });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };

  return {
    dialect: 'postgres',
    async create() {
      const name = `escrow_test_${randomBytes(6).toString('hex')}`;
      await onServer((client) => client.query(`CREATE DATABASE ${name}`));
      made.push(name);
      const url = withDatabase(await serverUrl(), name);
      let raw: Promise<pg.Client> | undefined;
      const rawConnection = () => {
        raw ??= (async () => {
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          opened.add(() => client.end());
          return client;
        })();
        return raw;
      };
      return {
        dialect: 'postgres',
        url,
        async open(options = {}) {
          const store = await openStore({ preimageKey: PREIMAGE_KEY, ...options, url });
          opened.add(() => store.close());
          return store;
        },
        async execute(statement) {
          await (await rawConnection()).query(statement);
        },
        async query<Row>(statement: string) {
          return (await (await rawConnection()).query(statement)).rows as Row[];
        },
      };
    },
    async dispose() {
      await opened.closeAll();
      if (made.length > 0) {
        await onServer(async (client) => {
          for (const name of made.splice(0))
            await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        });
      }
      const running = await server;
      await running?.stop();
    },
  };
}
