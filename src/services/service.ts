// What a pipeline service is to the runner (src/services/run.ts) and the CLI. Each service's
// file exports one ServiceDefinition; src/services/index.ts lists them. Adding a service is one
// new file plus one line in that list (and its settings section in src/config/services.ts).

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Registry } from 'prom-client'
import type { Config } from '../config/settings.ts'
import type { KafkaContext } from '../kafka/context.ts'
import type { Processor, ProcessorRuntime } from '../kafka/processor.ts'
import type { TopicKey } from '../kafka/topics.ts'

/** What /health reports: `ok: false` answers 503, with the reason. */
export interface ServiceHealth {
  ok: boolean
  reason?: string
  [field: string]: unknown
}

/** A catalogue topic, or a topic named outside the catalogue (a declared event schema's). */
export type ServiceInput = TopicKey | { readonly topic: string }

/** What the runner hands a service's `start`. */
export interface ServiceContext {
  readonly config: Config
  readonly kafka: KafkaContext
  /** The registry served on the service's /metrics. */
  readonly registry: Registry
  /** Processor instances to run in this process (they join one consumer group). */
  readonly instances: number
  /**
   * One processor runtime per instance, reading the catalogue topic `input` (or a topic named
   * outside the catalogue: a declared event schema's; or several co-partitioned ones), with the runtime
   * settings (`processor.*`), the service's registry and instance ids. The runner starts them
   * after `start` returns and stops them first on the way out.
   */
  processorRuntimes<T>(
    input: ServiceInput | readonly ServiceInput[],
    processor: (instance: number) => Processor<T>,
  ): ProcessorRuntime<unknown>[]
  /**
   * Registers how to close something `start` opened (a consumer, a registry reader, a sink
   * dispatcher). Closes run in reverse order after the runtimes stopped, both when the service
   * stops and when its start fails part-way.
   */
  onStop(close: () => Promise<void>): void
}

/** What a service's `start` returns. Whatever it opened is closed through `context.onStop`. */
export interface StartedService {
  /** Its processor runtimes (usually from `context.processorRuntimes`). */
  readonly runtimes?: readonly ProcessorRuntime<unknown>[]
  /** Its own health besides its runtimes' (each runtime's health is checked by the runner). */
  health?(): ServiceHealth
  /**
   * Serves every other request on the service's port (everything but /health and /metrics,
   * which the runner answers): the console's API and pages.
   */
  handle?(request: IncomingMessage, response: ServerResponse): void
}

export interface ServiceDefinition {
  readonly name: string
  /** One line for `lookout run --help`. */
  readonly description: string
  /**
   * Its settings section: `<section>.port` is the port of its /health and /metrics (and of
   * whatever its `handle` serves); `<section>.host`, when the section has one, the address it
   * listens on (127.0.0.1 otherwise).
   */
  readonly section: string
  /** Opens what the service needs; the runner has already started its HTTP server. */
  start(context: ServiceContext): Promise<StartedService>
}
