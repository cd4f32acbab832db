// The service processes the broker benchmarks start: Lookout's enrich, score and alert
// (`lookout run`), or the identity processors of bench/lib/identity-service.ts; and the CPU time
// of a process, from /proc (Linux).
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { root } from './broker.ts'
import type { StageShape } from './identity-service.ts'

/** Both topologies start their services in this order. */
export const serviceNames = ['enrich', 'score', 'alert'] as const

/** Starts a topology's service processes on a broker, on the topics of `prefix`. */
export type Topology = (bootstrap: string, prefix: string) => ChildProcess[]

/** Enrich, score and alert of the checkout at `checkout`; `nodeArgs` go to Node (e.g. --cpu-prof). */
export function lookoutServices(checkout: string = root, nodeArgs: readonly string[] = []): Topology {
  return (bootstrap, prefix) =>
    serviceNames.map((service) =>
      spawn(
        process.execPath,
        [
          ...nodeArgs,
          resolve(checkout, 'src/cli/main.ts'),
          'run',
          service,
          '--brokers',
          bootstrap,
          '--topics-prefix',
          prefix,
          `--${service}-port`,
          '0',
          '--alert-console',
          'false',
          '--log-level',
          'warn',
        ],
        { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
      ),
    )
}

/** The identity topology: every stage writes records of the shape's sizes and computes nothing. */
export function identityServices(shape: StageShape, nodeArgs: readonly string[] = []): Topology {
  return (bootstrap, prefix) =>
    serviceNames.map((stage) =>
      spawn(
        process.execPath,
        [...nodeArgs, resolve(root, 'bench/lib/identity-service.ts'), stage, bootstrap, prefix, JSON.stringify(shape)],
        { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
      ),
    )
}

/** Stops the processes (SIGTERM) and waits until each has exited. */
export async function stopServices(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null) return done()
          child.once('exit', () => done())
          child.kill('SIGTERM')
        }),
    ),
  )
}

/** CPU time (user + system) of process `pid` so far, in seconds (/proc/<pid>/stat), or NaN once it has ended. */
export function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the fields after the command name, which is in parentheses and may hold spaces
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return Number.NaN
  }
}
