// The CPU cost of each stage's own work, without Kafka: phased events run through the enrich
// and score processors in batches as the runtime runs them (decode every record, process the
// batch, serialize the store's changes, commit), on one thread; CPU time of the whole process
// (so the garbage collector's helper threads count). The reference in the same run: the JSON
// work alone (parse every input record, stringify every output, all as JSON, the binary
// enriched records too), the floor of a stage that reads and writes JSON.
//   node bench/stages.ts [events] [rounds]   (BENCH_STAGES_REPEATS: processes of each, default 5)
// Writes bench/results/stages.json.
import { spawnSync } from 'node:child_process'
import { decodeEnriched, isBinaryEnriched } from '../src/core/pipeline/enriched-record.ts'
import { PhasedGenerator } from '../src/core/sources/phased.ts'
import type { InputRecord, OutputRecord, Processor } from '../src/kafka/processor.ts'
import { StateStore } from '../src/kafka/state-store.ts'
import { enrichProcessor } from '../src/services/enrich.ts'
import { scoreProcessor } from '../src/services/score.ts'
import { writeResults } from './lib/results.ts'
import { median } from './lib/stats.ts'

const events = Number(process.argv[2] ?? 100_000)
const rounds = Number(process.argv[3] ?? 3)
const batch = 5_000
const parts = ['enrich: decode', 'enrich: process', 'enrich: changelog', 'score: decode', 'score: process'] as const
const floors = ['enrich: JSON only', 'score: JSON only'] as const
type Figures = Record<(typeof parts)[number] | (typeof floors)[number], number> & { changelogBytesPerEvent: number }

