// The metrics Lookout's processes register, as documented in the README and queried by the
// Grafana dashboard (docs/grafana/lookout.json). docs/metrics.json is read from the registries of
// the running services and a source (test/docs/metrics.kafka.test.ts checks it, and rewrites it
// with LOOKOUT_UPDATE_METRICS=1); `node scripts/metrics-table.ts` prints the README's table from it.

import type { Registry } from 'prom-client'
import { serviceRegistry } from './http.ts'

export interface MetricDoc {
  name: string
  type: string
  /** Label names besides `service`, which every metric carries. */
  labels: string[]
  /** The processes that register it: a service name, or `produce` for the sources. */
  services: string[]
  help: string
}

/** The Node.js process metrics every registry starts with (prom-client's defaults). */
export async function defaultMetricNames(): Promise<Set<string>> {
  const registry = serviceRegistry('defaults')
  return new Set((await registry.getMetricsAsJSON()).map((metric) => metric.name))
}

/** Lookout's own metrics in a registry (the defaults left out), with their label names. */
export async function registryMetrics(registry: Registry): Promise<Omit<MetricDoc, 'services'>[]> {
  const defaults = await defaultMetricNames()
  const described = await registry.getMetricsAsJSON()
  const labelNames = new Map(
    registry
      .getMetricsAsArray()
      .map((metric) => [
        (metric as unknown as { name: string }).name,
        [...((metric as unknown as { labelNames?: string[] }).labelNames ?? [])],
      ]),
  )
  return described
    .filter((metric) => !defaults.has(metric.name))
    .map((metric) => ({
      name: metric.name,
      type: String(metric.type),
      labels: (labelNames.get(metric.name) ?? []).filter((label) => label !== 'service').sort(),
      help: metric.help,
    }))
}

/** One entry per metric name with every process that registers it, sorted by name. */
export function mergeMetricDocs(byService: ReadonlyMap<string, Omit<MetricDoc, 'services'>[]>): MetricDoc[] {
  const merged = new Map<string, MetricDoc>()
  for (const [service, metrics] of byService)
    for (const metric of metrics) {
      const existing = merged.get(metric.name)
      if (existing) existing.services = [...new Set([...existing.services, service])].sort()
      else merged.set(metric.name, { ...metric, services: [service] })
    }
  return [...merged.values()].sort((a, b) => a.name.localeCompare(b.name))
}

const cell = (text: string) => text.replaceAll('|', '\\|')

/** The README's metrics table. */
export function metricsTable(docs: readonly MetricDoc[]): string {
  const rows = docs.map(
    (doc) =>
      `| \`${doc.name}\` | ${doc.type} | ${doc.labels.map((label) => `\`${label}\``).join(', ') || '–'} | ${doc.services.join(', ')} | ${cell(doc.help)} |`,
  )
  return ['| metric | type | labels | service | meaning |', '|---|---|---|---|---|', ...rows].join('\n')
}
