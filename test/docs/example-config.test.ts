// escrow-agent.example.toml documents every configuration key: it parses with loadConfig, it names every key the
// schema has (set, or commented out where there is no default to write) and no key the schema lacks, and each key
// it sets holds the default.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { configKeys, describeConfig, loadConfig } from '../../src/agent/config.ts';
import { ROOT } from '../fakes/built-cli.ts';

const FILE = join(ROOT, 'escrow-agent.example.toml');
const text = readFileSync(FILE, 'utf8');

/** The keys the file sets, and those it shows commented out (`# name = value` under a [section]). */
function namedKeys(): { set: string[]; commented: string[] } {
  const set: string[] = [];
  for (const [section, table] of Object.entries(parseToml(text))) {
    for (const name of Object.keys(table as object)) set.push(`${section}.${name}`);
  }
  const commented: string[] = [];
  let section = '';
  for (const line of text.split('\n')) {
    const header = /^\[([a-z_]+)\]\s*$/.exec(line);
    if (header) section = header[1]!;
    const key = /^#\s*([a-z_]+)\s*=\s*\S/.exec(line);
    if (key && section) commented.push(`${section}.${key[1]}`);
  }
  return { set, commented };
}

test('the example parses with loadConfig (no environment)', () => {
  const config = loadConfig({ file: FILE, env: {}, cwd: ROOT });
  assert.is(config.source, FILE);
  assert.is(config.lightning.backend, 'sandbox');
});

test('it names every key of the schema, and only keys of the schema', () => {
  const schema = configKeys();
  assert.ok(schema.length > 40, `the schema walk found ${schema.length} keys`);
  const { set, commented } = namedKeys();
  const named = new Set([...set, ...commented]);
  const missing = schema.filter((key) => !named.has(key));
  assert.equal(missing, [], `keys the example does not document: ${missing.join(', ')}`);
  const unknown = [...named].filter((key) => !schema.includes(key));
  assert.equal(unknown, [], `keys in the example that the schema lacks: ${unknown.join(', ')}`);
  // Commented out only where there is nothing to write: keys that are unset by default or derived.
  for (const key of commented.filter((one) => !set.includes(one))) {
    assert.ok(
      [
        'agent.key_file',
        'agent.verify_threads',
        'database.url',
        'database.preimage_key_file',
        'nostr.relays',
        'nostr.publish_quorum',
        'lightning.url',
        'lightning.auto_cancel_blocks',
      ].includes(key),
      `${key} is commented out, but it has a default to write`,
    );
  }
});

test('every key it sets holds the default, and each is preceded by a comment', () => {
  const fromFile = describeConfig({ file: FILE, env: {}, cwd: ROOT }).entries;
  const defaults = new Map(describeConfig({ env: {}, cwd: ROOT }).entries.map((entry) => [entry.key, entry]));
  const { set } = namedKeys();
  for (const entry of fromFile.filter((one) => set.includes(one.key))) {
    assert.is(entry.source, `file (${FILE})`, entry.key);
    assert.equal(entry.value, defaults.get(entry.key)?.value, `${entry.key} is not the default`);
  }
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (!/^[a-z_]+\s*=/.test(line)) continue;
    const before = lines.slice(0, index).reverse();
    const previous = before.find((one) => !/^[a-z_]+\s*=/.test(one));
    assert.ok(previous?.startsWith('#'), `line ${index + 1} (${line}) has no comment above it`);
  }
});

test.run();
