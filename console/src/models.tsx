// Drift and models: one timeline of the combined score (a point every 5 s) with phase
// transitions, drift events, retraining requests, new versions, shadows, promotions and
// rollbacks marked on it and listed below; the model registry with metrics, parent and
// training range; promote and roll back (token).
import { useEffect, useRef, useState } from 'preact/hooks'
import { ApiError, api, formatNumber, formatTime, formatValue } from './api.ts'
import { Chart } from './chart.tsx'
import './models.css'

type EventType = 'phase' | 'drift' | 'retrain' | 'version' | 'shadow' | 'promotion' | 'rollback'

interface TimelineEvent {
  id: string
  at: number
  type: EventType
  title: string
  kind?: string
  version?: string
}

interface TimelineView {
  bucketSeconds: number
  threshold: number
  score: { t: number[]; mean: number[]; p99: number[]; max: number[]; flaggedShare: number[]; events: number[] }
  events: TimelineEvent[]
}

interface Model {
  kind: string
  version: string
  parent: string | null
  createdAt: string
  trainedOn: { source: string; from?: string | number; to?: string | number; rows: number }
  metrics: Record<string, number | null>
  reason?: string
  state: 'live' | 'shadow' | 'inactive'
}

interface Models {
  models: Model[]
  live: { kind: string; version: string; at: string; by: string; history?: string[] }[]
  ready: boolean
}

// the same colours as the swatches in style.css
export const eventColours: Record<EventType, string> = {
  phase: '#6b7280',
  drift: '#dc2626',
  retrain: '#d97706',
  version: '#0891b2',
  shadow: '#7c3aed',
  promotion: '#16a34a',
  rollback: '#db2777',
}

const eventLabels: Record<EventType, string> = {
  phase: 'phase',
  drift: 'drift',
  retrain: 'retrain requested',
  version: 'version trained',
  shadow: 'shadow',
  promotion: 'promotion',
  rollback: 'rollback',
}

