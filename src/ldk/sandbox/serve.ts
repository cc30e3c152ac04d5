// Runs the sandbox as its own long-lived process: three LDK nodes on a regtest chain mined on a timer.
//   npx tsx src/ldk/sandbox/serve.ts [folder] [--block-seconds N]
// Defaults: folder ./data/sandbox (created; kept across runs), a block every 30 s. Prints one JSON line with
// the nodes' ids and ports, then a line per block; stops cleanly on SIGINT / SIGTERM (a SIGKILL is fine too:
// the folder is always restartable).
import { resolve } from 'node:path';
import { Sandbox } from './sandbox.ts';

const args = process.argv.slice(2);
const secondsFlag = args.indexOf('--block-seconds');
const blockSeconds = secondsFlag >= 0 ? Number(args[secondsFlag + 1]) : 30;
if (!Number.isFinite(blockSeconds) || blockSeconds <= 0) {
  process.stderr.write('serve: --block-seconds takes a positive number\n');
  process.exit(2);
}
const folder = resolve(
  args.find((arg, index) => !arg.startsWith('--') && index !== secondsFlag + 1) ?? 'data/sandbox',
);

const sandbox = await Sandbox.start({
  directory: folder,
  blockIntervalMs: blockSeconds * 1000,
  logLevel: 'warn',
});
const nodes = Object.fromEntries(
  (['agent', 'payer', 'worker'] as const).map((name) => [
    name,
    { nodeId: sandbox[name].nodeId, port: sandbox.ports[name] },
  ]),
);
process.stdout.write(`${JSON.stringify({ sandbox: folder, height: sandbox.height, blockSeconds, nodes })}\n`);
sandbox.agent.subscribe((event) => {
  if (event.type === 'block') process.stdout.write(`${JSON.stringify({ block: event.height })}\n`);
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    sandbox.stop().then(() => process.exit(0));
  });
}
