// The assignment of co-partitioned inputs: partition p of every input topic to one member.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { copartitionedAssigner } from '../../src/kafka/processor.ts'

test('co-partitioned inputs: partition p of each topic goes to the same member, members in turn', () => {
  const members = new Map([
    ['m-b', {}],
    ['m-a', {}],
  ])
  const metadata = {
    topics: new Map([
      ['anomalies', { partitionsCount: 3 }],
      ['labels', { partitionsCount: 3 }],
    ]),
  }
  const assigned = copartitionedAssigner('', members, new Set(['anomalies', 'labels']), metadata)
  const view = Object.fromEntries(
    assigned.map((member) => [
      member.memberId,
      Object.fromEntries([...member.assignments].map(([topic, entry]) => [topic, entry.partitions])),
    ]),
  )
  assert.deepEqual(view, {
    'm-a': { anomalies: [0, 2], labels: [0, 2] },
    'm-b': { anomalies: [1], labels: [1] },
  })
})
