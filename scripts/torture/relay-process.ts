// The torture's relay, in a process of its own: the project's embedded relay on 127.0.0.1 with its SQLite file in
// the given folder. Prints one JSON line {"url": "ws://127.0.0.1:PORT"} once it listens; stops on SIGTERM / SIGINT.
//
//   tsx scripts/torture/relay-process.ts FOLDER [PORT]
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startEmbeddedRelay } from '../../src/relay/index.ts';

const [folder, port] = process.argv.slice(2);
if (!folder) {
  process.stderr.write(
    'relay-process: give the data folder: tsx scripts/torture/relay-process.ts FOLDER [PORT]\n',
  );
  process.exit(2);
}
mkdirSync(folder, { recursive: true });
const relay = await startEmbeddedRelay({
  dbPath: join(folder, 'relay.sqlite'),
  host: '127.0.0.1',
  port: Number(port ?? 0),
  maxLimit: 5000,
});
process.stdout.write(`${JSON.stringify({ url: relay.url })}\n`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    relay.stop().finally(() => process.exit(0));
  });
}
