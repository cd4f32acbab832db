import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RandomCutForest } from '../../../src/core/anomaly/random-cut-forest.ts'
import { Random } from '../../../src/core/random.ts'

test('a far point scores near 1, a point inside the data scores low', () => {
  const random = new Random(1)
  const detector = new RandomCutForest({ dimensions: 2, seed: 4 })
  for (let i = 0; i < 1000; i++) detector.learn(Float64Array.of(random.normal(0, 1), random.normal(0, 1)))
  const far = detector.score(Float64Array.of(50, 50))
  const inside = detector.score(Float64Array.of(0, 0))
  assert.ok(far > 0.8, `far ${far}`)
  assert.ok(inside < 0.2, `inside ${inside}`)
})

test('shingling sees a break in a series’ rhythm that single values cannot', () => {
  // A square wave 0,0,1,1,…; the anomaly is a 1 where a 0 belongs: each value alone is normal.
  const wave = (i: number) => (Math.floor(i / 2) % 2 === 0 ? 0 : 1)
  const random = new Random(2)
  const noisy = (v: number) => Float64Array.of(v + random.normal(0, 0.01))
  const shingled = new RandomCutForest({ dimensions: 1, shingleSize: 4, seed: 1 })
  const plain = new RandomCutForest({ dimensions: 1, seed: 1 })
  for (let i = 0; i < 1000; i++) {
    const x = noisy(wave(i))
    shingled.learn(x)
    plain.learn(x)
  }
  // i = 1000: wave is 0 (1000/2 = 500, even); offer 1 instead.
  const wrong = Float64Array.of(1)
  const right = Float64Array.of(0)
  assert.ok(shingled.score(wrong) > 2 * shingled.score(right), `${shingled.score(wrong)} vs ${shingled.score(right)}`)
  assert.ok(
    shingled.score(wrong) > 3 * plain.score(wrong),
    `shingled ${shingled.score(wrong)} plain ${plain.score(wrong)}`,
  )
})

test('the window slides: every tree holds exactly the last sampleSize points, duplicates included', () => {
  const detector = new RandomCutForest({ dimensions: 1, trees: 3, sampleSize: 16, seed: 8 })
  for (let i = 0; i < 100; i++) detector.learn(Float64Array.of(i % 5)) // many duplicates
  for (const tree of detector.toJSON().forest) {
    assert.equal(tree.mass[tree.root], 16)
    // leaves' masses add up to the window
    let leaves = 0
    for (let node = 0; node < tree.leaf.length; node++) if (tree.leaf[node] === 1) leaves += tree.mass[node]!
    assert.equal(leaves, 16)
    assert.equal(tree.free.length, 32 - (2 * 5 - 1))
  }
  // a value seen in the window is not anomalous; one never seen is
  assert.ok(detector.score(Float64Array.of(2)) < detector.score(Float64Array.of(40)))
})

test('after the window moves on, old points are forgotten', () => {
  const detector = new RandomCutForest({ dimensions: 1, trees: 10, sampleSize: 32, seed: 3 })
  const random = new Random(5)
  for (let i = 0; i < 200; i++) detector.learn(Float64Array.of(random.normal(100, 1)))
  const before = detector.score(Float64Array.of(0))
  for (let i = 0; i < 200; i++) detector.learn(Float64Array.of(random.normal(0, 1)))
  const after = detector.score(Float64Array.of(0))
  assert.ok(after < before / 3, `before ${before} after ${after}`)
  assert.ok(detector.score(Float64Array.of(100)) > after)
})

test('explain names the off feature and its weights sum to the score', () => {
  const random = new Random(9)
  const detector = new RandomCutForest({ dimensions: 3, seed: 2, featureNames: ['amount', 'velocity', 'hour'] })
  for (let i = 0; i < 600; i++)
    detector.learn(Float64Array.of(random.normal(0, 1), random.normal(0, 1), random.normal(0, 1)))
  const x = Float64Array.of(0, 12, 0)
  const contributions = detector.explain(x)
  assert.equal(contributions[0]?.feature, 'velocity')
  const total = contributions.reduce((sum, c) => sum + c.weight, 0)
  assert.ok(Math.abs(total - detector.score(x)) < 1e-9, `${total} vs ${detector.score(x)}`)
})

test('rejects non-finite inputs and wrong shapes', () => {
  const detector = new RandomCutForest({ dimensions: 2 })
  assert.throws(() => detector.learn(Float64Array.of(1, Number.NaN)), /feature 1 is NaN/)
  assert.throws(() => detector.score(Float64Array.of(1)), /1 features/)
  assert.throws(() => new RandomCutForest({ dimensions: 2, sampleSize: 0 }), /sampleSize = 0/)
})
