// The bounded id set the intake remembers handled events with (src/agent/seen-ids.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BoundedSet } from '../../src/agent/seen-ids.ts';

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
