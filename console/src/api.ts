// The console API from the page. Message contents are only ever put into the page as text
// (Preact text nodes and textContent); nothing here builds HTML from data.

export interface ConsoleRecord {
  topic: string
  partition: number
  offset: string
  timestamp: number
  key: string | null
  value: string | null
  encoding: 'utf8' | 'base64'
  headers: { key: string; value: string }[]
  size: number
}

export interface ScoredEvent {
  kind: string
  id: string
  entity: string
  eventTime: number
  producedAt?: number
  score: number
  scores: Record<string, number>
  rules: string[]
  contributions: { feature: string; weight: number }[]
  modelVersion: string | null
  entityScore?: number
  phase?: string
  amount?: number
  label?: 0 | 1
}

export interface LiveAnomaly {
  topic: string
  partition: number
  offset: string
  scoredAt: number
  event: ScoredEvent
}

export class ApiError extends Error {
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}

const tokenKey = 'lookout-console-token'

export function savedToken(): string {
  return sessionStorage.getItem(tokenKey) ?? ''
}

export function saveToken(token: string): void {
  if (token) sessionStorage.setItem(tokenKey, token)
  else sessionStorage.removeItem(tokenKey)
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (init.body !== undefined) headers['content-type'] = 'application/json'
  const token = savedToken()
  if (init.method && init.method !== 'GET' && token) headers.authorization = `Bearer ${token}`
  const response = await fetch(path, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } })
  const text = await response.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = { error: text }
  }
  if (!response.ok) throw new ApiError(response.status, (body as { error?: string }).error ?? response.statusText)
  return body as T
}

export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(params))
    if (value !== undefined && value !== '') search.set(name, String(value))
  const text = search.toString()
  return text ? `?${text}` : ''
}

export function formatNumber(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '–'
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
}

/** A whole number without decimals, any other with `digits` of them. */
export function formatValue(value: number | null | undefined, digits = 2): string {
  return formatNumber(value, typeof value === 'number' && Number.isInteger(value) ? 0 : digits)
}

export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '–'
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`
}

export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '')
}

/** The value pretty-printed when it is JSON, else as it is. */
export function pretty(value: string | null): string {
  if (value === null) return '(null)'
  try {
    return JSON.stringify(JSON.parse(value), null, 2)
  } catch {
    return value
  }
}

/** Parses the hash route: `#/topics/x?partition=1` → ['topics', 'x'] and the parameters. */
export function parseRoute(hash: string): { parts: string[]; params: URLSearchParams } {
  const [path = '', search = ''] = hash.replace(/^#/, '').split('?')
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(search) }
}

export function download(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const link = document.createElement('a')
  link.href = url
  link.download = name
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 1_000)
}

function csvCell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value
}

export function toCsv(records: ConsoleRecord[]): string {
  const rows = [['topic', 'partition', 'offset', 'timestamp', 'key', 'value', 'headers']]
  for (const r of records)
    rows.push([
      r.topic,
      String(r.partition),
      r.offset,
      new Date(r.timestamp).toISOString(),
      r.key ?? '',
      r.value ?? '',
      JSON.stringify(Object.fromEntries(r.headers.map((h) => [h.key, h.value]))),
    ])
  return `${rows.map((row) => row.map(csvCell).join(',')).join('\n')}\n`
}

export function toJsonLines(records: ConsoleRecord[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : '')
}
