import { spawn } from 'node:child_process'
import { resolve } from 'node:path'

export const root = resolve(import.meta.dirname, '..', '..')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs the CLI (`src/cli/main.ts` on this Node) with `args`; `env` replaces the inherited one when given. */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const env = options.env ?? { ...process.env }
    delete env.TEST_KAFKA_BROKERS
    const child = spawn(process.execPath, [resolve(root, 'src/cli/main.ts'), ...args], { cwd: root, env })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => {
      stdout += chunk
    })
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`lookout ${args.join(' ')} timed out\n${stdout}\n${stderr}`))
    }, options.timeoutMs ?? 120_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolvePromise({ code: code ?? 1, stdout, stderr })
    })
  })
}

/** The environment without any LOOKOUT_ variables. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('LOOKOUT_') && name !== 'TEST_KAFKA_BROKERS') env[name] = value
  }
  return { ...env, ...extra }
}
