// Rewrites the settings table between the README's settings markers from the schema:
//   node scripts/readme-settings.ts
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const table = execFileSync(process.execPath, [resolve(root, 'scripts/settings-table.ts')], { encoding: 'utf8' })
const path = resolve(root, 'README.md')
const readme = readFileSync(path, 'utf8')
const updated = readme.replace(
  /<!-- settings:start -->[\s\S]*<!-- settings:end -->/,
  `<!-- settings:start -->\n${table}<!-- settings:end -->`,
)
writeFileSync(path, updated)