export function ModelsPage() {
  const [timeline, setTimeline] = useState<TimelineView | null>(null)
  const [models, setModels] = useState<Models | null>(null)
  const [error, setError] = useState('')
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null)
  const [busy, setBusy] = useState(false)
  const refreshes = useRef(0)

  const refresh = async () => {
    // a refresh that started earlier (the 3 s timer's) may answer after a later one (an
    // action's): only the latest started sets what the page shows
    const request = ++refreshes.current
    try {
      const [nextTimeline, nextModels] = await Promise.all([
        api<TimelineView>('/api/timeline'),
        api<Models>('/api/models'),
      ])
      if (request !== refreshes.current) return
      setTimeline(nextTimeline)
      setModels(nextModels)
      setError('')
    } catch (e) {
      setError((e as Error).message)
    }
  }

  useEffect(() => {
    void refresh()
    const timer = setInterval(() => void refresh(), 3_000)
    return () => clearInterval(timer)
  }, [])

  const act = async (path: string, body: unknown, done: (model: Model) => string) => {
    setBusy(true)
    try {
      const answer = await api<{ model: Model }>(path, {
        method: 'POST',
        body: JSON.stringify(body),
      })
      // the table first, so that the status never stands beside the rows from before
      await refresh()
      setStatus({ ok: true, text: done(answer.model) })
    } catch (e) {
      const status = e instanceof ApiError ? ` (${e.status})` : ''
      setStatus({ ok: false, text: `${(e as Error).message}${status}` })
    } finally {
      setBusy(false)
    }
  }

  if (error && !timeline) return <p class="error">{error}</p>
  if (!timeline || !models) return <p>Loading…</p>
  const kinds = [...new Set(models.live.map((pointer) => pointer.kind))]
  const markers = timeline.events.map((event) => ({ t: event.at / 1000, color: eventColours[event.type] }))
  return (
    <section>
      <h1>Drift and models</h1>
      {error ? <p class="error">{error}</p> : null}
      <div class="charts">
        <Chart
          title={`combined score (a point every ${timeline.bucketSeconds} s; threshold ${timeline.threshold})`}
          t={timeline.score.t}
          series={[
            { label: 'mean', values: timeline.score.mean },
            { label: 'p99', values: timeline.score.p99 },
            { label: 'max', values: timeline.score.max },
          ]}
          markers={markers}
          yRange={[0, 1]}
          height={260}
          testId="score-timeline"
        />
      </div>
      <p class="legend">
        {(Object.keys(eventColours) as EventType[]).map((type) => (
          <span class="legend-item">
            <span class={`swatch ${type}`} />
            {eventLabels[type]}
          </span>
        ))}
      </p>
      <h2>Timeline events</h2>
      <table data-testid="timeline-events" data-count={timeline.events.length}>
        <thead>
          <tr>
            <th>time</th>
            <th>event</th>
            <th>what</th>
          </tr>
        </thead>
        <tbody>
          {[...timeline.events]
            .reverse()
            .slice(0, 50)
            .map((event) => (
              <tr data-type={event.type}>
                <td class="small">{formatTime(event.at)}</td>
                <td>
                  <span class={`swatch ${event.type}`} /> {eventLabels[event.type]}
                </td>
                <td>{event.title}</td>
              </tr>
            ))}
          {timeline.events.length === 0 ? (
            <tr>
              <td colSpan={3} class="muted">
                no phase change, drift, retrain or model change in the last hour
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <h2>Models</h2>
      <div class="toolbar">
        {kinds.map((kind) => (
          <button
            type="button"
            disabled={busy}
            data-testid={`rollback-${kind}`}
            onClick={() =>
              void act('/api/models/rollback', { kind }, (model) => `rolled back: ${model.version} is live for ${kind}`)
            }
          >
            Roll back {kind}
          </button>
        ))}
        {status ? (
          <span class={status.ok ? 'ok' : 'error'} data-testid="model-action-status">
            {status.text}
          </span>
        ) : null}
      </div>
      <table data-testid="models">
        <thead>
          <tr>
            <th>version</th>
            <th>state</th>
            <th>parent</th>
            <th>trained on</th>
            <th class="num">ROC-AUC</th>
            <th class="num">parent's ROC-AUC</th>
            <th>other metrics</th>
            <th>created</th>
            <th>reason</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {[...models.models].reverse().map((model) => {
            const { rocAuc, parentRocAuc, ...others } = model.metrics
            return (
              <tr data-version={model.version} data-state={model.state}>
                <td>{model.version}</td>
                <td>
                  <span class={`state ${model.state}`}>{model.state}</span>
                </td>
                <td>{model.parent ?? '–'}</td>
                <td class="small">
                  {model.trainedOn.source}
                  {model.trainedOn.from !== undefined ? ` ${model.trainedOn.from} – ${model.trainedOn.to ?? ''}` : ''} (
                  {formatNumber(model.trainedOn.rows)} rows)
                </td>
                <td class="num">{formatNumber(rocAuc, 4)}</td>
                <td class="num">{formatNumber(parentRocAuc, 4)}</td>
                <td class="small">
                  {Object.entries(others)
                    .map(([name, value]) => `${name} ${formatValue(value, 4)}`)
                    .join(', ')}
                </td>
                <td class="small">{formatTime(Date.parse(model.createdAt))}</td>
                <td class="small">{model.reason ?? ''}</td>
                <td>
                  <button
                    type="button"
                    disabled={busy || model.state === 'live'}
                    data-testid={`promote-${model.version}`}
                    onClick={() =>
                      void act(
                        `/api/models/${encodeURIComponent(model.version)}/promote`,
                        {},
                        (promoted) => `${promoted.version} is live for ${promoted.kind}`,
                      )
                    }
                  >
                    Promote
                  </button>
                </td>
              </tr>
            )
          })}
          {models.models.length === 0 ? (
            <tr>
              <td colSpan={10} class="muted">
                {models.ready ? 'no model versions yet (lookout train)' : 'reading the model registry…'}
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </section>
  )
}
