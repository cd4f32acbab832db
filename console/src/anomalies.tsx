// Live anomalies: flagged events as they are scored (server-sent events), each detector's score
// and the top features; one opened shows the full scored event, its features against the
// entity's usual values, and a link to its source message in the browser. Below the list, the
// entities suppressed by analysts' feedback.
import { useEffect, useRef, useState } from 'preact/hooks'
import { api, type ConsoleRecord, formatNumber, formatTime, type LiveAnomaly } from './api.ts'
import { SuppressionsPanel } from './suppressions.tsx'

interface Source {
  anomaly: ConsoleRecord
  source: { topic: string; partition: number; offset: string } | null
  searched: { topic: string; partition: number; from: string; to: string; scanned: number }
  features: {
    features: { feature: string; weight: number; value: number | null; usual: number | null }[]
    entityEvents: number
  }
}

const keep = 300

export function AnomaliesPage({ selected }: { selected: string | null }) {
  const [items, setItems] = useState<LiveAnomaly[]>([])
  const [total, setTotal] = useState(0)
  const [latency, setLatency] = useState<number | null>(null)
  const [connected, setConnected] = useState(false)
  const lags = useRef<number[]>([])
  useEffect(() => {
    let list: LiveAnomaly[] = []
    api<{ anomalies: LiveAnomaly[] }>(`/api/anomalies?limit=${keep}`)
      .then((answer) => {
        list = [...list, ...answer.anomalies].slice(0, keep)
        setItems(list)
      })
      .catch(() => {})
    const source = new EventSource('/api/anomalies/stream')
    source.onopen = () => setConnected(true)
    source.onerror = () => setConnected(false)
    source.addEventListener('anomalies', (event) => {
      const batch = JSON.parse((event as MessageEvent).data) as { total: number; items: LiveAnomaly[] }
      list = [...batch.items.reverse(), ...list].slice(0, keep)
      setItems(list)
      setTotal((n) => n + batch.total)
      // update latency: from the score service writing the newest one to this page showing it
      requestAnimationFrame(() => {
        const newest = batch.items[0]
        if (!newest) return
        lags.current = [...lags.current, Date.now() - newest.scoredAt].slice(-100)
        const sorted = [...lags.current].sort((a, b) => a - b)
        setLatency(sorted[Math.floor(sorted.length / 2)] ?? null)
      })
    })
    return () => source.close()
  }, [])

  const open = selected ? items.find((a) => `${a.partition}:${a.offset}` === selected) : undefined
  return (
    <section class="split">
      <div class="list">
        <h1>Live anomalies</h1>
        <p class="muted">
          <span class={connected ? 'live on' : 'live'}>{connected ? 'live' : 'connecting'}</span> {formatNumber(total)}{' '}
          flagged since opened · page updated{' '}
          <span data-testid="update-latency">{latency === null ? '–' : `${formatNumber(latency)} ms`}</span> after
          scoring (median)
        </p>
        <table data-testid="anomalies">
          <thead>
            <tr>
              <th>scored</th>
              <th>kind</th>
              <th>entity</th>
              <th class="num">score</th>
              <th>detectors</th>
              <th>top features / rules</th>
            </tr>
          </thead>
          <tbody>
            {items.map((a) => {
              const id = `${a.partition}:${a.offset}`
              const detectors = Object.entries(a.event.scores)
                .filter(([name]) => !name.startsWith('rule:'))
                .sort((x, y) => y[1] - x[1])
                .slice(0, 3)
              return (
                <tr
                  class={`clickable${selected === id ? ' selected' : ''}`}
                  data-testid="anomaly"
                  onClick={() => {
                    location.hash = `#/anomalies?selected=${encodeURIComponent(id)}`
                  }}
                >
                  <td>{formatTime(a.scoredAt).slice(11, 23)}</td>
                  <td>{a.event.kind}</td>
                  <td>{a.event.entity}</td>
                  <td class="num">{a.event.score.toFixed(4)}</td>
                  <td class="small">{detectors.map(([name, score]) => `${name} ${score.toFixed(3)}`).join(' · ')}</td>
                  <td class="small">
                    {[
                      ...a.event.rules,
                      ...a.event.contributions.slice(0, 3).map((c) => `${c.feature} ${(c.weight * 100).toFixed(0)}%`),
                    ].join(' · ')}
                  </td>
                </tr>
              )
            })}
          </tbody>
        </table>
        {items.length === 0 ? <p class="muted">No anomalies yet.</p> : null}
        <SuppressionsPanel />
      </div>
      {open ? <Detail key={selected ?? ''} anomaly={open} /> : null}
    </section>
  )
}

function Detail({ anomaly }: { anomaly: LiveAnomaly }) {
  const [source, setSource] = useState<Source | null>(null)
  const [error, setError] = useState('')
  useEffect(() => {
    api<Source>(`/api/anomalies/${anomaly.partition}/${anomaly.offset}/source`)
      .then(setSource)
      .catch((e: Error) => setError(e.message))
  }, [anomaly.partition, anomaly.offset])
  const e = anomaly.event
  return (
    <aside class="detail" data-testid="anomaly-detail">
      <h2>
        {e.kind} {e.id}
      </h2>
      <p>
        entity <code>{e.entity}</code> · score {e.score.toFixed(4)} · event time {formatTime(e.eventTime)}
        {e.phase ? ` · phase ${e.phase}` : ''} · model {e.modelVersion ?? 'none'}
      </p>
      <h3>Source message</h3>
      {error ? <p class="error">{error}</p> : null}
      {source?.source ? (
        <p>
          <a
            data-testid="source-link"
            href={`#/topics/${encodeURIComponent(source.source.topic)}?partition=${source.source.partition}&offset=${source.source.offset}&limit=1&highlight=${source.source.partition}:${source.source.offset}`}
          >
            {source.source.topic} partition {source.source.partition} offset {source.source.offset}
          </a>
        </p>
      ) : source ? (
        <p class="muted">
          not found in {source.searched.topic} partition {source.searched.partition} offsets {source.searched.from}–
          {source.searched.to}
        </p>
      ) : (
        <p class="muted">looking it up…</p>
      )}
      <p class="small muted">
        anomaly record: {anomaly.topic} partition {anomaly.partition} offset {anomaly.offset}
      </p>
      <h3>Detectors</h3>
      <table>
        <tbody>
          {Object.entries(e.scores).map(([name, score]) => (
            <tr>
              <td>{name}</td>
              <td class="num">{score.toFixed(4)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {e.rules.length ? <p>rules: {e.rules.join(', ')}</p> : null}
      <h3>Features: this event against the entity's usual (median)</h3>
      {source ? (
        <table data-testid="features">
          <thead>
            <tr>
              <th>feature</th>
              <th class="num">weight</th>
              <th class="num">value</th>
              <th class="num">usual</th>
            </tr>
          </thead>
          <tbody>
            {source.features.features
              .filter((f, i) => f.weight > 0 || i < 6)
              .map((f) => (
                <tr>
                  <td>{f.feature}</td>
                  <td class="num">{(f.weight * 100).toFixed(0)}%</td>
                  <td class="num">{f.value === null ? '–' : formatNumber(f.value, 2)}</td>
                  <td class="num">{f.usual === null ? '–' : formatNumber(f.usual, 2)}</td>
                </tr>
              ))}
          </tbody>
        </table>
      ) : null}
      {source ? (
        <p class="small muted">usual = median over the entity's {source.features.entityEvents} other recent events</p>
      ) : null}
      <h3>Scored event</h3>
      <pre class="value">{JSON.stringify(e, null, 2)}</pre>
    </aside>
  )
}
