// Windows: per aggregation, its definition, a small chart of its top groups over the recent
// windows, the totals per window, and the newest window's groups as a table.
import { useEffect, useState } from 'preact/hooks'
import { api, formatNumber, formatTime, formatValue } from './api.ts'
import { Chart } from './chart.tsx'
import './models.css'

interface Aggregation {
  name: string
  definition: {
    key: string
    sizeMs: number
    slideMs: number
    emit: string
    aggregates: { name: string; op: string; field?: string }[]
  } | null
  valueNames: string[]
  windows: { start: number; end: number; groups: number; final: boolean; totals: Record<string, number> }[]
  window: {
    start: number
    end: number
    groups: number
    final: boolean
    rows: { key: string; values: Record<string, number | null>; final: boolean }[]
  } | null
  top: { key: string; values: (number | null)[] }[]
}

interface Windows {
  topic: string
  records: number
  aggregations: Aggregation[]
}

const duration = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`)

export function WindowsPage() {
  const [data, setData] = useState<Windows | null>(null)
  const [error, setError] = useState('')
  useEffect(() => {
    const load = () =>
      api<Windows>('/api/windows?limit=15')
        .then((next) => {
          setData(next)
          setError('')
        })
        .catch((e: Error) => setError(e.message))
    void load()
    const timer = setInterval(load, 5_000)
    return () => clearInterval(timer)
  }, [])
  if (error && !data) return <p class="error">{error}</p>
  if (!data) return <p>Loading…</p>
  return (
    <section>
      <h1>Windows</h1>
      {error ? <p class="error">{error}</p> : null}
      <p class="muted">
        The latest results on {data.topic} ({formatNumber(data.records)} read since the console started, from a little
        before the end of the topic).
      </p>
      <div class="windows">
        {data.aggregations.map((aggregation) => (
          <AggregationCard aggregation={aggregation} />
        ))}
      </div>
    </section>
  )
}

function AggregationCard({ aggregation }: { aggregation: Aggregation }) {
  const { definition, window, windows } = aggregation
  const first = aggregation.valueNames[0]
  const totals = Object.keys(windows.at(-1)?.totals ?? {})
  return (
    <div class="aggregation" data-testid={`aggregation-${aggregation.name}`} data-windows={windows.length}>
      <h2>{aggregation.name}</h2>
      {definition ? (
        <p class="small muted">
          by {definition.key}; {duration(definition.sizeMs)} windows
          {definition.slideMs !== definition.sizeMs ? ` sliding by ${duration(definition.slideMs)}` : ' (tumbling)'};{' '}
          {definition.aggregates.map((a) => (a.field ? `${a.name} = ${a.op}(${a.field})` : a.name)).join(', ')}; emit{' '}
          {definition.emit}
        </p>
      ) : null}
      {windows.length === 0 ? (
        <p class="muted">no results yet</p>
      ) : (
        <>
          {aggregation.top.length > 0 && first && windows.length > 1 ? (
            <Chart
              title={`${first} of the top groups per window`}
              t={windows.map((w) => w.start / 1000)}
              series={aggregation.top.map((group) => ({ label: group.key, values: group.values }))}
              height={170}
              minSpanSeconds={Math.max(60, ((definition?.slideMs ?? 60_000) / 1000) * 4)}
            />
          ) : null}
          <table class="small">
            <thead>
              <tr>
                <th>window</th>
                <th class="num">groups</th>
                {totals.map((name) => (
                  <th class="num">total {name}</th>
                ))}
                <th>final</th>
              </tr>
            </thead>
            <tbody>
              {windows
                .slice(-5)
                .reverse()
                .map((w) => (
                  <tr>
                    <td>{formatTime(w.start).slice(11, 19)}</td>
                    <td class="num">{formatNumber(w.groups)}</td>
                    {totals.map((name) => (
                      <td class="num">{formatValue(w.totals[name])}</td>
                    ))}
                    <td>{w.final ? 'yes' : 'open'}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </>
      )}
      {window ? (
        <>
          <h3>
            {formatTime(window.start)} – {formatTime(window.end).slice(11)} ({window.final ? 'final' : 'running'},{' '}
            {formatNumber(window.groups)} groups)
          </h3>
          <table class="small" data-testid={`window-rows-${aggregation.name}`}>
            <thead>
              <tr>
                <th>{definition?.key ?? 'key'}</th>
                {aggregation.valueNames.map((name) => (
                  <th class="num">{name}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {window.rows.map((row) => (
                <tr>
                  <td>{row.key}</td>
                  {aggregation.valueNames.map((name) => (
                    <td class="num">{formatValue(row.values[name])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </div>
  )
}
