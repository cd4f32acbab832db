// The console under load: the phased source at 5,000 events/s through enrich → score → alert
// (each its own process) with the console in its own process and a headless Chromium on its
// live anomalies page, then its overview. Reports the page's update latency (from the score
// service writing an anomaly to the page showing it), the events/s the overview reports, and
// the console process's CPU share.
//   BENCH_KAFKA_PORT=19140 node bench/console.ts [rate] [seconds]
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { chromium } from 'playwright-core'
import { loadConfig } from '../src/config/load.ts'
import { catalogueTopics, connectAdmin, ensureTopics } from '../src/kafka/admin.ts'
import { kafkaContext } from '../src/kafka/context.ts'
import { root, startBenchBroker } from './lib/broker.ts'

declare const document: { querySelector(selector: string): { textContent: string | null } | null }
declare const requestAnimationFrame: (run: () => void) => void

const rate = Number(process.argv[2] ?? 5_000)
const seconds = Number(process.argv[3] ?? 40)
const prefix = `bench-console-${Date.now()}.`
const token = 'bench-console-token-0123456789'

function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => done(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

function lookout(args: string[]): ChildProcess {
  return spawn(process.execPath, [resolve(root, 'src/cli/main.ts'), ...args, '--log-level', 'warn'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  })
}

/** CPU seconds (user + system) the process has used. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

const broker = await startBenchBroker()
const bootstrap = broker.bootstrap
const common = ['--brokers', bootstrap, '--topics-prefix', prefix]
const children: ChildProcess[] = []
try {
  const context = kafkaContext(loadConfig({ env: {}, flags: { 'topics.prefix': prefix } }), [bootstrap])
  const admin = await connectAdmin(context)
  await ensureTopics(admin, catalogueTopics(context))
  await admin.close()
  const ports: Record<string, number> = {}
  for (const service of ['enrich', 'score', 'alert'] as const) {
    ports[service] = await freePort()
    children.push(
      lookout(['run', service, ...common, `--${service}-port`, String(ports[service]), '--alert-console', 'false']),
    )
  }
  const consolePort = await freePort()
  const consoleProcess = lookout([
    'run',
    'console',
    ...common,
    '--console-port',
    String(consolePort),
    '--console-token',
    token,
    ...Object.entries(ports).flatMap(([service, port]) => [`--${service}-port`, String(port)]),
  ])
  children.push(consoleProcess)
  children.push(lookout(['produce', 'phased', ...common, '--rate', String(rate), '--port', '0']))
  const base = `http://127.0.0.1:${consolePort}`
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`${base}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break
    await sleep(200)
  }
  process.stdout.write(`console at ${base}; phased source at ${rate} events/s; warming up 15 s\n`)
  await sleep(15_000)

  const browser = await chromium.launch({
    executablePath: process.env.LOOKOUT_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
  })
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
  await page.goto(`${base}/#/anomalies`)
  // the page's own arrivals: newest anomaly of each batch, from its record time to its paint
  await page.evaluate(() => {
    const w = globalThis as unknown as { __lags: number[]; EventSource: new (url: string) => EventTarget }
    w.__lags = []
    const source = new w.EventSource('/api/anomalies/stream')
    source.addEventListener('anomalies', (event) => {
      const batch = JSON.parse((event as unknown as { data: string }).data) as { items: { scoredAt: number }[] }
      const newest = batch.items.at(-1)
      if (newest) requestAnimationFrame(() => w.__lags.push(Date.now() - newest.scoredAt))
    })
  })
  const cpuStart = cpuSeconds(consoleProcess.pid!)
  const started = Date.now()
  const clicks: number[] = []
  while (Date.now() - started < seconds * 1_000) {
    await sleep(3_000)
    // responsiveness: opening an anomaly's detail and the page answering
    const t = Date.now()
    await page.click('[data-testid="anomaly"]').catch(() => {})
    await page.waitForSelector('[data-testid="anomaly-detail"]', { timeout: 10_000 }).catch(() => {})
    clicks.push(Date.now() - t)
  }
  const cpu = cpuSeconds(consoleProcess.pid!) - cpuStart
  const window = (Date.now() - started) / 1000
  const lags = (await page.evaluate(() => (globalThis as unknown as { __lags: number[] }).__lags)).sort((a, b) => a - b)
  const shown = await page.textContent('[data-testid="update-latency"]')
  await page.goto(base)
  await page.waitForFunction(
    () => /\d/.test(document.querySelector('[data-testid="scored-rate"]')?.textContent ?? ''),
    undefined,
    {
      timeout: 20_000,
    },
  )
  await sleep(4_000)
  const input = await page.textContent('[data-testid="input-rate"]')
  const scored = await page.textContent('[data-testid="scored-rate"]')
  await browser.close()
  const q = (p: number) => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))] ?? Number.NaN
  const sortedClicks = clicks.sort((a, b) => a - b)
  process.stdout.write(
    [
      `window ${window.toFixed(0)} s with the live anomalies page open`,
      `page update latency (record time of the newest anomaly of a batch → painted): p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${lags.at(-1)} ms over ${lags.length} batches (page shows median ${shown})`,
      `opening an anomaly's detail: median ${sortedClicks[Math.floor(sortedClicks.length / 2)]} ms, max ${sortedClicks.at(-1)} ms`,
      `overview: input ${input} events/s, scored ${scored} events/s`,
      `console process CPU: ${cpu.toFixed(1)} s in ${window.toFixed(0)} s = ${((cpu / window) * 100).toFixed(1)} % of one core (${((cpu / window / 2) * 100).toFixed(1)} % of the 2-core machine)`,
    ].join('\n') + '\n',
  )
} finally {
  for (const child of children.reverse()) {
    if (child.exitCode === null) {
      const exited = new Promise((done) => child.once('exit', done))
      child.kill('SIGTERM')
      await Promise.race([exited, sleep(20_000)])
    }
  }
  await broker.stop()
}
