import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { test } from 'node:test'

const root = resolve(import.meta.dirname, '..', '..')
const readme = readFileSync(resolve(root, 'README.md'), 'utf8')

test('the README settings table is the one the schema generates (node scripts/readme-settings.ts)', () => {
  const table = execFileSync(process.execPath, [resolve(root, 'scripts/settings-table.ts')], { encoding: 'utf8' })
  const section = /<!-- settings:start -->\n([\s\S]*)<!-- settings:end -->/.exec(readme)?.[1]
  assert.equal(section, table)
})

test('the quick start is exactly two one-line commands, and CI runs the second', () => {
  const quickStart = /## Quick start\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? ''
  const blocks = [...quickStart.matchAll(/```\w*\n([\s\S]*?)```/g)].map((match) => match[1]!.trim())
  assert.equal(blocks.length, 2)
  for (const block of blocks) assert.equal(block.split('\n').length, 1)
  const ci = readFileSync(resolve(root, '.ci/run'), 'utf8')
  assert.ok(ci.split('\n').includes(blocks[1]!), `.ci/run must run "${blocks[1]}"`)
})
