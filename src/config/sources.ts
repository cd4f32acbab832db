import { kinds, setting } from './setting.ts'

// Settings of `lookout produce <source>`.
export const sourceSettings = {
  'source.seed': setting({
    description: 'seed of the source generator',
    schema: kinds.integer(0, 2 ** 31 - 1),
    allowed: 'an integer from 0 to 2147483647',
    default: 42,
    commands: ['produce'],
    flag: 'seed',
  }),
} as const
