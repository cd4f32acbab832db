import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { MetricSample } from '../../../src/core/events.ts'
import { MetricGenerator, type MetricGeneratorOptions, parseMetricSeries } from '../../../src/core/sources/metrics.ts'

// a Monday, so the four weeks below hold 20 weekdays and 8 weekend days
const monday = Date.UTC(2025, 0, 6)
const fourWeeks = (28 * 24 * 60) / 5

function series(options: Partial<MetricGeneratorOptions> = {}, count = fourWeeks): MetricSample[] {
  const generator = new MetricGenerator({ seed: 17, startTimeMs: monday, ...options })
  return Array.from({ length: count }, () => generator.next())
}

const mean = (values: readonly number[]) => values.reduce((s, v) => s + v, 0) / values.length

describe('MetricGenerator', () => {
  const samples = series()

  it('samples every 5 minutes, values clipped to [0, 100]', () => {
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i]!
      assert.equal(Date.parse(s.timestamp), monday + i * 300_000)
      assert.ok(s.value >= 0 && s.value <= 100)
      assert.equal(s.host, 'host-1')
      assert.equal(s.metric, 'cpu_utilization')
    }
    const high = series({ baseLevel: 95 }, 2000)
    const low = series({ baseLevel: 2 }, 2000)
    assert.ok(high.some((s) => s.value === 100) && high.every((s) => s.value <= 100))
    assert.ok(low.some((s) => s.value === 0) && low.every((s) => s.value >= 0))
  })

  it('shows a daily cycle peaking in the afternoon and quieter weekends', () => {
    const byHour: number[][] = Array.from({ length: 24 }, () => [])
    const weekday: number[] = []
    const weekend: number[] = []
    for (const s of samples) {
      if (s.anomaly_label === 1) continue
      const date = new Date(s.timestamp)
      const isWeekend = date.getUTCDay() === 0 || date.getUTCDay() === 6
      ;(isWeekend ? weekend : weekday).push(s.value)
      if (!isWeekend) byHour[date.getUTCHours()]!.push(s.value)
    }
    const hourly = byHour.map(mean)
    const peak = hourly.indexOf(Math.max(...hourly))
    console.log('weekday mean by UTC hour:', hourly.map((v) => v.toFixed(1)).join(' '))
    assert.ok(peak >= 12 && peak <= 16, `peak hour ${peak}`)
    assert.ok(mean(hourly.slice(13, 16)) - mean(hourly.slice(1, 4)) > 20, 'afternoon well above night')
    assert.ok(mean(weekday) - mean(weekend) > 4, `weekday ${mean(weekday)} weekend ${mean(weekend)}`)
  })

  it('labels injected spikes and level-shift onsets', () => {
    const labelled = samples.flatMap((s, i) => (s.anomaly_label === 1 && i > 0 ? [i] : []))
    // about one spike a day of 1–3 samples, plus about one shift a week
    assert.ok(labelled.length >= 20 && labelled.length <= 150, `labels ${labelled.length}`)
    assert.ok(samples.every((s) => s.anomaly_label === 0 || s.anomaly_label === 1))
    const spikeOnly = series({ levelShiftsPerWeek: 0, flatStretchesPerWeek: 0, spikesPerDay: 3 })
    const jumps: number[] = []
    for (let i = 1; i < spikeOnly.length; i++) {
      if (spikeOnly[i]!.anomaly_label === 1 && spikeOnly[i - 1]!.anomaly_label === 0) {
        jumps.push(spikeOnly[i]!.value - spikeOnly[i - 1]!.value)
      }
    }
    jumps.sort((a, b) => a - b)
    assert.ok(jumps.length > 40)
    assert.ok(jumps[Math.floor(jumps.length / 2)]! > 15, `median spike jump ${jumps[Math.floor(jumps.length / 2)]}`)
  })

  it('level shifts move the level for good', () => {
    const shifting = series({ spikesPerDay: 0, flatStretchesPerWeek: 0, levelShiftsPerWeek: 2 }, fourWeeks * 3)
    const day = 288
    const changes: number[] = []
    for (let i = day; i < shifting.length - day; i++) {
      if (shifting[i]!.anomaly_label !== 1) continue
      const before = mean(shifting.slice(i - day, i).map((s) => s.value))
      const after = mean(shifting.slice(i, i + day).map((s) => s.value))
      changes.push(Math.abs(after - before))
    }
    assert.ok(changes.length >= 8, `shifts ${changes.length}`)
    assert.ok(mean(changes) > 8, `mean change ${mean(changes)}`)
  })

  it('has flat stretches of repeated values', () => {
    const longestRun = (values: readonly MetricSample[]) => {
      let longest = 1
      let run = 1
      for (let i = 1; i < values.length; i++) {
        const value = values[i]!.value
        // values clipped at 0 or 100 repeat without being a flat stretch
        run = value === values[i - 1]!.value && value > 0 && value < 100 ? run + 1 : 1
        longest = Math.max(longest, run)
      }
      return longest
    }
    // one to six hours of 5-minute samples
    assert.ok(longestRun(samples) >= 12, `longest flat run ${longestRun(samples)}`)
    // without flat stretches, 3-decimal values only repeat by rare coincidence
    assert.ok(longestRun(series({ flatStretchesPerWeek: 0 }, fourWeeks)) < 3)
  })

  it('is deterministic and honours the interval', () => {
    assert.deepEqual(series({}, 500), series({}, 500))
    assert.notDeepEqual(series({}, 500), series({ seed: 18 }, 500))
    const minutely = series({ intervalMs: 60_000, host: 'db-7', metric: 'cpu' }, 3)
    assert.deepEqual(
      minutely.map((s) => [s.timestamp, s.host, s.metric]),
      [
        ['2025-01-06T00:00:00.000Z', 'db-7', 'cpu'],
        ['2025-01-06T00:01:00.000Z', 'db-7', 'cpu'],
        ['2025-01-06T00:02:00.000Z', 'db-7', 'cpu'],
      ],
    )
  })
})

