// The `d` of a listing address, as the post-task handler looks up an unfinished task of the same address.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dOfAddress } from '../../src/protocol/parse-task-listing.ts';

const POSTER = 'a'.repeat(64);

test('the d of 30402:<poster>:<d> is everything after the poster, colons included', () => {
  assert.is(dOfAddress(`30402:${POSTER}:readme-es`), 'readme-es');
  assert.is(dOfAddress(`30402:${POSTER}:job:2025:01`), 'job:2025:01');
  assert.is(dOfAddress(`30402:${POSTER}:`), '');
});

test.run();