/** CPU time of the process so far (every thread: the garbage collector's helpers too), ms. */
function cpuNow(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

/** Runs `processor` over `inputs` in batches; returns its outputs and the CPU ms of each part. */
function run<T>(processor: Processor<T>, inputs: { key: string; value: Buffer }[], topic: string) {
  const store = new StateStore({ serialized: processor.serializedState === true })
  const outputs: OutputRecord[] = []
  let decodeMs = 0
  let processMs = 0
  let storeMs = 0
  let changelogBytes = 0
  for (let from = 0; from < inputs.length; from += batch) {
    let t0 = cpuNow()
    const records: InputRecord<T>[] = []
    for (let i = from; i < Math.min(inputs.length, from + batch); i++) {
      const input = inputs[i]!
      records.push({
        topic,
        partition: 0,
        offset: BigInt(i),
        key: input.key,
        value: processor.decode(input.value, input.key, topic),
        timestamp: 0,
        headers: new Map(),
      })
    }
    let t1 = cpuNow()
    decodeMs += t1 - t0
    t0 = t1
    for (const output of processor.process(records, { partition: 0, store })) outputs.push(output)
    t1 = cpuNow()
    processMs += t1 - t0
    t0 = t1
    for (const [, text] of store.pendingRecords()) changelogBytes += text?.length ?? 0
    store.commitPending()
    storeMs += cpuNow() - t0
  }
  return { outputs, decodeMs, processMs, storeMs, changelogBytes }
}

/** A record's value as JSON text (a binary enriched record as the JSON of what it holds). */
function asJson(value: string | Buffer): string {
  return typeof value !== 'string' && isBinaryEnriched(value) ? JSON.stringify(decodeEnriched(value)) : value.toString()
}

/**
 * CPU ms to parse every input and stringify an output of the same shape (the stage's outputs,
 * parsed), all as JSON: what a stage that reads and writes JSON cannot do without, whichever
 * form the stage itself writes.
 */
function jsonOnly(inputs: { value: Buffer }[], outputs: OutputRecord[]): number {
  const texts = inputs.map((input) => Buffer.from(asJson(input.value)))
  const shapes = outputs.map((output) => JSON.parse(asJson(output.value)))
  const t0 = cpuNow()
  // what is parsed and written is counted, so that none of it is work thrown away
  let kept = 0
  for (const text of texts) kept += JSON.parse(text.toString()) === null ? 0 : 1
  for (const shape of shapes) kept += Buffer.from(JSON.stringify(shape)).length
  if (kept === 0) throw new Error('nothing parsed')
  return cpuNow() - t0
}

/** One process's measurement: medians over rounds of µs per event. */
function measure(): Figures {
  const generator = new PhasedGenerator({ seed: 1 })
  const raw = Array.from({ length: events }, () => {
    const event = generator.next(Date.now() / 1000)
    return { key: event.user_id, value: Buffer.from(JSON.stringify(event)) }
  })
  const samples = new Map<string, number[]>()
  const note = (name: string, ms: number) => samples.set(name, [...(samples.get(name) ?? []), (ms * 1000) / events])
  let changelogBytes = 0
  for (let round = 0; round < rounds; round++) {
    const enriched = run(enrichProcessor('bench.'), raw, 'bench.raw-transactions')
    note('enrich: decode', enriched.decodeMs)
    note('enrich: process', enriched.processMs)
    note('enrich: changelog', enriched.storeMs)
    changelogBytes = enriched.changelogBytes
    const scoreInputs = enriched.outputs.map((o) => ({ key: o.key!, value: Buffer.from(o.value) }))
    const scorer = scoreProcessor({
      topicPrefix: 'bench.',
      threshold: 0.995,
      checkpointEvents: 50_000,
      models: () => undefined,
    })
    const scored = run(scorer, scoreInputs, 'bench.enriched-features')
    note('score: decode', scored.decodeMs)
    note('score: process', scored.processMs)
    note('enrich: JSON only', jsonOnly(raw, enriched.outputs))
    note('score: JSON only', jsonOnly(scoreInputs, scored.outputs))
  }
  const figures = { changelogBytesPerEvent: changelogBytes / events } as Figures
  for (const part of [...parts, ...floors]) figures[part] = median(samples.get(part)!)
  return figures
}

if (process.env.BENCH_STAGES_CHILD) {
  process.stdout.write(`${JSON.stringify(measure())}\n`)
} else {
  // `repeats` processes (the machine's speed drifts), medians of them
  const repeats = Number(process.env.BENCH_STAGES_REPEATS ?? 5)
  const runs: Figures[] = []
  for (let repeat = 0; repeat < repeats; repeat++) {
    const child = spawnSync(process.execPath, [import.meta.filename, String(events), String(rounds)], {
      env: { ...process.env, BENCH_STAGES_CHILD: '1' },
      encoding: 'utf8',
    })
    if (child.status !== 0) throw new Error(`stages failed: ${child.stderr}`)
    runs.push(JSON.parse(child.stdout.trim().split('\n').pop()!) as Figures)
  }
  const figures = { changelogBytesPerEvent: runs[0]!.changelogBytesPerEvent } as Figures
  for (const part of [...parts, ...floors]) figures[part] = median(runs.map((run) => run[part]))
  const sum = (names: readonly string[]) =>
    names.reduce((total, name) => total + figures[name as (typeof parts)[number]], 0)
  const enrich = sum(parts.filter((p) => p.startsWith('enrich')))
  const score = sum(parts.filter((p) => p.startsWith('score')))
  const out = (line: string) => process.stdout.write(`${line}\n`)
  out(
    `stages — ${events} phased events (1,000 users), batches of ${batch}, CPU µs per event (all threads); medians of ${repeats} processes, each the median of ${rounds} rounds`,
  )
  for (const part of parts) out(`  ${part.padEnd(20)} ${figures[part].toFixed(2).padStart(7)}`)
  out(
    `  enrich, all          ${enrich.toFixed(2).padStart(7)}   reference, its JSON alone (parse the events, stringify the enriched records as JSON): ${figures['enrich: JSON only'].toFixed(2)} (${(enrich / figures['enrich: JSON only']).toFixed(1)}×)`,
  )
  out(
    `  score, all           ${score.toFixed(2).padStart(7)}   reference, its JSON alone (parse the enriched records as JSON, stringify the scored ones): ${figures['score: JSON only'].toFixed(2)} (${(score / figures['score: JSON only']).toFixed(1)}×)`,
  )
  out(`enrich changelog: ${Math.round(figures.changelogBytesPerEvent)} B per event`)
  const path = writeResults('stages', `node bench/stages.ts ${events} ${rounds}`, {
    events,
    rounds,
    repeats,
    figures,
    enrich,
    score,
  })
  out(`figures written to ${path}`)
}
