#!/usr/bin/env node
// Builds the real Lightning daemons the real-LND test suites run (issue #17): lnd and lncli (LND v0.21.6-beta) and
// btcd and btcctl (the btcd version LND's go.mod requires), from the Go module proxy through the wrapper module in
// scripts/lnd/ (its go.mod pins the versions and repeats LND's replace lines; its go.sum pins the checksums).
// The binaries go to $LND_BIN_DIR, by default ${XDG_CACHE_HOME:-~/.cache}/escrow-agent/lnd-v0.21.6-beta/bin,
// outside the repository. Nothing is built when that folder already holds all four for this version and these
// build tags (its build-info.json says so). Go 1.26.10 or newer is needed (LND's go.mod says so): the go command
// fetches go1.27.3 through GOTOOLCHAIN unless GOTOOLCHAIN names a version. Without Go: one line saying so, exit 1 (the
// suites that need the binaries then print one SKIP line each).
//   node scripts/build-lnd.mjs          build unless already built
//   node scripts/build-lnd.mjs --force  build again
//   node scripts/build-lnd.mjs --print-bin-dir
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const LND_VERSION = 'v0.21.6-beta';
/** LND's sub-servers the adapter and the `lightning` package call (see docs/lightning-lnd.md "Build tags"). */
export const LND_BUILD_TAGS = [
  'signrpc',
  'walletrpc',
  'chainrpc',
  'invoicesrpc',
  'routerrpc',
  'peersrpc',
  'verrpc',
];
const PACKAGES = {
  lnd: 'github.com/lightningnetwork/lnd/cmd/lnd',
  lncli: 'github.com/lightningnetwork/lnd/cmd/lncli',
  btcd: 'github.com/btcsuite/btcd',
  btcctl: 'github.com/btcsuite/btcd/cmd/btcctl',
};
const GO_TOOLCHAIN = 'go1.27.3';

const moduleDir = join(dirname(fileURLToPath(import.meta.url)), 'lnd');

export function defaultBinDir() {
  if (process.env.LND_BIN_DIR) return process.env.LND_BIN_DIR;
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'escrow-agent', `lnd-${LND_VERSION}`, 'bin');
}

function buildInfo() {
  const goSum = readFileSync(join(moduleDir, 'go.sum'), 'utf8');
  const goMod = readFileSync(join(moduleDir, 'go.mod'), 'utf8');
  return { lnd: LND_VERSION, tags: LND_BUILD_TAGS, goModBytes: goMod.length, goSumBytes: goSum.length };
}

function alreadyBuilt(binDir) {
  const infoPath = join(binDir, 'build-info.json');
  if (!existsSync(infoPath)) return false;
  if (!Object.keys(PACKAGES).every((name) => existsSync(join(binDir, name)))) return false;
  try {
    return JSON.stringify(JSON.parse(readFileSync(infoPath, 'utf8'))) === JSON.stringify(buildInfo());
  } catch {
    return false;
  }
}

function main() {
  const args = process.argv.slice(2);
  const unknown = args.filter((arg) => !['--force', '--print-bin-dir'].includes(arg));
  if (unknown.length > 0) {
    console.error(`build-lnd: unknown argument ${unknown[0]} (use --force or --print-bin-dir)`);
    process.exit(2);
  }
  const binDir = defaultBinDir();
  if (args.includes('--print-bin-dir')) {
    console.log(binDir);
    return;
  }
  if (!args.includes('--force') && alreadyBuilt(binDir)) {
    console.log(`build-lnd: lnd ${LND_VERSION}, lncli, btcd, btcctl already in ${binDir}`);
    return;
  }
  const goFound = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (goFound.error || goFound.status !== 0) {
    console.error(
      'build-lnd: no Go on this machine (`go version` failed): install Go (1.21 or newer: it fetches go1.27.3 itself) to build LND, or set LND_BIN_DIR to a folder with lnd, lncli, btcd and btcctl',
    );
    process.exit(1);
  }
  const started = Date.now();
  const staging = `${binDir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const env = {
    ...process.env,
    // A toolchain named by version is kept; 'local', 'auto' or nothing becomes go1.27.3 (lnd needs >= 1.26.10).
    GOTOOLCHAIN: /^go\d/.test(process.env.GOTOOLCHAIN ?? '') ? process.env.GOTOOLCHAIN : GO_TOOLCHAIN,
    GOFLAGS: '-buildvcs=false',
  };
  console.log(
    `build-lnd: building lnd ${LND_VERSION}, lncli, btcd, btcctl into ${binDir} (several minutes when cold)`,
  );
  const built = spawnSync(
    'go',
    [
      'build',
      '-trimpath',
      '-tags',
      LND_BUILD_TAGS.join(' '),
      '-o',
      `${staging}/`,
      ...Object.values(PACKAGES),
    ],
    { cwd: moduleDir, env, stdio: 'inherit' },
  );
  if (built.status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    console.error(`build-lnd: go build failed (exit ${built.status ?? built.signal}); nothing was installed`);
    process.exit(1);
  }
  writeFileSync(join(staging, 'build-info.json'), `${JSON.stringify(buildInfo())}\n`);
  rmSync(binDir, { recursive: true, force: true });
  mkdirSync(dirname(binDir), { recursive: true });
  renameSync(staging, binDir);
  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(`build-lnd: built in ${seconds} s into ${binDir}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
