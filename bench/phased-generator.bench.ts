// Throughput of the phased transaction generator: `node bench/phased-generator.bench.ts [events]`.
// The Kafka producer must reach 100k events/s, so next() should be far above that.

import { PhasedGenerator } from '../src/core/sources/phased.ts'

const events = Number(process.argv[2] ?? 1_000_000)
const wallClockSeconds = Date.now() / 1000

const generator = new PhasedGenerator({ seed: 7 })
let labels = 0
let started = performance.now()
for (let i = 0; i < events; i++) labels += generator.next(wallClockSeconds).anomaly_label
let elapsed = performance.now() - started
console.log(
  `next():        ${Math.round(events / (elapsed / 1000))} events/s (${events} in ${elapsed.toFixed(0)} ms, label rate ${(labels / events).toFixed(3)})`,
)

const restarted = new PhasedGenerator({ seed: 7 })
started = performance.now()
restarted.fastForward(events)
elapsed = performance.now() - started
console.log(`fastForward(): ${Math.round(events / (elapsed / 1000))} events/s`)

const serialised = Math.min(events, 200_000)
let bytes = 0
started = performance.now()
for (let i = 0; i < serialised; i++) bytes += JSON.stringify(generator.next(wallClockSeconds)).length
elapsed = performance.now() - started
console.log(
  `next() + JSON: ${Math.round(serialised / (elapsed / 1000))} events/s, ${(bytes / serialised).toFixed(0)} bytes/event`,
)
