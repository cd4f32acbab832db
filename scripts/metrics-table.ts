// Prints the README's metrics table from docs/metrics.json (paste it between
// <!-- metrics:start --> and <!-- metrics:end -->; test/docs/metrics.test.ts checks it).
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { type MetricDoc, metricsTable } from '../src/services/metric-docs.ts'

const docs = JSON.parse(readFileSync(resolve(import.meta.dirname, '../docs/metrics.json'), 'utf8')) as MetricDoc[]
process.stdout.write(`${metricsTable(docs)}\n`)
