import assert from 'node:assert/strict'
import { test } from 'node:test'
import { unlisted } from '../../bench/run.ts'

test('npm run bench runs every benchmark under bench/: a new one must be listed in bench/run.ts', () => {
  assert.deepEqual(unlisted(), [])
})
