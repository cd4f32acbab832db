// A real PostgreSQL server for a test: Debian's server binaries, initdb into a temporary
// directory, its own port on 127.0.0.1, stopped (and its directory removed) at the end. As root
// the server runs as the `postgres` user (PostgreSQL refuses to run as root).
import { execFileSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const install =
  "install Debian's PostgreSQL server (apt-get install -y postgresql; .ci/run does it) or set LOOKOUT_PG_BIN to the directory of its initdb and pg_ctl"

/** The directory holding initdb and pg_ctl: LOOKOUT_PG_BIN, else Debian's newest /usr/lib/postgresql/<v>/bin. */
function binaries(): string {
  const given = process.env.LOOKOUT_PG_BIN
  const candidates = given
    ? [given]
    : existsSync('/usr/lib/postgresql')
      ? readdirSync('/usr/lib/postgresql')
          .sort((a, b) => Number(b) - Number(a))
          .map((version) => `/usr/lib/postgresql/${version}/bin`)
      : []
  const found = candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')))
  if (!found)
    throw new Error(
      `PostgreSQL server binaries not found (looked in ${candidates.join(', ') || '/usr/lib/postgresql/*/bin'}): ${install}`,
    )
  return found
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

export interface TestPostgres {
  /** postgres://lookout@127.0.0.1:<port>/postgres */
  readonly url: string
  readonly port: number
  /** Stops the server (fast shutdown: open connections are cut). */
  stop(): Promise<void>
  /** Starts it again on the same port and data. */
  start(): Promise<void>
  /** Stops it and removes its directory. */
  destroy(): Promise<void>
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = binaries()
  const asRoot = process.getuid?.() === 0
  const dir = mkdtempSync(join(tmpdir(), 'lookout-pg-'))
  const data = join(dir, 'data')
  if (asRoot) {
    const id = (flag: string) => {
      try {
        return Number(execFileSync('id', [flag, 'postgres'], { stdio: 'pipe' }).toString())
      } catch {
        throw new Error(`there is no postgres user to run the server as (root may not): ${install}`)
      }
    }
    chownSync(dir, id('-u'), id('-g'))
  }
  const run = (tool: string, args: string[]) => {
    const command = asRoot ? 'runuser' : join(bin, tool)
    const argv = asRoot ? ['-u', 'postgres', '--', join(bin, tool), ...args] : args
    try {
      return execFileSync(command, argv, { cwd: dir, stdio: 'pipe', timeout: 60_000 }).toString()
    } catch (error) {
      const log = existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8').slice(-2_000) : ''
      const output = `${(error as { stderr?: Buffer }).stderr ?? ''}`
      throw new Error(`${tool} ${args.join(' ')} failed: ${(error as Error).message}\n${output}\n${log}`)
    }
  }
  run('initdb', ['-D', data, '-U', 'lookout', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'])
  const port = Number(process.env.TEST_PG_PORT ?? 0) || (await freePort())
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`
  const start = async () => {
    run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', '-t', '60', 'start'])
  }
  const stop = async () => {
    run('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop'])
  }
  await start()
  let destroyed = false
  return {
    url: `postgres://lookout@127.0.0.1:${port}/postgres`,
    port,
    start,
    stop,
    async destroy() {
      if (destroyed) return
      destroyed = true
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'])
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
