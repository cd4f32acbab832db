import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { ErrorCodes, LookoutError } from '../errors.ts'

/** The `java` to run: $JAVA_HOME/bin/java when set, else the one on PATH. */
export function javaCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.JAVA_HOME ? join(env.JAVA_HOME, 'bin', 'java') : 'java'
}

/** Parses the major version from `java -version` output (`"17.0.15"`, `"1.8.0_392"`). */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput)
  if (!match) return undefined
  const first = Number(match[1])
  return first === 1 && match[2] ? Number(match[2]) : first
}

/** Checks that Java 17 or newer is present; returns its major version. */
export function requireJava(env: NodeJS.ProcessEnv = process.env): number {
  const command = javaCommand(env)
  const result = spawnSync(command, ['-version'], { encoding: 'utf8', env })
  if (result.error || result.status !== 0) {
    throw new LookoutError(ErrorCodes.JAVA_MISSING, `Java was not found (tried "${command}")`, {
      hint: 'install a Java 17+ runtime (e.g. `apt-get install openjdk-17-jre-headless`) or set JAVA_HOME; or point Lookout at an existing cluster with --brokers',
      cause: result.error,
    })
  }
  const major = parseJavaMajor(`${result.stderr}${result.stdout}`)
  if (major === undefined || major < 17) {
    throw new LookoutError(
      ErrorCodes.JAVA_TOO_OLD,
      `Java ${major ?? 'of unknown version'} found at "${command}"; the Kafka broker needs Java 17 or newer`,
      { hint: 'install Java 17+ and put it first on PATH or set JAVA_HOME to it' },
    )
  }
  return major
}

/** Checks that Maven is present (it installs the broker jars from Maven Central). */
export function requireMaven(env: NodeJS.ProcessEnv = process.env): void {
  const result = spawnSync('mvn', ['--version'], { encoding: 'utf8', env })
  if (result.error || result.status !== 0) {
    throw new LookoutError(
      ErrorCodes.MAVEN_MISSING,
      'Maven (mvn) was not found; it is needed once to install the Kafka broker jars',
      {
        hint: 'install Maven (e.g. `apt-get install maven`) and make sure `mvn` is on PATH; or use an existing cluster with --brokers',
        cause: result.error,
      },
    )
  }
}
