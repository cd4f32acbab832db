// Topics and the message browser: partitions with offsets and sizes, configs; browse from an
// offset, a time, the beginning or the end; live tail; find by key; filter expressions; JSON
// pretty-printed, headers; copy, export (JSON Lines, CSV) and re-produce.
import { useEffect, useRef, useState } from 'preact/hooks'
import {
  api,
  type ConsoleRecord,
  download,
  formatBytes,
  formatNumber,
  formatTime,
  pretty,
  query,
  toCsv,
  toJsonLines,
} from './api.ts'

interface TopicSummary {
  name: string
  partitions: number
  messages: string
  sizeBytes: number | null
  internal: boolean
}

export function TopicsPage() {
  const [topics, setTopics] = useState<TopicSummary[] | null>(null)
  const [error, setError] = useState('')
  const [showInternal, setShowInternal] = useState(false)
  useEffect(() => {
    api<{ topics: TopicSummary[] }>('/api/topics')
      .then((answer) => setTopics(answer.topics))
      .catch((e: Error) => setError(e.message))
  }, [])
  if (error) return <p class="error">{error}</p>
  if (!topics) return <p>Loading…</p>
  return (
    <section>
      <h1>Topics</h1>
      <label class="inline">
        <input type="checkbox" checked={showInternal} onChange={() => setShowInternal(!showInternal)} /> show internal
        topics
      </label>
      <table data-testid="topics">
        <thead>
          <tr>
            <th>topic</th>
            <th class="num">partitions</th>
            <th class="num">messages</th>
            <th class="num">size</th>
          </tr>
        </thead>
        <tbody>
          {topics
            .filter((t) => showInternal || !t.internal)
            .map((topic) => (
              <tr>
                <td>
                  <a href={`#/topics/${encodeURIComponent(topic.name)}`}>{topic.name}</a>
                </td>
                <td class="num">{topic.partitions}</td>
                <td class="num">{formatNumber(Number(topic.messages))}</td>
                <td class="num">{formatBytes(topic.sizeBytes)}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </section>
  )
}

interface TopicDetail {
  name: string
  partitions: {
    partition: number
    leader: number
    replicas: number[]
    low: string
    high: string
    messages: string
    sizeBytes: number | null
  }[]
  messages: string
  sizeBytes: number | null
  configs: { name: string; value: string | null; default: boolean }[]
}

interface Browse {
  messages: ConsoleRecord[]
  searched: {
    scanned: number
    ranges: { partition: number; from: string; to: string }[]
    key?: string
    partition?: number
    partitions?: number
    complete?: boolean
  }
}

type Start = 'end' | 'beginning' | 'offset' | 'timestamp'

export function TopicPage({ topic, params }: { topic: string; params: URLSearchParams }) {
  const [detail, setDetail] = useState<TopicDetail | null>(null)
  const [error, setError] = useState('')
  const [partition, setPartition] = useState(params.get('partition') ?? '')
  const [start, setStart] = useState<Start>(params.get('offset') ? 'offset' : 'end')
  const [offset, setOffset] = useState(params.get('offset') ?? '0')
  const [time, setTime] = useState(new Date(Date.now() - 60_000).toISOString().slice(0, 19))
  const [limit, setLimit] = useState(params.get('limit') ?? '50')
  const [key, setKey] = useState(params.get('key') ?? '')
  const [filter, setFilter] = useState(params.get('filter') ?? '')
  const [result, setResult] = useState<Browse | null>(null)
  const [loading, setLoading] = useState(false)
  const [browseError, setBrowseError] = useState('')
  const [tail, setTail] = useState(false)
  const [showConfigs, setShowConfigs] = useState(false)
  const highlight = params.get('highlight')

  useEffect(() => {
    api<TopicDetail>(`/api/topics/${encodeURIComponent(topic)}`)
      .then(setDetail)
      .catch((e: Error) => setError(e.message))
  }, [topic])

  const load = async (mode: 'browse' | 'key' = key ? 'key' : 'browse') => {
    setLoading(true)
    setBrowseError('')
    try {
      const parameters: Record<string, string | number | undefined> = { limit, filter: filter || undefined }
      if (mode === 'key') parameters.key = key
      else {
        parameters.partition = partition === '' ? undefined : partition
        if (start === 'offset') parameters.offset = offset
        else if (start === 'timestamp') parameters.timestamp = Date.parse(`${time}Z`)
        else parameters.position = start
      }
      setResult(await api<Browse>(`/api/topics/${encodeURIComponent(topic)}/messages${query(parameters)}`))
    } catch (e) {
      setBrowseError((e as Error).message)
      setResult(null)
    } finally {
      setLoading(false)
    }
  }

  // first load, and the live tail: the newest records again every 2 s
  useEffect(() => {
    void load()
  }, [topic])
  useEffect(() => {
    if (!tail) return
    const timer = setInterval(() => void load('browse'), 2_000)
    return () => clearInterval(timer)
  }, [tail, partition, limit, filter])

  if (error) return <p class="error">{error}</p>
  const messages = result?.messages ?? []
  return (
    <section>
      <h1>
        <a href="#/topics">Topics</a> / {topic}
      </h1>
      {detail ? (
        <>
          <p class="muted">
            {formatNumber(Number(detail.messages))} messages in {detail.partitions.length} partitions,{' '}
            {formatBytes(detail.sizeBytes)}
          </p>
          <table data-testid="partitions">
            <thead>
              <tr>
                <th class="num">partition</th>
                <th class="num">leader</th>
                <th class="num">low offset</th>
                <th class="num">high offset</th>
                <th class="num">messages</th>
                <th class="num">size</th>
              </tr>
            </thead>
            <tbody>
              {detail.partitions.map((p) => (
                <tr>
                  <td class="num">{p.partition}</td>
                  <td class="num">{p.leader}</td>
                  <td class="num">{p.low}</td>
                  <td class="num">{p.high}</td>
                  <td class="num">{formatNumber(Number(p.messages))}</td>
                  <td class="num">{formatBytes(p.sizeBytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <button type="button" class="link" onClick={() => setShowConfigs(!showConfigs)}>
            {showConfigs ? 'hide' : 'show'} configs ({detail.configs.filter((c) => !c.default).length} set)
          </button>
          {showConfigs ? (
            <table class="configs">
              <tbody>
                {detail.configs.map((c) => (
                  <tr class={c.default ? 'muted' : ''}>
                    <td>{c.name}</td>
                    <td>{c.value ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </>
      ) : (
        <p>Loading…</p>
      )}

      <h2>Messages</h2>
      <form
        class="browse"
        onSubmit={(e) => {
          e.preventDefault()
          void load('browse')
        }}
      >
        <label>
          partition
          <select
            value={partition}
            onChange={(e) => setPartition((e.target as HTMLSelectElement).value)}
            name="partition"
          >
            <option value="">all</option>
            {detail?.partitions.map((p) => (
              <option value={String(p.partition)}>{p.partition}</option>
            ))}
          </select>
        </label>
        <label>
          from
          <select value={start} onChange={(e) => setStart((e.target as HTMLSelectElement).value as Start)} name="start">
            <option value="end">newest</option>
            <option value="beginning">beginning</option>
            <option value="offset">offset</option>
            <option value="timestamp">time (UTC)</option>
          </select>
        </label>
        {start === 'offset' ? (
          <input
            name="offset"
            value={offset}
            size={10}
            onInput={(e) => setOffset((e.target as HTMLInputElement).value)}
          />
        ) : null}
        {start === 'timestamp' ? (
          <input
            name="time"
            type="datetime-local"
            step={1}
            value={time}
            onInput={(e) => setTime((e.target as HTMLInputElement).value)}
          />
        ) : null}
        <label>
          limit
          <input name="limit" value={limit} size={4} onInput={(e) => setLimit((e.target as HTMLInputElement).value)} />
        </label>
        <label class="grow">
          filter
          <input
            name="filter"
            placeholder='e.g. amount > 1000 and kind == "transaction"'
            value={filter}
            onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit" disabled={loading}>
          Browse
        </button>
        <label class="inline">
          <input type="checkbox" checked={tail} onChange={() => setTail(!tail)} name="tail" /> live tail
        </label>
      </form>
      <form
        class="browse"
        onSubmit={(e) => {
          e.preventDefault()
          void load('key')
        }}
      >
        <label class="grow">
          key
          <input
            name="key"
            placeholder="find by key"
            value={key}
            onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit" disabled={loading || !key}>
          Find by key
        </button>
      </form>
      {browseError ? (
        <p class="error" data-testid="browse-error">
          {browseError}
        </p>
      ) : null}
      {result ? <Searched result={result} /> : null}
      <div class="toolbar">
        <button
          type="button"
          disabled={!messages.length}
          onClick={() => download(`${topic}.jsonl`, 'application/x-ndjson', toJsonLines(messages))}
        >
          Export JSON Lines
        </button>
        <button
          type="button"
          disabled={!messages.length}
          onClick={() => download(`${topic}.csv`, 'text/csv', toCsv(messages))}
        >
          Export CSV
        </button>
      </div>
      <div class="messages" data-testid="messages">
        {messages.map((record) => (
          <Message record={record} highlighted={highlight === `${record.partition}:${record.offset}`} />
        ))}
      </div>
    </section>
  )
}

function Searched({ result }: { result: Browse }) {
  const s = result.searched
  const ranges = s.ranges.map((r) => `${r.partition}: ${r.from}–${r.to}`).join(', ')
  return (
    <p class="muted" data-testid="searched">
      {s.key !== undefined
        ? `Key "${s.key}" hashes to partition ${s.partition} of ${s.partitions} (murmur2, as the producer places it); searched offsets ${ranges} (${formatNumber(s.scanned)} records${s.complete ? ', the whole partition' : ''}): ${result.messages.length} found.`
        : `${result.messages.length} shown; read ${formatNumber(s.scanned)} records (partition: offsets ${ranges}).`}
    </p>
  )
}

function Message({ record, highlighted }: { record: ConsoleRecord; highlighted: boolean }) {
  const [target, setTarget] = useState(record.topic)
  const [status, setStatus] = useState('')
  const box = useRef<HTMLDivElement>(null)
  useEffect(() => {
    if (highlighted) box.current?.scrollIntoView({ block: 'center' })
  }, [highlighted])
  const copy = async (text: string | null, what: string) => {
    try {
      await navigator.clipboard.writeText(text ?? '')
      setStatus(`${what} copied`)
    } catch {
      setStatus(`could not copy the ${what}`)
    }
  }
  const reproduce = async () => {
    try {
      const answer = await api<{ written: { topic: string; partition: number; offset: string } }>(
        `/api/topics/${encodeURIComponent(record.topic)}/messages/${record.partition}/${record.offset}/reproduce`,
        { method: 'POST', body: JSON.stringify(target && target !== record.topic ? { topic: target } : {}) },
      )
      setStatus(
        `re-produced to ${answer.written.topic} partition ${answer.written.partition} offset ${answer.written.offset}`,
      )
    } catch (e) {
      setStatus(`re-produce failed: ${(e as Error).message}`)
    }
  }
  return (
    <div
      class={`message${highlighted ? ' highlighted' : ''}`}
      ref={box}
      data-testid="message"
      data-partition={record.partition}
      data-offset={record.offset}
    >
      <div class="meta">
        <span>partition {record.partition}</span>
        <span>offset {record.offset}</span>
        <span>{formatTime(record.timestamp)}</span>
        <span>
          key <code data-testid="message-key">{record.key ?? '(null)'}</code>
        </span>
        <span>{formatBytes(record.size)}</span>
      </div>
      {record.headers.length > 0 ? (
        <div class="headers">
          {record.headers.map((h) => (
            <span class="header">
              {h.key}: {h.value}
            </span>
          ))}
        </div>
      ) : null}
      <pre class="value" data-testid="message-value">
        {record.encoding === 'base64' ? `(base64) ${record.value}` : pretty(record.value)}
      </pre>
      <div class="actions">
        <button type="button" onClick={() => copy(record.key, 'key')}>
          Copy key
        </button>
        <button type="button" onClick={() => copy(record.value, 'value')}>
          Copy value
        </button>
        <input
          value={target}
          size={24}
          aria-label="re-produce to topic"
          onInput={(e) => setTarget((e.target as HTMLInputElement).value)}
        />
        <button type="button" onClick={reproduce} data-testid="reproduce">
          Re-produce
        </button>
        <span class="status" data-testid="message-status">
          {status}
        </span>
      </div>
    </div>
  )
}
