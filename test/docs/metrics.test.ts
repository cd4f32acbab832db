// The README's metrics table is docs/metrics.json (which test/docs/metrics.kafka.test.ts checks
// against the running services' registries), and the Grafana dashboard queries only those metrics
// (and Node.js's default ones), each of them at least once.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { test } from 'node:test'
import { defaultMetricNames, type MetricDoc } from '../../src/services/metric-docs.ts'

const root = resolve(import.meta.dirname, '..', '..')
const docs = JSON.parse(readFileSync(resolve(root, 'docs/metrics.json'), 'utf8')) as MetricDoc[]
const dashboard = JSON.parse(readFileSync(resolve(root, 'docs/grafana/lookout.json'), 'utf8')) as {
  panels: { type: string; title: string; targets?: { expr: string }[] }[]
}

const promqlWords = new Set([
  'sum',
  'max',
  'min',
  'avg',
  'rate',
  'increase',
  'histogram_quantile',
  'time',
  'by',
  'without',
])

/** The metric names a PromQL expression reads (label matchers, groupings and functions left out). */
export function metricsIn(expr: string): string[] {
  const bare = expr
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
  return [...bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)].map((m) => m[0]).filter((word) => !promqlWords.has(word))
}

test('the README metrics table is the one docs/metrics.json gives (node scripts/metrics-table.ts)', () => {
  const readme = readFileSync(resolve(root, 'README.md'), 'utf8')
  const table = execFileSync(process.execPath, [resolve(root, 'scripts/metrics-table.ts')], { encoding: 'utf8' })
  const section = /<!-- metrics:start -->\n([\s\S]*)<!-- metrics:end -->/.exec(readme)?.[1]
  assert.equal(section, table)
})

test('metricsIn finds the metrics of an expression and nothing else', () => {
  assert.deepEqual(
    metricsIn(
      'histogram_quantile(0.99, sum by (le, processor) (rate(processor_batch_seconds_bucket{processor="score"}[5m])))',
    ),
    ['processor_batch_seconds_bucket'],
  )
  assert.deepEqual(metricsIn('time() - min by (partition) (aggregate_watermark_seconds)'), [
    'aggregate_watermark_seconds',
  ])
})

test('every metric the Grafana dashboard queries is registered, and every documented metric has a panel', async () => {
  const defaults = await defaultMetricNames()
  const histograms = docs.filter((doc) => doc.type === 'histogram').map((doc) => doc.name)
  const known = new Set([
    ...docs.map((doc) => doc.name),
    ...histograms.flatMap((name) => ['_bucket', '_sum', '_count'].map((suffix) => `${name}${suffix}`)),
    ...defaults,
  ])
  const used = new Set<string>()
  const graphs = dashboard.panels.filter((panel) => panel.type !== 'row')
  assert.ok(graphs.length >= 20, `${graphs.length} panels`)
  for (const panel of graphs) {
    assert.ok(panel.targets?.length, `${panel.title} has queries`)
    for (const { expr } of panel.targets!) {
      const names = metricsIn(expr)
      assert.ok(names.length > 0, `${panel.title}: ${expr} reads a metric`)
      for (const name of names) {
        assert.ok(known.has(name), `${panel.title}: ${name} is not a metric any Lookout process registers`)
        used.add(
          name.replace(/_(bucket|sum|count)$/, (suffix) =>
            histograms.some((h) => name === `${h}${suffix}`) ? '' : suffix,
          ),
        )
      }
    }
  }
  const unused = docs.map((doc) => doc.name).filter((name) => !used.has(name))
  assert.deepEqual(unused, [], 'documented metrics without a panel')
})
