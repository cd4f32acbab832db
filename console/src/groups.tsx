// Consumer groups: state, members, lag per partition in records and in seconds, lag over time.
import { useEffect, useState } from 'preact/hooks'
import { api, formatNumber } from './api.ts'
import { Chart } from './chart.tsx'

interface Group {
  id: string
  state: string
  members: number
  lag: number
  lagSeconds: number | null
  partitions: {
    topic: string
    partition: number
    committed: string
    high: string
    lag: number
    lagSeconds: number | null
  }[]
}

export function GroupsPage() {
  const [groups, setGroups] = useState<Group[] | null>(null)
  const [error, setError] = useState('')
  const [open, setOpen] = useState<string | null>(null)
  const [history, setHistory] = useState<{
    t: number[]
    records: (number | null)[]
    seconds: (number | null)[]
  } | null>(null)
  useEffect(() => {
    const load = () =>
      api<{ groups: Group[] }>('/api/groups')
        .then((answer) => {
          setError('')
          setGroups(answer.groups)
        })
        .catch((e: Error) => setError(e.message))
    load()
    const timer = setInterval(load, 5_000)
    return () => clearInterval(timer)
  }, [])
  useEffect(() => {
    if (!open) return setHistory(null)
    api<{ t: number[]; records: (number | null)[]; seconds: (number | null)[] }>(
      `/api/groups/${encodeURIComponent(open)}/lag`,
    )
      .then(setHistory)
      .catch(() => setHistory(null))
  }, [open, groups])

  if (error) return <p class="error">{error}</p>
  if (!groups) return <p>Loading…</p>
  return (
    <section>
      <h1>Consumer groups</h1>
      <table data-testid="groups">
        <thead>
          <tr>
            <th>group</th>
            <th>state</th>
            <th class="num">members</th>
            <th class="num">lag (records)</th>
            <th class="num">lag (seconds)</th>
          </tr>
        </thead>
        <tbody>
          {groups.map((group) => (
            <>
              <tr class="clickable" onClick={() => setOpen(open === group.id ? null : group.id)}>
                <td>{group.id}</td>
                <td>{group.state}</td>
                <td class="num">{group.members}</td>
                <td class="num">{formatNumber(group.lag)}</td>
                <td class="num">{group.lagSeconds === null ? '–' : formatNumber(group.lagSeconds, 1)}</td>
              </tr>
              {open === group.id ? (
                <tr>
                  <td colSpan={5}>
                    {history && history.t.length > 1 ? (
                      <Chart
                        title={`lag of ${group.id} over the last hour`}
                        t={history.t}
                        series={[
                          { label: 'records', values: history.records },
                          { label: 'seconds', values: history.seconds },
                        ]}
                        height={180}
                      />
                    ) : (
                      <p class="muted">Lag history appears after two samples (5 s apart).</p>
                    )}
                    <table class="inner">
                      <thead>
                        <tr>
                          <th>topic</th>
                          <th class="num">partition</th>
                          <th class="num">committed</th>
                          <th class="num">end</th>
                          <th class="num">lag</th>
                          <th class="num">lag (s)</th>
                        </tr>
                      </thead>
                      <tbody>
                        {group.partitions.map((p) => (
                          <tr>
                            <td>
                              <a
                                href={`#/topics/${encodeURIComponent(p.topic)}?partition=${p.partition}&offset=${p.committed}`}
                              >
                                {p.topic}
                              </a>
                            </td>
                            <td class="num">{p.partition}</td>
                            <td class="num">{p.committed}</td>
                            <td class="num">{p.high}</td>
                            <td class="num">{formatNumber(p.lag)}</td>
                            <td class="num">{p.lagSeconds === null ? '–' : formatNumber(p.lagSeconds, 1)}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </td>
                </tr>
              ) : null}
            </>
          ))}
        </tbody>
      </table>
      {groups.length === 0 ? <p class="muted">No consumer groups.</p> : null}
    </section>
  )
}
