// The published policy says what a client may rely on before it posts: whether the agent takes disputes at all
// (it does only with arbitrators) and the per-pubkey rate limit its intake enforces.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EXAMPLE_POLICY, SECRET, sign } from '../../scripts/examples/fixtures.ts';
import type { Policy } from '../../src/domain/types.ts';
import { buildAnnouncement, parseAnnouncement } from '../../src/protocol/build-announcement.ts';

function publishedPolicy(policy: Policy): Record<string, unknown> {
  return JSON.parse(buildAnnouncement(policy, { rulesVersion: 1, createdAt: 1 }).content).policy;
}

test('an agent without arbitrators publishes disputes: false; one with arbitrators disputes: true', () => {
  assert.is(publishedPolicy({ ...EXAMPLE_POLICY, arbitrators: [] }).disputes, false);
  assert.is(publishedPolicy(EXAMPLE_POLICY).disputes, true);
});

test('the rate limit is published, and read back', () => {
  const policy: Policy = { ...EXAMPLE_POLICY, rateLimit: { perMinute: 12, burst: 5 } };
  const json = publishedPolicy(policy);
  assert.is(json.rate_per_minute, 12);
  assert.is(json.rate_burst, 5);
  const parsed = parseAnnouncement(
    sign(buildAnnouncement(policy, { rulesVersion: 1, createdAt: 1 }), SECRET.agent),
  );
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  if (parsed.ok) assert.equal(parsed.announcement.policy.rateLimit, { perMinute: 12, burst: 5 });
});

test('a policy without its own rate limit publishes the default the intake applies (60 a minute, burst 30)', () => {
  const { rateLimit: _, ...withoutRate } = { ...EXAMPLE_POLICY, rateLimit: undefined };
  const json = publishedPolicy(withoutRate);
  assert.is(json.rate_per_minute, 60);
  assert.is(json.rate_burst, 30);
});

test('an announcement that offers disputes without arbitrators (or denies them with some) is refused', () => {
  const good = buildAnnouncement({ ...EXAMPLE_POLICY, arbitrators: [] }, { rulesVersion: 1, createdAt: 1 });
  const lying = good.content.replace('"disputes":false', '"disputes":true');
  assert.is.not(lying, good.content);
  const result = parseAnnouncement(sign({ ...good, content: lying }, SECRET.agent));
  assert.is(result.ok, false);
  const other = buildAnnouncement(EXAMPLE_POLICY, { rulesVersion: 1, createdAt: 1 });
  const denying = other.content.replace('"disputes":true', '"disputes":false');
  assert.is.not(denying, other.content);
  assert.is(parseAnnouncement(sign({ ...other, content: denying }, SECRET.agent)).ok, false);
});

test.run();
