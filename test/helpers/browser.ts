// The console's browser tests: Debian's Chromium driven by playwright-core (headless, no
// sandbox), the front end built first when it is not, and where screenshots go.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { resolve } from 'node:path'
import { type Browser, chromium } from 'playwright-core'

const root = resolve(import.meta.dirname, '../..')
const chromiumPath = process.env.LOOKOUT_CHROMIUM ?? '/usr/bin/chromium'

/** Launches Chromium; fails naming what to install when it is missing. Builds console/dist when it is not there. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(chromiumPath))
    throw new Error(
      `Chromium not found at ${chromiumPath}: install it (apt-get install -y chromium) or set LOOKOUT_CHROMIUM to its executable`,
    )
  if (!existsSync(resolve(root, 'console/dist/index.html')))
    execFileSync(
      process.execPath,
      [resolve(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'console/vite.config.ts'],
      { cwd: root, stdio: 'inherit' },
    )
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
  })
}

/**
 * Where a test's screenshots go: docs/console (the README's) with LOOKOUT_UPDATE_SCREENSHOTS=1,
 * else a temporary directory that `remove` deletes.
 */
export function screenshots(name: string): { dir: string; remove: () => void } {
  const update = process.env.LOOKOUT_UPDATE_SCREENSHOTS === '1'
  const dir = update ? resolve(root, 'docs/console') : resolve(tmpdir(), `lookout-${name}-shots-${process.pid}`)
  mkdirSync(dir, { recursive: true })
  return { dir, remove: () => void (update || rmSync(dir, { recursive: true, force: true })) }
}
