import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ErrorCodes, LookoutError } from '../errors.ts'
import { logger } from '../log.ts'
import { requireMaven } from './java.ts'

const log = logger('broker')

const log4jVersion = '2.24.3'
// kafka-clients pins slf4j 1.7 for compatibility; the broker logs through slf4j 2 + log4j2
const slf4jVersion = '2.0.17'
/** Bumped whenever the dependency list changes, so existing installations are redone. */
const recipe = 'r2'

export interface KafkaInstallation {
  version: string
  directory: string
  /** Java class path: every jar the broker and Kafka's own tools need. */
  classPath: string
}

export function installDirectory(dataDir: string, version: string): string {
  return resolve(dataDir, 'kafka', version)
}

function pom(version: string): string {
  const dependency = (group: string, artifact: string, v: string) =>
    `    <dependency><groupId>${group}</groupId><artifactId>${artifact}</artifactId><version>${v}</version></dependency>`
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.lookout</groupId>
  <artifactId>local-kafka</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
  <dependencies>
${dependency('org.apache.kafka', 'kafka_2.13', version)}
${dependency('org.apache.kafka', 'kafka-tools', version)}
${dependency('org.slf4j', 'slf4j-api', slf4jVersion)}
${dependency('org.apache.logging.log4j', 'log4j-core', log4jVersion)}
${dependency('org.apache.logging.log4j', 'log4j-slf4j2-impl', log4jVersion)}
  </dependencies>
</project>
`
}

/** Returns the installation if it is complete, without touching the network. */
export function findInstallation(dataDir: string, version: string): KafkaInstallation | undefined {
  const directory = installDirectory(dataDir, version)
  const classPathFile = join(directory, 'classpath.txt')
  const marker = join(directory, 'installed')
  if (!existsSync(marker) || !existsSync(classPathFile)) return undefined
  if (readFileSync(marker, 'utf8').trim() !== recipe) return undefined
  return { version, directory, classPath: readFileSync(classPathFile, 'utf8').trim() }
}

/**
 * Installs Apache Kafka `version` from Maven Central with the machine's Maven, into
 * `<dataDir>/kafka/<version>` (jars in `<dataDir>/maven-repository`), once; later calls reuse it.
 */
export async function installKafka(dataDir: string, version: string, env = process.env): Promise<KafkaInstallation> {
  const existing = findInstallation(dataDir, version)
  if (existing) return existing
  requireMaven(env)
  const directory = installDirectory(dataDir, version)
  mkdirSync(directory, { recursive: true })
  writeFileSync(join(directory, 'pom.xml'), pom(version))
  const repository = resolve(dataDir, 'maven-repository')
  const classPathFile = join(directory, 'classpath.txt')
  log.info(`installing Apache Kafka ${version} from Maven Central (once)`, { into: directory })

  const started = Date.now()
  let downloaded = 0
  const tail: string[] = []
  const code = await new Promise<number>((resolvePromise, reject) => {
    const child = spawn(
      'mvn',
      [
        '-B',
        '-f',
        join(directory, 'pom.xml'),
        `-Dmaven.repo.local=${repository}`,
        'dependency:build-classpath',
        `-Dmdep.outputFile=${classPathFile}`,
        '-Dmdep.includeScope=runtime',
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let pending = ''
    const onData = (chunk: Buffer) => {
      pending += chunk.toString('utf8')
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        tail.push(line)
        if (tail.length > 30) tail.shift()
        if (/Downloaded from/.test(line) && /\.jar/.test(line)) {
          downloaded++
          if (downloaded % 10 === 0)
            log.info(`downloaded ${downloaded} jars`, { seconds: Math.round((Date.now() - started) / 1000) })
        }
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('error', reject)
    child.on('close', (status) => resolvePromise(status ?? 1))
  })
  if (code !== 0 || !existsSync(classPathFile)) {
    const reason =
      tail
        .filter((line) => /ERROR/.test(line))
        .slice(0, 5)
        .join('\n    ') || tail.slice(-10).join('\n    ')
    throw new LookoutError(
      ErrorCodes.BROKER_DOWNLOAD_FAILED,
      `could not install Apache Kafka ${version} from Maven Central (mvn exited with ${code}):\n    ${reason}`,
      {
        hint: `check the network access to Maven Central and that version ${version} exists (setting broker.kafkaVersion); then run the command again`,
      },
    )
  }
  writeFileSync(join(directory, 'installed'), recipe)
  log.info(`installed Apache Kafka ${version}`, {
    jars: downloaded,
    seconds: Math.round((Date.now() - started) / 1000),
  })
  return { version, directory, classPath: readFileSync(classPathFile, 'utf8').trim() }
}
