#!/usr/bin/env node
// The product's command. It runs the compiled JavaScript in dist/ (`npm run build`: tsc with
// rewriteRelativeImportExtensions, run by `prepare`, so `npm install` and `npm ci` build it), because that starts
// three times faster than compiling the TypeScript sources on the fly with tsx. `escrow-agent help`, median of 20
// runs each (node 20, spawnSync from a script, same machine): through tsx 526 ms (min 419), compiled 162 ms
// (min 138); a bare `node -e 0` takes about 60 ms.
//
// When dist/ is missing or older than a file in src/ (sources edited since the last build), it falls back to the
// sources through tsx (a dev dependency), so a stale build is never run; LOG_LEVEL=debug says which one it ran.
// The CLI tests build first, so they exercise the compiled output.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = join(root, 'dist', '.built'); // written by `npm run build` once tsc has emitted everything

function newestChange(dir) {
  let newest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestChange(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const debug = process.env.LOG_LEVEL === 'debug' || process.env.LOG_LEVEL === 'trace';
const compiled = existsSync(stamp) && statSync(stamp).mtimeMs >= newestChange(join(root, 'src'));
let cli;
if (compiled) {
  cli = await import('../dist/cli/cli.js');
} else {
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch {
    console.error(
      'escrow-agent: dist/ is missing or older than src/, and tsx is not installed: run `npm run build`',
    );
    process.exit(2);
  }
  if (debug) console.error('escrow-agent: running src/ through tsx (dist/ is missing or older than src/)');
  cli = await import('../src/cli/cli.ts');
}
const code = await cli.run(process.argv.slice(2));
// A failed command exits at once, whatever timers or sockets a half-started part left behind.
if (code !== 0) process.exit(code);
