// Writes docs/examples/<nn>-<name>.json: real, signed example events for every kind and label of
// docs/protocol.md, built with the protocol's own builders. Run: npx tsx scripts/generate-examples.ts
//
// Deterministic, so the files can be checked against a fresh run: fixed TEST keys (sha256 of a public phrase:
// never use them for anything real), fixed created_at, fixed preimages, and BIP-340 signatures made with
// fixed (zero) auxiliary randomness, which BIP-340 allows; the agent itself signs with fresh randomness.
// Example invoices are real regtest BOLT11, signed by fixed TEST node keys: they decode and their signatures
// verify, but no such node exists, so they cannot be paid.
import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type NostrEvent, parseEventJson } from '../src/protocol/schemas.ts';
import { buildExamples } from './examples/lifecycles.ts';

export {
  EXAMPLE_KEYS,
  EXAMPLE_POLICY,
  type Example,
  exampleNodeKey,
  wordsToPaddedBytes,
} from './examples/fixtures.ts';
export { buildExamples } from './examples/lifecycles.ts';

export const EXAMPLES_DIR = fileURLToPath(new URL('../docs/examples/', import.meta.url));

/**
 * Pretty JSON laid out the way the project's formatter (Biome, line width 110) lays it out, so that
 * `biome check .` passes on generated files: one tag per line when it fits, one element per line when not.
 */
export function formatEvent(event: NostrEvent): string {
  const inline = (tag: string[]) => `[${tag.map((element) => JSON.stringify(element)).join(', ')}]`;
  const oneLine = `  "tags": [${event.tags.map(inline).join(', ')}],`;
  const tagLines = event.tags.map((tag, index) => {
    const comma = index < event.tags.length - 1 ? ',' : '';
    const line = `    ${inline(tag)}${comma}`;
    if (line.length <= 110) return line;
    return `    [\n${tag.map((element) => `      ${JSON.stringify(element)}`).join(',\n')}\n    ]${comma}`;
  });
  const tags =
    oneLine.length <= 110 ? oneLine.slice('  "tags": '.length, -1) : `[\n${tagLines.join('\n')}\n  ]`;
  return [
    '{',
    `  "id": ${JSON.stringify(event.id)},`,
    `  "pubkey": ${JSON.stringify(event.pubkey)},`,
    `  "created_at": ${event.created_at},`,
    `  "kind": ${event.kind},`,
    `  "tags": ${tags},`,
    `  "content": ${JSON.stringify(event.content)},`,
    `  "sig": ${JSON.stringify(event.sig)}`,
    '}',
    '',
  ].join('\n');
}

/** The events of the example files on disk, by file name (unparseable files are skipped). */
export function readExampleFiles(): Map<string, NostrEvent> {
  const found = new Map<string, NostrEvent>();
  for (const name of readdirSync(EXAMPLES_DIR).sort()) {
    if (!name.endsWith('.json')) continue;
    const parsed = parseEventJson(readFileSync(join(EXAMPLES_DIR, name), 'utf8'));
    if (parsed.ok) found.set(name, parsed.event);
  }
  return found;
}

function main(): void {
  const examples = buildExamples();
  const wanted = new Set(examples.map((example) => example.file));
  for (const name of readdirSync(EXAMPLES_DIR)) {
    if (name.endsWith('.json') && !wanted.has(name)) {
      unlinkSync(join(EXAMPLES_DIR, name));
      console.log(`removed ${name}`);
    }
  }
  let written = 0;
  for (const example of examples) {
    const path = join(EXAMPLES_DIR, example.file);
    const text = formatEvent(example.event);
    if (existsSync(path) && readFileSync(path, 'utf8') === text) continue;
    writeFileSync(path, text);
    written += 1;
  }
  console.log(`${examples.length} examples, ${written} written to ${EXAMPLES_DIR}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
