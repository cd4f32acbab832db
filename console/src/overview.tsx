// Overview: throughput per topic, lag per group (records and time) with an hour of history,
// latency from production to score and to alert, anomaly rate, phase, every service's health.
import { useEffect, useState } from 'preact/hooks'
import { api, formatNumber } from './api.ts'
import { Chart } from './chart.tsx'

interface GroupLag {
  id: string
  state: string
  lag: number
  lagSeconds: number | null
  partitions: { topic: string; partition: number; lag: number; lagSeconds: number | null }[]
}

export interface Overview {
  time: number
  /** The pipeline's topic prefix: the charts show its topics and groups. */
  prefix: string
  topics: { name: string; eventsPerSecond: number }[]
  input: number
  scored: number
  latencyMs: Record<'score' | 'alert', { p50: number | null; p99: number | null; samples: number }>
  anomalyRate: { scoredPerSecond: number; anomaliesPerSecond: number; share: number | null }
  phase: string | null
  services: { name: string; port: number; ok: boolean; reason?: string }[]
  groups: GroupLag[]
  history?: {
    throughput: { t: number[]; series: Record<string, number[]> }
    lag: { t: number[]; records: Record<string, (number | null)[]>; seconds: Record<string, (number | null)[]> }
  }
}

const shortName = (topic: string) => topic.replace(/^.*?\.(?=[a-z-]+$)/, '')

