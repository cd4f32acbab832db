import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { test } from 'node:test'
import { cleanEnv, runCli } from '../helpers/cli.ts'
import { deleteTopicsWithPrefix, testBrokers, uniqueName } from '../helpers/kafka.ts'

test('lookout run refuses an unknown service and a taken port, naming the fix', async (t) => {
  const prefix = `${uniqueName('run')}.`
  t.after(() => deleteTopicsWithPrefix(prefix))
  const unknown = await runCli(['run', 'nosuch', '--brokers', testBrokers().join(',')], { env: cleanEnv() })
  assert.equal(unknown.code, 1)
  assert.match(unknown.stderr, /unknown service "nosuch"[\s\S]*enrich, score, alert/)

  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  try {
    const taken = await runCli(
      ['run', 'enrich', '--brokers', testBrokers().join(','), '--topics-prefix', prefix, '--enrich-port', String(port)],
      { env: cleanEnv() },
    )
    assert.equal(taken.code, 1)
    assert.match(taken.stderr, /LOOKOUT_PORT_IN_USE/)
    assert.match(taken.stderr, new RegExp(`port ${port} for the enrich service`))
    assert.match(taken.stderr, /enrich\.port \(--enrich-port\)/)
  } finally {
    server.close()
  }
})
