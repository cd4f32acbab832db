// Alerts: the stored alerts with filters (severity, state, verdict, entity, time) and paging;
// a selection acted on at once; one opened shows its reasons, its audit trail and its actions
// (acknowledge, resolve, mark true or false positive, with who and a comment). Actions need the
// token; the workflow's rules are the server's own (src/core/alert-workflow.ts).
import { useEffect, useState } from 'preact/hooks'
import {
  type AlertAction,
  type AlertDetail,
  type AlertState,
  alertActions,
  alertStates,
  type StoredAlert,
  transition,
  type Verdict,
} from '../../src/core/alert-workflow.ts'
import { api, formatTime, query } from './api.ts'

interface BulkResult {
  results: { id: string; status: number; error?: string }[]
  done: number
}

const actionLabels: Record<AlertAction, string> = {
  acknowledge: 'Acknowledge',
  resolve: 'Resolve',
  true_positive: 'True positive',
  false_positive: 'False positive',
}

const verdictLabels: Record<Verdict, string> = { true_positive: 'true positive', false_positive: 'false positive' }

const pageSize = 50
const analystKey = 'lookout-analyst'

function allowed(alert: { state: AlertState; verdict: Verdict | null }, action: AlertAction): boolean {
  try {
    transition('', alert, action)
    return true
  } catch {
    return false
  }
}

/** `datetime-local` text (local time) ↔ ms since the epoch. */
function fromLocal(text: string): number | undefined {
  const ms = text ? new Date(text).getTime() : Number.NaN
  return Number.isFinite(ms) ? ms : undefined
}

function Severity({ value }: { value: StoredAlert['severity'] }) {
  return <span class={`badge severity-${value}`}>{value}</span>
}

function StateBadge({ alert }: { alert: { state: AlertState; verdict: Verdict | null } }) {
  return (
    <>
      <span class={`badge state-${alert.state}`}>{alert.state}</span>
      {alert.verdict ? <span class={`badge verdict-${alert.verdict}`}>{verdictLabels[alert.verdict]}</span> : null}
    </>
  )
}

