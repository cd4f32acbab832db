// The schema templates in schemas/ (the built-in sources' events declared with the one
// mechanism, and a login example) are valid declarations, and the built-in generators' events
// decode against them.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { test } from 'node:test'
import { compileSchema } from '../../../src/core/schemas/compile.ts'
import { validateSchemaDeclaration } from '../../../src/core/schemas/declaration.ts'
import { MetricGenerator } from '../../../src/core/sources/metrics.ts'
import { PaymentGenerator } from '../../../src/core/sources/payments.ts'
import { PhasedGenerator } from '../../../src/core/sources/phased.ts'
import { PointGenerator } from '../../../src/core/sources/points.ts'

const directory = resolve(import.meta.dirname, '../../../schemas')
const template = (name: string) =>
  compileSchema(validateSchemaDeclaration(JSON.parse(readFileSync(join(directory, `${name}.json`), 'utf8')), name))

test('every template is a valid declaration', () => {
  const files = readdirSync(directory).filter((file) => file.endsWith('.json'))
  assert.ok(files.length >= 6)
  for (const file of files) template(file.replace(/\.json$/, ''))
})

test("the built-in sources' events decode against their templates, and get finite features", () => {
  const start = Date.UTC(2025, 0, 1)
  const phased = new PhasedGenerator({ seed: 1 })
  const payments = new PaymentGenerator({ seed: 1, startTimeMs: start })
  const points = new PointGenerator({ seed: 1 })
  const metrics = new MetricGenerator({ seed: 1, startTimeMs: start })
  const cases: [string, () => unknown][] = [
    ['transactions', () => phased.next(start / 1000)],
    ['payments', () => payments.next(start / 1000)],
    ['points', () => points.next(start)],
    ['metrics', () => metrics.next()],
  ]
  for (const [name, next] of cases) {
    const schema = template(name)
    const states = new Map<string, unknown>()
    let labelled = 0
    for (let i = 0; i < 500; i++) {
      const event = schema.decode(JSON.parse(JSON.stringify(next())))
      const entity = schema.entityKey(event)
      const { features, nextState } = schema.extract(event, states.get(entity))
      states.set(entity, nextState)
      assert.ok(features.every(Number.isFinite), `${name}: finite features`)
      if (schema.label(event) !== undefined) labelled++
    }
    if (schema.declaration.label) assert.equal(labelled, 500, `${name}: every event labelled`)
  }
})
