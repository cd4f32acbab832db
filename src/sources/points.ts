// The points source: one stream of two-feature points with injected outliers.

import { PointGenerator } from '../core/sources/points.ts'
import { type PreparedSource, pacingFrom, type SourceDefinition } from './source.ts'

export const pointsSource: SourceDefinition<undefined> = {
  name: 'points',
  description: 'two-feature points from two clusters, with outliers injected at a set probability',
  sections: ['points'],
  load: async () => undefined,
  async prepare(_loaded, kafka): Promise<PreparedSource> {
    const seed = kafka.config['source.seed']
    const generator = new PointGenerator({ seed, outlierProbability: kafka.config['points.outlierProbability'] })
    // the points form one stream (one entity); its key keeps them in order in one partition
    const key = `points-${seed}`
    return {
      pacing: pacingFrom(kafka.config, { kind: 'rate', eventsPerSecond: 100 }),
      events: { next: (nowMs) => ({ key, value: generator.next(nowMs) }) },
    }
  },
}
