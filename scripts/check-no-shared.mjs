#!/usr/bin/env node
// A user's clone has nothing beside it: no file under src/, test/, scripts/ or bench/ may read the team's
// shared folder beside the clone (copy what a test needs into test/fixtures/ and say where it came from). Imports are
// checked by dependency-cruiser too; this also catches paths built from strings (readFileSync, new URL, join).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const self = fileURLToPath(import.meta.url);
// The parent's shared folder as one path, as ".." and "shared" joined, or its data/design subfolders named.
const PATTERNS = [/\.\.\/shared\b/, /['"`]\.\.['"`]\s*,\s*['"`]shared['"`]/, /\bshared\/(data|design)\//];

function walk(dir, found = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, found);
    else if (/\.(ts|mts|cts|js|mjs|cjs|json|sh)$/.test(name) && path !== self) found.push(path);
  }
  return found;
}

const offences = [];
for (const folder of ['src', 'test', 'scripts', 'bench']) {
  for (const file of walk(join(root, folder))) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, index) => {
      if (PATTERNS.some((pattern) => pattern.test(line))) {
        offences.push(`${relative(root, file)}:${index + 1}: ${line.trim()}`);
      }
    });
  }
}
if (offences.length > 0) {
  console.log(
    `these lines read the shared folder beside the clone, which a user's clone does not have:\n${offences.join('\n')}`,
  );
  process.exit(1);
}
console.log('nothing under src/, test/, scripts/ or bench/ reads the shared folder beside the clone');
