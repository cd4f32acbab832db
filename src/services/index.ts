// The pipeline services, in the order `lookout up` starts them. A new service is one file that
// exports a ServiceDefinition (src/services/service.ts) plus one line here.

import { aggregateService } from './aggregate.ts'
import { alertService } from './alert.ts'
import { consoleService } from './console.ts'
import { driftService } from './drift.ts'
import { enrichService } from './enrich.ts'
import { scoreService } from './score.ts'
import type { ServiceDefinition } from './service.ts'
import { trainService } from './train.ts'

export const serviceDefinitions: readonly ServiceDefinition[] = Object.freeze([
  enrichService,
  scoreService,
  alertService,
  driftService,
  trainService,
  aggregateService,
  consoleService,
])

export const serviceNames: readonly string[] = Object.freeze(serviceDefinitions.map((service) => service.name))