export function OverviewPage() {
  const [data, setData] = useState<Overview | null>(null)
  const [error, setError] = useState('')
  useEffect(() => {
    let current: Overview | null = null
    api<Overview>('/api/overview')
      .then((first) => {
        current = first
        setData(first)
      })
      .catch((e: Error) => setError(e.message))
    const source = new EventSource('/api/overview/stream')
    source.addEventListener('overview', (event) => {
      const next = JSON.parse((event as MessageEvent).data) as Overview
      if (current?.history) {
        const h = current.history
        const second = Math.round(next.time / 1000)
        if (next.topics.length && second - (h.throughput.t.at(-1) ?? 0) >= 2) {
          h.throughput.t = [...h.throughput.t, second].slice(-1800)
          for (const topic of next.topics)
            h.throughput.series[topic.name] = [...(h.throughput.series[topic.name] ?? []), topic.eventsPerSecond].slice(
              -h.throughput.t.length,
            )
        }
        if (second - (h.lag.t.at(-1) ?? 0) >= 5) {
          h.lag.t = [...h.lag.t, second].slice(-720)
          for (const group of next.groups)
            h.lag.records[group.id] = [...(h.lag.records[group.id] ?? []), group.lag].slice(-h.lag.t.length)
        }
        next.history = h
      }
      current = next
      setData(next)
    })
    return () => source.close()
  }, [])

  if (error) return <p class="error">{error}</p>
  if (!data) return <p>Loading…</p>
  const main = ['raw-transactions', 'enriched-features', 'anomaly-scores', 'anomalies', 'alerts']
  const ours = (name: string) => name.startsWith(data.prefix) && main.includes(name.slice(data.prefix.length))
  const throughputSeries = Object.entries(data.history?.throughput.series ?? {})
    .filter(([name]) => ours(name))
    .map(([name, values]) => ({ label: shortName(name), values: padLeft(values, data.history!.throughput.t.length) }))
  const lagSeries = Object.entries(data.history?.lag.records ?? {})
    .filter(([id]) => id.startsWith(data.prefix))
    .map(([id, values]) => ({
      label: id.slice(data.prefix.length),
      values: padLeft(values, data.history!.lag.t.length),
    }))
  const ms = (value: number | null) => (value === null ? '–' : `${formatNumber(value)} ms`)
  return (
    <section>
      <h1>Overview</h1>
      <div class="cards">
        <Card label="input events/s" value={formatNumber(data.input, 1)} testId="input-rate" />
        <Card label="scored events/s" value={formatNumber(data.scored, 1)} testId="scored-rate" />
        <Card
          label="anomaly rate (last minute)"
          value={data.anomalyRate.share === null ? '–' : `${formatNumber(data.anomalyRate.share * 100, 2)} %`}
          sub={`${formatNumber(data.anomalyRate.anomaliesPerSecond, 1)} anomalies/s`}
        />
        <Card
          label="latency to score p50 / p99"
          value={`${ms(data.latencyMs.score.p50)} / ${ms(data.latencyMs.score.p99)}`}
          sub={`${formatNumber(data.latencyMs.score.samples)} samples`}
        />
        <Card
          label="latency to alert p50 / p99"
          value={`${ms(data.latencyMs.alert.p50)} / ${ms(data.latencyMs.alert.p99)}`}
          sub={`${formatNumber(data.latencyMs.alert.samples)} samples`}
        />
        <Card label="current phase" value={data.phase ?? '–'} testId="phase" />
      </div>
      <h2>Services</h2>
      <ul class="services" data-testid="services">
        {data.services.map((service) => (
          <li class={service.ok ? 'up' : 'down'} title={service.reason ?? ''}>
            {service.name} <span>{service.ok ? 'up' : 'down'}</span>
            {service.reason ? <small>{service.reason}</small> : null}
          </li>
        ))}
        {data.services.length === 0 ? <li>no service ports configured</li> : null}
      </ul>
      <div class="charts">
        {throughputSeries.length > 0 ? (
          <Chart
            title="events/s per topic"
            t={data.history!.throughput.t}
            series={throughputSeries}
            testId="throughput-chart"
          />
        ) : (
          <p class="muted">Throughput appears after two samples (2 s apart).</p>
        )}
        {lagSeries.length > 0 ? (
          <Chart
            title="consumer lag (records) per group"
            t={data.history!.lag.t}
            series={lagSeries}
            testId="lag-chart"
          />
        ) : null}
      </div>
      <h2>Events/s per topic</h2>
      <table data-testid="topic-rates">
        <thead>
          <tr>
            <th>topic</th>
            <th class="num">events/s</th>
          </tr>
        </thead>
        <tbody>
          {data.topics
            .filter((t) => t.eventsPerSecond > 0 || main.includes(shortName(t.name)))
            .map((topic) => (
              <tr>
                <td>
                  <a href={`#/topics/${encodeURIComponent(topic.name)}`}>{topic.name}</a>
                </td>
                <td class="num">{formatNumber(topic.eventsPerSecond, 1)}</td>
              </tr>
            ))}
        </tbody>
      </table>
      <h2>Consumer lag</h2>
      <LagTable groups={data.groups} />
    </section>
  )
}

function padLeft<T>(values: T[], length: number): (T | null)[] {
  return values.length >= length ? values.slice(-length) : [...new Array(length - values.length).fill(null), ...values]
}

export function LagTable({ groups }: { groups: GroupLag[] }) {
  return (
    <table>
      <thead>
        <tr>
          <th>group</th>
          <th>topic / partition</th>
          <th class="num">lag (records)</th>
          <th class="num">lag (seconds)</th>
        </tr>
      </thead>
      <tbody>
        {groups.flatMap((group) =>
          group.partitions.map((p) => (
            <tr>
              <td>{group.id}</td>
              <td>
                {p.topic} / {p.partition}
              </td>
              <td class="num">{formatNumber(p.lag)}</td>
              <td class="num">{p.lagSeconds === null ? '–' : formatNumber(p.lagSeconds, 1)}</td>
            </tr>
          )),
        )}
      </tbody>
    </table>
  )
}

function Card({ label, value, sub, testId }: { label: string; value: string; sub?: string; testId?: string }) {
  return (
    <div class="card">
      <div class="label">{label}</div>
      <div class="value" data-testid={testId}>
        {value}
      </div>
      {sub ? <div class="sub">{sub}</div> : null}
    </div>
  )
}
