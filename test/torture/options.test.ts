// The torture's options (scripts/torture/options.ts): the ones bench memory passes (--idle, --amounts) are read as
// given, default as documented (docs/torture.md), and bad values are refused with a message that says what to give.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OptionError, parseOptions } from '../../scripts/torture/options.ts';

test('--idle and --amounts default to no idle time and 2,000 to 40,000 sat', () => {
  const options = parseOptions([]);
  assert.is(options.idleSeconds, 0);
  assert.equal(options.amountsSat, { min: 2_000, max: 40_000 });
});

test('--idle and --amounts are read as given', () => {
  const options = parseOptions(['--idle', '60', '--amounts', '2000-8000']);
  assert.is(options.idleSeconds, 60);
  assert.equal(options.amountsSat, { min: 2_000, max: 8_000 });
  assert.equal(parseOptions(['--amounts', '10-10']).amountsSat, { min: 10, max: 10 });
});

test('bad --amounts and --idle are refused, saying what to give', () => {
  for (const amounts of ['8000-2000', '5-100', '2000', '2000-', 'a-b', '1000-1000001', '-5-10']) {
    const error = (() => {
      try {
        parseOptions(['--amounts', amounts]);
      } catch (caught) {
        return caught;
      }
      return null;
    })();
    assert.instance(error, OptionError, amounts);
    assert.match((error as Error).message, /--amounts takes MIN-MAX in sat/);
    assert.match((error as Error).message, JSON.stringify(amounts));
  }
  assert.throws(() => parseOptions(['--idle', '-1']), /--idle takes a whole number from 0 to 3600/);
  assert.throws(() => parseOptions(['--idle', '3601']), /--idle takes a whole number/);
});

test.run();
