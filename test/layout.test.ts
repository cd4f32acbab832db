// Tests by what they need: a test that needs the broker is named `*.kafka.test.ts` (run by
// `npm run test:kafka`, which starts one); every other test file runs in `npm run test:unit`,
// which starts none. This checks the names against what each file imports.
import assert from 'node:assert/strict'
import { globSync, readFileSync } from 'node:fs'
import { dirname, relative, resolve } from 'node:path'
import { test } from 'node:test'
import { isKafkaTest } from '../scripts/test-kinds.ts'

const root = resolve(import.meta.dirname, '..')
const kafkaHelper = resolve(root, 'test/helpers/kafka.ts')
const localBroker = resolve(root, 'src/broker/local.ts')

/** Every file under test/ and scripts/ that `file` imports, directly or through other test files. */
function testImports(file: string, seen = new Set<string>()): Set<string> {
  for (const match of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
    const target = resolve(dirname(file), match[1]!)
    if (seen.has(target)) continue
    seen.add(target)
    const inside = relative(root, target)
    if (inside.startsWith('test/') || inside.startsWith('scripts/')) testImports(target, seen)
  }
  return seen
}

/** Why `file` needs a broker, or undefined. */
function needsBroker(file: string): string | undefined {
  const imports = testImports(file)
  if (imports.has(kafkaHelper)) return 'imports test/helpers/kafka.ts'
  if (imports.has(localBroker)) return 'imports src/broker/local.ts'
  const text = readFileSync(file, 'utf8')
  if (text.includes('TEST_KAFKA_BROKERS')) return 'reads TEST_KAFKA_BROKERS'
  if (/['"]broker['"],\s*['"]start['"]/.test(text)) return 'runs `lookout broker start`'
  return undefined
}

// (this file names what it looks for, so it does not check itself)
const files = globSync('test/**/*.test.ts', { cwd: root })
  .filter((file) => file !== 'test/layout.test.ts')
  .sort()

test('a test that needs the broker is named *.kafka.test.ts, and one named so needs it', () => {
  assert.ok(files.length > 40, `${files.length} test files`)
  const misnamed: string[] = []
  for (const file of files) {
    const reason = needsBroker(resolve(root, file))
    if (reason && !isKafkaTest(file)) misnamed.push(`${file} ${reason}: name it *.kafka.test.ts`)
    if (!reason && isKafkaTest(file)) misnamed.push(`${file} needs no broker: drop .kafka from its name`)
  }
  assert.deepEqual(misnamed, [])
})
