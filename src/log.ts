// Structured logs on stderr: one line per event, human-readable by default,
// JSON lines with LOOKOUT_LOG_FORMAT=json. Stdout is kept for command output.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFields = Record<string, unknown>

const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

let minimumRank = levelRank[(process.env.LOOKOUT_LOG_LEVEL as LogLevel | undefined) ?? 'info'] ?? levelRank.info
let jsonFormat = process.env.LOOKOUT_LOG_FORMAT === 'json'

export function configureLogs(options: { level?: LogLevel; format?: 'text' | 'json' }): void {
  if (options.level) minimumRank = levelRank[options.level]
  if (options.format) jsonFormat = options.format === 'json'
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value
  if (value instanceof Error) return JSON.stringify(value.message)
  return JSON.stringify(value)
}

export class Logger {
  readonly component: string
  constructor(component: string) {
    this.component = component
  }

  child(component: string): Logger {
    return new Logger(`${this.component}/${component}`)
  }

  write(level: LogLevel, message: string, fields?: LogFields): void {
    if (levelRank[level] < minimumRank) return
    const time = new Date().toISOString()
    let line: string
    if (jsonFormat) {
      line = JSON.stringify({ time, level, component: this.component, msg: message, ...fields })
    } else {
      let tail = ''
      if (fields) for (const key in fields) tail += ` ${key}=${formatValue(fields[key])}`
      line = `${time} ${level.toUpperCase().padEnd(5)} [${this.component}] ${message}${tail}`
    }
    process.stderr.write(`${line}\n`)
  }

  debug(message: string, fields?: LogFields): void {
    this.write('debug', message, fields)
  }
  info(message: string, fields?: LogFields): void {
    this.write('info', message, fields)
  }
  warn(message: string, fields?: LogFields): void {
    this.write('warn', message, fields)
  }
  error(message: string, fields?: LogFields): void {
    this.write('error', message, fields)
  }
}

export function logger(component: string): Logger {
  return new Logger(component)
}
