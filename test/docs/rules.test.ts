// docs/rules.md is the rulebook every offer commits to by its sha256: the text, the constant in the code, the
// announced policy and the offers in the examples must all name the same hash and version.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RULEBOOK_SHA256, RULEBOOK_VERSION } from '../../src/domain/rulebook.ts';
import { parseAnnouncement } from '../../src/protocol/build-announcement.ts';
import { parseTransition } from '../../src/protocol/parse-transition.ts';
import type { NostrEvent } from '../../src/protocol/schemas.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const RULES = readFileSync(join(ROOT, 'docs/rules.md'));
const EXAMPLES = join(ROOT, 'docs/examples');

function example(name: string): NostrEvent {
  return JSON.parse(readFileSync(join(EXAMPLES, name), 'utf8')) as NostrEvent;
}

test('RULEBOOK_SHA256 is the sha256 of docs/rules.md (change the rules: change the text, the version and the hash)', () => {
  assert.is(createHash('sha256').update(RULES).digest('hex'), RULEBOOK_SHA256);
});

test('docs/rules.md states the version the code announces', () => {
  assert.match(RULES.toString('utf8'), new RegExp(`^Rules version \\*\\*${RULEBOOK_VERSION}\\*\\*\\.`, 'm'));
});

test('every offer in the examples commits to this rulebook, and the announced policy names it', () => {
  const offers = readdirSync(EXAMPLES).filter((name) => name.endsWith('-offered.json'));
  assert.ok(offers.length >= 4, `expected the example offers, found ${offers.length}`);
  for (const name of offers) {
    const parsed = parseTransition(example(name));
    assert.ok(parsed.ok, name);
    if (!parsed.ok || parsed.transition.state !== 'offered') continue;
    assert.is(parsed.transition.details.arbitration.rulesSha256, RULEBOOK_SHA256, name);
    assert.is(parsed.transition.details.arbitration.rulesVersion, RULEBOOK_VERSION, name);
  }
  const announcement = parseAnnouncement(example('03-agent-announcement.json'));
  assert.ok(announcement.ok);
  if (announcement.ok) assert.is(announcement.announcement.rulesSha256, RULEBOOK_SHA256);
});

test.run();
