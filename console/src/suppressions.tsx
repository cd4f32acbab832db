// Entities whose alerts are suppressed because analysts marked alert.suppressAfterFalsePositives
// of their alerts false positive: since when, until when, how many marks, and how many alerts
// the suppression held back. Refreshed every 5 s.
import { useEffect, useState } from 'preact/hooks'
import type { SuppressionRecord as Suppression } from '../../src/core/suppression.ts'
import { api, formatTime } from './api.ts'

export function SuppressionsPanel() {
  const [items, setItems] = useState<Suppression[] | null>(null)
  const [error, setError] = useState('')
  useEffect(() => {
    let stopped = false
    const load = () =>
      api<{ suppressions: Suppression[] }>('/api/suppressions')
        .then((answer) => {
          if (stopped) return
          setItems(answer.suppressions)
          setError('')
        })
        .catch((e: Error) => !stopped && setError(e.message))
    void load()
    const timer = setInterval(load, 5_000)
    return () => {
      stopped = true
      clearInterval(timer)
    }
  }, [])
  return (
    <div class="suppressions" data-testid="suppressions">
      <h2>Suppressed by feedback</h2>
      <p class="muted small">
        entities whose alerts were marked false positive often enough: their alerts are held back until the time shown
      </p>
      {error ? <p class="error">{error}</p> : null}
      {items && items.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>entity</th>
              <th>since</th>
              <th>until</th>
              <th class="num">false positives</th>
              <th class="num">alerts held back</th>
            </tr>
          </thead>
          <tbody>
            {items.map((s) => (
              <tr data-testid="suppression">
                <td>{s.entity}</td>
                <td>{formatTime(Date.parse(s.since)).slice(0, 19)}</td>
                <td>{formatTime(Date.parse(s.until)).slice(0, 19)}</td>
                <td class="num" title={s.eventIds.join(', ')}>
                  {s.falsePositives}
                </td>
                <td class="num">{s.suppressedAlerts}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : items ? (
        <p class="muted">No entity is suppressed.</p>
      ) : null}
    </div>
  )
}
