// Stopping an alert sink whose broker accepts connections and never answers: each step of
// stopping is bounded, so the alert service still stops.
import assert from 'node:assert/strict'
import { createServer, type Socket } from 'node:net'
import { test } from 'node:test'
import type { KafkaContext } from '../../src/kafka/context.ts'
import { SinkDispatcher, webhookSink } from '../../src/services/sinks.ts'

test('a sink whose broker never answers still stops, each step of stopping bounded', async () => {
  const sockets = new Set<Socket>()
  const silent = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  const port = (silent.address() as { port: number }).port
  const context: KafkaContext = {
    brokers: [`127.0.0.1:${port}`],
    clientId: 'sink-stop-test',
    retry: { attempts: 1, baseDelayMs: 100, maxDelayMs: 100 },
    topicPrefix: 'sink-stop.',
    partitions: 1,
    replicationFactor: 1,
  }
  const dispatcher = new SinkDispatcher(context, webhookSink('http://127.0.0.1:9/hook'), {
    retryMaxMs: 1_000,
    stopStepMs: 300,
  })
  try {
    await dispatcher.start()
    // the consumer has connected and waits for an answer that never comes
    const deadline = Date.now() + 5_000
    while (sockets.size === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.ok(sockets.size > 0, 'the sink connected to the silent broker')
    const started = performance.now()
    await dispatcher.stop()
    const seconds = (performance.now() - started) / 1000
    // at most five steps of 0.3 s, and nothing waited on the broker's answer
    assert.ok(seconds < 2.5, `stopped in ${seconds.toFixed(2)} s`)
    assert.equal(dispatcher.delivered, 0)
  } finally {
    for (const socket of sockets) socket.destroy()
    silent.close()
  }
})