describe('parseMetricSeries', () => {
  it('reads a NAB-style file with a header', () => {
    const text = 'timestamp,value\n2014-02-14 14:27:00,51.846\n2014-02-14 14:32:00,44.508\n'
    const { samples, errors } = parseMetricSeries(text, { host: 'ec2-1' })
    assert.deepEqual(errors, [])
    assert.deepEqual(samples, [
      {
        kind: 'metric',
        host: 'ec2-1',
        metric: 'cpu_utilization',
        timestamp: '2014-02-14T14:27:00.000Z',
        value: 51.846,
      },
      {
        kind: 'metric',
        host: 'ec2-1',
        metric: 'cpu_utilization',
        timestamp: '2014-02-14T14:32:00.000Z',
        value: 44.508,
      },
    ])
  })

  it('reads headerless rows with ISO, epoch-second and epoch-millisecond times, sorted by time', () => {
    const text = ['1700000300,2', '2023-11-14T22:13:20Z,1', '1700000600000,3', '"2023-11-14T23:18:20+01:00", "4"'].join(
      '\r\n',
    )
    const { samples, errors } = parseMetricSeries(text)
    assert.deepEqual(errors, [])
    assert.deepEqual(
      samples.map((s) => [s.timestamp, s.value]),
      [
        ['2023-11-14T22:13:20.000Z', 1],
        ['2023-11-14T22:18:20.000Z', 2],
        ['2023-11-14T22:18:20.000Z', 4],
        ['2023-11-14T22:23:20.000Z', 3],
      ],
    )
  })

  it('reports bad rows by 1-based line number (header and blank lines counted) and keeps the rest', () => {
    const text = [
      'timestamp,value', // 1
      '2024-01-01 00:00:00,10', // 2
      '', // 3
      'yesterday,11', // 4
      '2024-01-01 00:10:00,high', // 5
      '2024-01-01 00:15:00', // 6
      '2024-01-01 00:20:00,', // 7
      '2024-01-01 00:25:00,14.5', // 8
    ].join('\n')
    const { samples, errors } = parseMetricSeries(text)
    assert.deepEqual(
      samples.map((s) => s.value),
      [10, 14.5],
    )
    assert.deepEqual(
      errors.map((e) => e.row),
      [4, 5, 6, 7],
    )
    assert.match(errors[0]!.reason, /timestamp "yesterday"/)
    assert.match(errors[1]!.reason, /value "high" is not a finite number/)
    assert.match(errors[2]!.reason, /expected 2 columns, got 1/)
    assert.match(errors[3]!.reason, /value ""/)
  })

  it('finds columns by header name and reads an optional label column', () => {
    const text =
      'value,label,timestamp\n5,0,2024-03-01T00:00:00Z\n95,1,2024-03-01T00:05:00Z\n7,maybe,2024-03-01T00:10:00Z'
    const { samples, errors } = parseMetricSeries(text)
    assert.deepEqual(
      samples.map((s) => [s.value, s.anomaly_label]),
      [
        [5, 0],
        [95, 1],
      ],
    )
    assert.deepEqual(errors, [{ row: 4, reason: 'label "maybe" is not 0, 1, true or false' }])
  })

  it('reports an unrecognisable first line and reads on', () => {
    const { samples, errors } = parseMetricSeries('when,how much\n2024-01-01T00:00:00Z,3')
    assert.equal(errors.length, 1)
    assert.equal(errors[0]!.row, 1)
    assert.deepEqual(
      samples.map((s) => s.value),
      [3],
    )
  })
})
