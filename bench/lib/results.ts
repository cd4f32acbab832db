// Where benchmarks leave their figures: bench/results/<name>.json, with the machine and load
// they were measured on, for `npm run bench` (bench/report.ts) to gather into docs/BENCHMARKS.md.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { startedBrokerCompiler } from './broker.ts'

export const resultsDir = resolve(import.meta.dirname, '..', 'results')

export interface Machine {
  cpu: string
  cores: number
  memoryGb: number
  node: string
  kafka: string
  /** The bench broker's JIT compilers (broker.compiler; BENCH_BROKER_COMPILER); absent for a benchmark without a broker, and in results written before it. */
  brokerCompiler?: 'c1' | 'tiered'
  /** 1-minute load average when the figures were written: other work shares the machine. */
  load: number
}

export function machine(): Machine {
  const brokerCompiler = startedBrokerCompiler()
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.versions.node,
    kafka: '4.1.1',
    ...(brokerCompiler === undefined ? {} : { brokerCompiler }),
    load: Math.round(loadavg()[0]! * 100) / 100,
  }
}

/**
 * Writes bench/results/<name>.json: `{ name, at, command, machine, ...figures }`; `measuredOn`:
 * the machine as the benchmark's own process described it (its broker's compilers included).
 */
export function writeResults(
  name: string,
  command: string,
  figures: Record<string, unknown>,
  measuredOn: Machine = machine(),
): string {
  if (!existsSync(resultsDir)) mkdirSync(resultsDir, { recursive: true })
  const path = join(resultsDir, `${name}.json`)
  writeFileSync(
    path,
    `${JSON.stringify({ name, at: new Date().toISOString(), command, machine: measuredOn, ...figures }, null, 2)}\n`,
  )
  return path
}

/** The Python of bench/.venv, or an error that says how to make it. */
export function benchPython(): string {
  const python = resolve(import.meta.dirname, '..', '.venv', 'bin', 'python')
  if (!existsSync(python))
    throw new Error(
      `${python} is missing: this benchmark runs a Python reference. Set it up once with \`npm run bench:setup\` ` +
        '(python3 -m venv bench/.venv and pip install -r bench/requirements.txt; needs Python 3.10+ and network access to PyPI)',
    )
  return python
}
