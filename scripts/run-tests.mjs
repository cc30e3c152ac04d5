#!/usr/bin/env node
// The README's test command (`npm test`): type check, lint, the import rules, then every uvu suite under test/,
// each file in its own process (tsx), two at a time. PostgreSQL suites share one throwaway server
// started here unless DATABASE_URL is set. The last line is `N passed, N failed` (`, N skipped` when
// suites were skipped, each skip explained on the line above it).
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const only = process.argv.slice(2);
const concurrency = Number(process.env.TEST_CONCURRENCY ?? 2);

/** A suite still running after this long is stopped and counted as failed (a hang must not eat CI's budget). */
const SUITE_TIMEOUT_MS = Number(process.env.TEST_SUITE_TIMEOUT_MS ?? 10 * 60_000);

function run(command, args, env = {}, timeoutMs = 0) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env } });
    let output = '';
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            output += `\nstopped: still running after ${Math.round(timeoutMs / 1000)} s (TEST_SUITE_TIMEOUT_MS)\n`;
            child.kill('SIGKILL');
          }, timeoutMs)
        : null;
    child.on('close', () => {
      if (timer) clearTimeout(timer);
    });
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

function findTests(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith('.test.ts')) found.push(path);
  }
  return found.sort();
}

function parseUvu(output) {
  const number = (label) => Number(output.match(new RegExp(`${label}:\\s+(\\d+)`))?.[1] ?? Number.NaN);
  return { total: number('Total'), passed: number('Passed'), skipped: number('Skipped') };
}

const started = Date.now();
let passed = 0;
let failed = 0;
let skipped = 0;
const skipReasons = [];
const failures = [];

if (only.length === 0) {
  for (const [name, args] of [
    ['typecheck', ['npx', 'tsc', '--noEmit']],
    ['lint', ['npx', 'biome', 'check', '.']],
    // The house's import rules (.dependency-cruiser.cjs): no circles, each layer imports only those below it.
    [
      'dependency rules',
      [
        'npx',
        'depcruise',
        'src',
        'test',
        'scripts',
        'bench',
        '--config',
        '.dependency-cruiser.cjs',
        '--output-type',
        'err',
      ],
    ],
    ['nothing reads outside the repository', [process.execPath, 'scripts/check-no-shared.mjs']],
  ]) {
    const result = await run(args[0], args.slice(1));
    if (result.code === 0) {
      passed += 1;
      console.log(`ok   ${name}`);
    } else {
      failed += 1;
      failures.push(name);
      console.log(`FAIL ${name}\n${result.output}`);
    }
  }
}

// The CLI suites run the compiled command (bin/escrow-agent.js -> dist/): build it once, here, so no suite builds
// (and empties dist/) while another one runs it.
{
  const built = await run('npm', ['run', 'build']);
  if (built.code === 0) console.log('ok   build (dist/ for the CLI suites)');
  else {
    failed += 1;
    failures.push('build');
    console.log(`FAIL build\n${built.output}`);
  }
}

let postgres;
const env = {};
if (!process.env.DATABASE_URL && process.env.TEST_POSTGRES !== 'off') {
  const { startThrowawayPostgres } = await import('../test/fakes/throwaway-postgres.mjs');
  try {
    postgres = await startThrowawayPostgres();
    env.DATABASE_URL = postgres.url;
    console.log(`ok   throwaway PostgreSQL on ${postgres.url.replace(/:[^:@/]*@/, ':***@')}`);
  } catch (error) {
    failed += 1;
    failures.push('throwaway PostgreSQL');
    console.log(`FAIL could not start a throwaway PostgreSQL: ${error.message}`);
  }
}

const files = only.length > 0 ? only.map((file) => join(root, file)) : findTests(join(root, 'test'));
const queue = [...files];
async function worker() {
  while (queue.length > 0) {
    const file = queue.shift();
    const name = relative(root, file);
    const began = Date.now();
    const result = await run(process.execPath, ['--import', 'tsx', file], env, SUITE_TIMEOUT_MS);
    const counts = parseUvu(result.output);
    const seconds = ((Date.now() - began) / 1000).toFixed(1);
    const skipLines = [...result.output.matchAll(/^SKIP (.+)$/gm)].map((match) => `${name}: ${match[1]}`);
    skipReasons.push(...skipLines);
    if (result.code === 0 && Number.isFinite(counts.passed) && counts.total > 0) {
      passed += counts.passed;
      skipped += counts.skipped;
      console.log(
        `ok   ${name}  ${counts.passed} passed${counts.skipped ? `, ${counts.skipped} skipped` : ''}  ${seconds}s`,
      );
    } else {
      const failedHere = Number.isFinite(counts.total)
        ? Math.max(1, counts.total - counts.passed - counts.skipped)
        : 1;
      passed += Number.isFinite(counts.passed) ? counts.passed : 0;
      failed += failedHere;
      failures.push(name);
      console.log(`FAIL ${name}  ${seconds}s\n${result.output}`);
    }
  }
}
await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
if (postgres) await postgres.stop();

console.log(`\n${files.length} suites in ${((Date.now() - started) / 1000).toFixed(1)}s`);
if (failures.length > 0) console.log(`failed: ${failures.join(', ')}`);
for (const reason of skipReasons) console.log(`skipped: ${reason}`);
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
