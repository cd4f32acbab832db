// Which tests need what: a test file named `*.kafka.test.ts` needs the real local broker
// (`npm run test:kafka` starts it and sets TEST_KAFKA_BROKERS); every other `*.test.ts` needs
// no broker and runs in `npm run test:unit`. test/layout.test.ts checks the names against
// what the files import.

export const kafkaTestSuffix = '.kafka.test.ts'

export function isKafkaTest(file: string): boolean {
  return file.endsWith(kafkaTestSuffix)
}

/**
 * Seconds each unit test file took in its last run (written by scripts/test-reporter.ts), so
 * that the next run starts the slowest files first and the two workers finish together.
 */
export const unitDurationsFile = 'node_modules/.cache/lookout/unit-test-durations.json'
