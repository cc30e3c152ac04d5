// The log limiter and the bounded id set the intake uses (src/agent/log-limiter.ts, src/agent/seen-ids.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogLimiter } from '../../src/agent/log-limiter.ts';
import { BoundedSet } from '../../src/agent/seen-ids.ts';

test('up to burst lines per key and window, then one summary line when the key logs again after the window', () => {
  let clock = 1_000_000;
  const limiter = createLogLimiter({ burst: 2, windowMs: 10_000, now: () => clock });
  const out: string[] = [];
  const line = (key: string, text: string) =>
    limiter.log(
      key,
      () => out.push(`${key} ${text}`),
      (count, seconds) => out.push(`${key} suppressed ${count} similar in the last ${seconds} s`),
    );
  for (let index = 0; index < 5; index++) line('a', `line ${index}`);
  line('b', 'line 0');
  assert.equal(out, ['a line 0', 'a line 1', 'b line 0']);
  clock += 12_000;
  line('a', 'later');
  assert.equal(out.slice(3), ['a suppressed 3 similar in the last 12 s', 'a later']);
  clock += 12_000;
  line('a', 'quiet window before');
  assert.equal(out.slice(5), ['a quiet window before'], 'no summary when nothing was suppressed');
});

test('flush reports pending summaries; the number of keys is bounded', () => {
  const clock = 0;
  const limiter = createLogLimiter({ burst: 1, windowMs: 1000, maxKeys: 2, now: () => clock });
  for (const key of ['x', 'x', 'y', 'z', 'z', 'z'])
    limiter.log(
      key,
      () => {},
      () => {},
    );
  const pending: string[] = [];
  limiter.flush((key, count) => pending.push(`${key}:${count}`));
  assert.equal(pending, ['z:2'], 'x was forgotten (three keys, room for two); y had nothing suppressed');
});

test('BoundedSet forgets the least recently used id first', () => {
  const set = new BoundedSet(2);
  set.add('a');
  set.add('b');
  assert.ok(set.has('a'), 'a hit refreshes a');
  set.add('c');
  assert.ok(set.has('a'));
  assert.not.ok(set.has('b'), 'b was the least recently used');
  assert.ok(set.has('c'));
  assert.is(set.size, 2);
});

test.run();
