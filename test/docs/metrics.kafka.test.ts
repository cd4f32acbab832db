// docs/metrics.json (the README's metrics table and what the Grafana dashboard may query) is what
// the processes really register: every service started on the real broker and the phased source
// run, their registries read. LOOKOUT_UPDATE_METRICS=1 rewrites the file from them.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, test } from 'node:test'
import { serviceRegistry } from '../../src/services/http.ts'
import { serviceNames } from '../../src/services/index.ts'
import { type MetricDoc, mergeMetricDocs, registryMetrics } from '../../src/services/metric-docs.ts'
import { type RunningService, startService } from '../../src/services/run.ts'
import { phasedSource } from '../../src/sources/phased.ts'
import { runSourceCommand } from '../../src/sources/source.ts'
import { deleteTopicsWithPrefix, testContext } from '../helpers/kafka.ts'
import { ensurePipelineTopics, serviceConfig } from '../helpers/pipeline.ts'

const root = resolve(import.meta.dirname, '../..')
const file = resolve(root, 'docs/metrics.json')
const context = testContext()
const dataDir = mkdtempSync(join(tmpdir(), 'lookout-metrics-'))
const services: RunningService[] = []

after(async () => {
  for (const service of services.reverse()) await service.stop()
  await deleteTopicsWithPrefix(context.topicPrefix)
  rmSync(dataDir, { recursive: true, force: true })
})

test('docs/metrics.json lists exactly the metrics every service and the sources register', async () => {
  await ensurePipelineTopics(context)
  const config = serviceConfig({
    'topics.prefix': context.topicPrefix,
    dataDir,
    'aggregate.port': 0,
    'console.port': 0,
    'source.port': 0,
    'source.count': 10,
    'source.rate': 'max',
    // the alert service's console sink, on by default, registers the delivery metrics
    'alert.console': 'true',
  })
  const byService = new Map<string, Omit<MetricDoc, 'services'>[]>()
  for (const name of serviceNames) {
    const service = await startService(name, config, context)
    services.push(service)
    byService.set(name, await registryMetrics(service.registry))
  }
  const registry = serviceRegistry('produce-phased')
  await runSourceCommand(phasedSource, config, { brokers: async () => context.brokers, write: () => {}, registry })
  byService.set('produce', await registryMetrics(registry))
  const docs = mergeMetricDocs(byService)
  if (process.env.LOOKOUT_UPDATE_METRICS === '1') writeFileSync(file, `${JSON.stringify(docs, null, 2)}\n`)
  const documented = JSON.parse(readFileSync(file, 'utf8')) as MetricDoc[]
  assert.deepEqual(
    documented,
    docs,
    'docs/metrics.json differs from the registries: run this test with LOOKOUT_UPDATE_METRICS=1, then biome check --write docs/metrics.json, and paste node scripts/metrics-table.ts into the README',
  )
  // every service has its runtime's metrics, so the table is not trivially empty
  for (const name of ['enrich', 'score', 'drift', 'alert', 'aggregate'])
    assert.ok(
      docs.some((doc) => doc.name === 'processor_records_total' && doc.services.includes(name)),
      name,
    )
})
