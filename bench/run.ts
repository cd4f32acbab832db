// `npm run bench`: every benchmark under bench/, one after the other, then the report.
//
//   node bench/run.ts [--only pipeline,detectors,...] [--skip console,...]
//
// Each benchmark's output is kept in bench/results/<name>.json (a benchmark that writes its own
// figures there keeps them, with its output added); one that fails is recorded as failed with
// its error, and the others still run. Then bench/report.ts writes docs/BENCHMARKS.md.
// Benchmarks with a Python reference need bench/.venv (`npm run bench:setup`); those that start
// a broker use BENCH_KAFKA_PORT (default 19692).
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { root } from './lib/broker.ts'
import { type Machine, machine, resultsDir, writeResults } from './lib/results.ts'

/** name → the command's arguments after `node`. */
export const benchmarks: Record<string, string[]> = {
  detectors: ['bench/detectors.ts'],
  pipeline: ['bench/pipeline.ts'],
  'enrich-state': ['--expose-gc', 'bench/enrich-state.ts'],
  'kafka-baseline': ['bench/kafka-baseline.ts'],
  produce: ['bench/produce.ts'],
  console: ['bench/console.ts'],
  'drift-reference': ['bench/drift-reference.ts'],
  nab: ['bench/nab.ts'],
  'real-data': ['bench/real-data.ts'],
  windows: ['--expose-gc', 'bench/windows.ts'],
  features: ['bench/features.bench.ts'],
  'phased-generator': ['bench/phased-generator.bench.ts'],
  'alert-store': ['bench/alert-store.ts'],
  stages: ['bench/stages.ts'],
  idle: ['bench/idle.ts'],
}

/** Files of bench/ that are parts of a benchmark above (runnable alone too) or this runner. */
export const parts = [
  'detectors-isolation-forest.ts',
  'detectors-streaming.ts',
  'detectors-scorer.ts',
  'run.ts',
  'report.ts',
]

/** Benchmark files under bench/ that neither run here nor are a part of one. */
export function unlisted(): string[] {
  const listed = new Set(Object.values(benchmarks).map((args) => args[args.length - 1]!.replace('bench/', '')))
  return readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.ts') && !listed.has(f) && !parts.includes(f))
}

function run(args: string[]): Promise<{ code: number; output: string; seconds: number }> {
  const started = performance.now()
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    let errors = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
      process.stdout.write(chunk)
    })
    child.stderr.on('data', (chunk) => {
      errors += chunk
    })
    child.on('close', (code) =>
      done({
        code: code ?? 1,
        output: code === 0 ? output : `${output}\n${errors.split('\n').slice(-30).join('\n')}`,
        seconds: (performance.now() - started) / 1000,
      }),
    )
  })
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { only: { type: 'string' }, skip: { type: 'string' } } })
  const only = values.only?.split(',')
  const skip = new Set(values.skip?.split(',') ?? [])
  for (const name of only ?? []) if (!benchmarks[name]) throw new Error(`unknown benchmark ${name}`)
  for (const [name, args] of Object.entries(benchmarks)) {
    if ((only && !only.includes(name)) || skip.has(name)) continue
    process.stdout.write(`\n=== ${name}: node ${args.join(' ')}\n`)
    const path = join(resultsDir, `${name}.json`)
    const before = existsSync(path) ? readFileSync(path, 'utf8') : undefined
    const result = await run(args)
    const written = existsSync(path) ? readFileSync(path, 'utf8') : undefined
    // figures the benchmark wrote itself in this run stay; the output is added
    const own = written !== undefined && written !== before ? (JSON.parse(written) as Record<string, unknown>) : {}
    const { name: _name, at: _at, command: _command, machine: measuredOn, ...figures } = own
    writeResults(
      name,
      `node ${args.join(' ')}`,
      { ...figures, ok: result.code === 0, seconds: result.seconds, output: result.output.trim() },
      (measuredOn as Machine | undefined) ?? machine(),
    )
  }
  await run(['bench/report.ts'])
}