export function AlertsPage({ selected }: { selected: string | null }) {
  const [severity, setSeverity] = useState('')
  const [state, setState] = useState('')
  const [verdict, setVerdict] = useState('')
  const [entity, setEntity] = useState('')
  const [from, setFrom] = useState('')
  const [to, setTo] = useState('')
  const [filters, setFilters] = useState<Record<string, string | number | undefined>>({})
  const [offset, setOffset] = useState(0)
  const [page, setPage] = useState<{ alerts: StoredAlert[]; total: number } | null>(null)
  const [error, setError] = useState('')
  const [checked, setChecked] = useState<Set<string>>(new Set())
  const [analyst, setAnalyst] = useState(localStorage.getItem(analystKey) ?? '')
  const [comment, setComment] = useState('')
  const [status, setStatus] = useState('')
  const [refresh, setRefresh] = useState(0)

  useEffect(() => {
    let stop = false
    const load = () =>
      api<{ alerts: StoredAlert[]; total: number }>(`/api/alerts${query({ ...filters, limit: pageSize, offset })}`)
        .then((answer) => {
          if (stop) return
          setPage(answer)
          setError('')
        })
        .catch((e: Error) => !stop && setError(e.message))
    void load()
    const timer = setInterval(load, 5_000)
    return () => {
      stop = true
      clearInterval(timer)
    }
  }, [filters, offset, refresh])

  const apply = (event: Event) => {
    event.preventDefault()
    setOffset(0)
    setChecked(new Set())
    setFilters({ severity, state, verdict, entity: entity.trim(), from: fromLocal(from), to: fromLocal(to) })
  }

  const rememberAnalyst = (name: string) => {
    setAnalyst(name)
    localStorage.setItem(analystKey, name)
  }

  const bulk = async (action: AlertAction) => {
    if (!analyst.trim()) return setStatus('failed: enter your name first')
    setStatus(`${actionLabels[action]}…`)
    try {
      const answer = await api<BulkResult>('/api/alerts/actions', {
        method: 'POST',
        body: JSON.stringify({ ids: [...checked], action, by: analyst.trim(), comment }),
      })
      const refused = answer.results.filter((r) => r.status !== 200)
      setStatus(
        `${actionLabels[action]}: ${answer.done} done${refused.length ? `; refused: ${refused.map((r) => `${r.id} (${r.error})`).join('; ')}` : ''}`,
      )
      setChecked(new Set())
      setComment('')
    } catch (e) {
      setStatus(`failed: ${(e as Error).message}`)
    }
    setRefresh((n) => n + 1)
  }

  const alerts = page?.alerts ?? []
  const allChecked = alerts.length > 0 && alerts.every((a) => checked.has(a.id))
  const toggle = (id: string) => {
    const next = new Set(checked)
    if (next.has(id)) next.delete(id)
    else next.add(id)
    setChecked(next)
  }

  return (
    <section class="split">
      <div class="list">
        <h1>Alerts</h1>
        <form class="browse" onSubmit={apply} data-testid="alert-filters">
          <label>
            severity
            <select
              name="severity"
              value={severity}
              onChange={(e) => setSeverity((e.target as HTMLSelectElement).value)}
            >
              <option value="">any</option>
              <option value="critical">critical</option>
              <option value="high,critical">high or critical</option>
              <option value="high">high</option>
              <option value="medium">medium</option>
            </select>
          </label>
          <label>
            state
            <select name="state" value={state} onChange={(e) => setState((e.target as HTMLSelectElement).value)}>
              <option value="">any</option>
              <option value="open,acknowledged">not resolved</option>
              {alertStates.map((s) => (
                <option value={s}>{s}</option>
              ))}
            </select>
          </label>
          <label>
            verdict
            <select name="verdict" value={verdict} onChange={(e) => setVerdict((e.target as HTMLSelectElement).value)}>
              <option value="">any</option>
              <option value="none">not marked</option>
              <option value="true_positive">true positive</option>
              <option value="false_positive">false positive</option>
            </select>
          </label>
          <label>
            entity
            <input name="entity" value={entity} onInput={(e) => setEntity((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            raised from
            <input
              type="datetime-local"
              name="from"
              value={from}
              onInput={(e) => setFrom((e.target as HTMLInputElement).value)}
            />
          </label>
          <label>
            to
            <input
              type="datetime-local"
              name="to"
              value={to}
              onInput={(e) => setTo((e.target as HTMLInputElement).value)}
            />
          </label>
          <button type="submit">Filter</button>
        </form>
        <div class="toolbar bulk">
          <input
            name="analyst"
            placeholder="your name"
            aria-label="your name"
            value={analyst}
            onInput={(e) => rememberAnalyst((e.target as HTMLInputElement).value)}
          />
          <input
            name="bulk-comment"
            class="grow"
            placeholder="comment"
            aria-label="comment for the selected alerts"
            value={comment}
            onInput={(e) => setComment((e.target as HTMLInputElement).value)}
          />
          <span class="muted small" data-testid="selected-count">
            {checked.size} selected
          </span>
          {alertActions.map((action) => (
            <button type="button" data-action={action} disabled={checked.size === 0} onClick={() => bulk(action)}>
              {actionLabels[action]}
            </button>
          ))}
        </div>
        {status ? (
          <p class="small" data-testid="bulk-status">
            {status}
          </p>
        ) : null}
        {error ? (
          <p class="error" data-testid="alerts-error">
            {error}
          </p>
        ) : null}
        <table data-testid="alerts">
          <thead>
            <tr>
              <th>
                <input
                  type="checkbox"
                  aria-label="select all shown"
                  checked={allChecked}
                  onChange={() => setChecked(allChecked ? new Set() : new Set(alerts.map((a) => a.id)))}
                />
              </th>
              <th>raised</th>
              <th>severity</th>
              <th>entity</th>
              <th class="num">score</th>
              <th>state</th>
              <th>reasons</th>
            </tr>
          </thead>
          <tbody>
            {alerts.map((a) => (
              <tr
                class={`clickable${selected === a.id ? ' selected' : ''}`}
                data-testid="alert"
                data-id={a.id}
                onClick={() => {
                  location.hash = `#/alerts?selected=${encodeURIComponent(a.id)}`
                }}
              >
                <td>
                  <input
                    type="checkbox"
                    aria-label={`select ${a.id}`}
                    checked={checked.has(a.id)}
                    onClick={(e) => e.stopPropagation()}
                    onChange={() => toggle(a.id)}
                  />
                </td>
                <td class="small nowrap">{formatTime(a.raisedAt).slice(0, 19)}</td>
                <td>
                  <Severity value={a.severity} />
                </td>
                <td>{a.entity}</td>
                <td class="num">{a.score.toFixed(4)}</td>
                <td class="nowrap">
                  <StateBadge alert={a} />
                </td>
                <td class="small">{a.alert.reasons.join(' · ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {page && alerts.length === 0 ? <p class="muted">No alerts match.</p> : null}
        {page ? (
          <div class="toolbar">
            <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - pageSize))}>
              ← Newer
            </button>
            <span class="muted" data-testid="alerts-range">
              {page.total === 0 ? 0 : offset + 1}–{offset + alerts.length} of {page.total}
            </span>
            <button
              type="button"
              disabled={offset + pageSize >= page.total}
              onClick={() => setOffset(offset + pageSize)}
            >
              Older →
            </button>
          </div>
        ) : null}
      </div>
      {selected ? (
        <Detail
          key={selected}
          id={selected}
          version={refresh}
          analyst={analyst}
          changed={() => setRefresh((n) => n + 1)}
        />
      ) : null}
    </section>
  )
}

function Detail({
  id,
  version,
  analyst,
  changed,
}: {
  id: string
  /** Changes when alerts were acted on: the alert is read again. */
  version: number
  analyst: string
  changed: () => void
}) {
  const [alert, setAlert] = useState<AlertDetail | null>(null)
  const [error, setError] = useState('')
  const [comment, setComment] = useState('')
  const [status, setStatus] = useState('')
  useEffect(() => {
    api<AlertDetail>(`/api/alerts/${encodeURIComponent(id)}`)
      .then(setAlert)
      .catch((e: Error) => setError(e.message))
  }, [id, version])

  const act = async (action: AlertAction) => {
    if (!analyst.trim()) return setStatus('failed: enter your name first')
    setStatus(`${actionLabels[action]}…`)
    try {
      const answer = await api<AlertDetail>(`/api/alerts/${encodeURIComponent(id)}/actions`, {
        method: 'POST',
        body: JSON.stringify({ action, by: analyst.trim(), comment }),
      })
      setAlert(answer)
      setComment('')
      setStatus(`${actionLabels[action]}: done`)
      changed()
    } catch (e) {
      setStatus(`failed: ${(e as Error).message}`)
    }
  }

  if (error) return <aside class="detail error">{error}</aside>
  if (!alert) return <aside class="detail muted">Loading…</aside>
  return (
    <aside class="detail" data-testid="alert-detail">
      <h2>
        <Severity value={alert.severity} /> {alert.kind} alert {alert.id}
      </h2>
      <p>
        entity <code>{alert.entity}</code> · score {alert.score.toFixed(4)}
        {alert.alert.amount !== undefined ? ` · amount ${alert.alert.amount}` : ''} · model{' '}
        {alert.alert.modelVersion ?? 'none'}
      </p>
      <p class="small muted">
        event {alert.eventId} at {formatTime(alert.eventTime)} · raised {formatTime(alert.raisedAt)}
        {alert.alert.suppressedBefore ? ` · ${alert.alert.suppressedBefore} similar held back before it` : ''}
      </p>
      <p data-testid="alert-state">
        <StateBadge alert={alert} />
      </p>
      <h3>Reasons</h3>
      <ul class="reasons">
        {alert.alert.reasons.map((reason) => (
          <li>{reason}</li>
        ))}
      </ul>
      <h3>Actions</h3>
      <textarea
        name="comment"
        rows={2}
        placeholder="comment"
        aria-label="comment"
        value={comment}
        onInput={(e) => setComment((e.target as HTMLTextAreaElement).value)}
      />
      <div class="toolbar">
        {alertActions.map((action) => (
          <button type="button" data-action={action} disabled={!allowed(alert, action)} onClick={() => act(action)}>
            {actionLabels[action]}
          </button>
        ))}
      </div>
      {status ? (
        <p class="small" data-testid="action-status">
          {status}
        </p>
      ) : null}
      <h3>Audit trail</h3>
      {alert.actions.length === 0 ? (
        <p class="muted small">No actions yet.</p>
      ) : (
        <table data-testid="audit">
          <thead>
            <tr>
              <th>when</th>
              <th>who</th>
              <th>action</th>
              <th>state</th>
              <th>comment</th>
            </tr>
          </thead>
          <tbody>
            {alert.actions.map((a) => (
              <tr>
                <td class="small">{formatTime(a.at).slice(0, 19)}</td>
                <td>{a.by}</td>
                <td>{actionLabels[a.action]}</td>
                <td class="small">
                  {a.fromState} → {a.toState}
                </td>
                <td class="small">{a.comment}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Alert</h3>
      <pre class="value">{JSON.stringify(alert.alert, null, 2)}</pre>
    </aside>
  )
}
