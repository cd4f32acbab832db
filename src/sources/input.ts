// Reads a dataset's text from a local file or from S3 / MinIO (official AWS SDK), with a
// progress bar, turning every failure into one clear LookoutError.

import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { GetObjectCommand, HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3'
import type { Config } from '../config/settings.ts'
import { ErrorCodes, LookoutError } from '../errors.ts'
import { progressBar } from './progress.ts'

export interface S3Settings {
  endpoint: string
  region: string
  accessKeyId: string
  secretAccessKey: string
  pathStyle: boolean
}

export function s3SettingsOf(config: Config): S3Settings {
  return {
    endpoint: config['s3.endpoint'],
    region: config['s3.region'],
    accessKeyId: config['s3.accessKeyId'],
    secretAccessKey: config['s3.secretAccessKey'],
    pathStyle: config['s3.pathStyle'],
  }
}

/** `s3://bucket/key` → {bucket, key}, or undefined for a local path. */
export function parseS3Url(location: string): { bucket: string; key: string } | undefined {
  if (!location.startsWith('s3://')) return undefined
  const rest = location.slice('s3://'.length)
  const slash = rest.indexOf('/')
  if (slash <= 0 || slash === rest.length - 1) {
    throw new LookoutError(ErrorCodes.INPUT_INVALID, `"${location}" is not an S3 object address`, {
      hint: 'write it as s3://bucket/path/to/file.csv',
    })
  }
  return { bucket: rest.slice(0, slash), key: rest.slice(slash + 1) }
}

async function collect(stream: Readable, total: number, label: string): Promise<string> {
  const bar = progressBar(label, total, 'bytes')
  const chunks: Buffer[] = []
  let bytes = 0
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    chunks.push(buffer)
    bytes += buffer.length
    bar.update(bytes)
  }
  bar.stop()
  return Buffer.concat(chunks).toString('utf8')
}

async function readLocal(path: string): Promise<string> {
  try {
    const info = await stat(path)
    if (!info.isFile()) throw Object.assign(new Error(`${path} is not a file`), { code: 'EISDIR' })
    return await collect(createReadStream(path), info.size, `loading ${path}`)
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'is not readable (permission denied)'
          : code === 'EISDIR'
            ? 'is a directory, not a file'
            : `cannot be read (${(cause as Error).message})`
    throw new LookoutError(ErrorCodes.FILE_UNREADABLE, `input file ${path} ${why}`, {
      hint: 'check the path given with --input (relative paths start at the working directory) and its permissions',
      cause,
    })
  }
}

function s3Client(settings: S3Settings): S3Client {
  return new S3Client({
    region: settings.region,
    forcePathStyle: settings.pathStyle,
    maxAttempts: 2,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.accessKeyId
      ? { credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } }
      : {}),
  })
}

function s3Error(location: string, bucket: string, settings: S3Settings, cause: unknown): LookoutError {
  const name = cause instanceof S3ServiceException ? cause.name : (cause as Error | undefined)?.name
  const status = cause instanceof S3ServiceException ? cause.$metadata.httpStatusCode : undefined
  const where = settings.endpoint || 'AWS S3'
  if (name === 'NoSuchBucket') {
    return new LookoutError(ErrorCodes.S3_ACCESS, `S3 bucket "${bucket}" does not exist at ${where}`, {
      hint: 'check the bucket in --input s3://bucket/key and --s3-endpoint, or create the bucket',
      cause,
    })
  }
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    return new LookoutError(ErrorCodes.FILE_UNREADABLE, `S3 object ${location} does not exist at ${where}`, {
      hint: 'check the key in --input s3://bucket/key (keys are case-sensitive)',
      cause,
    })
  }
  if (
    status === 403 ||
    name === 'AccessDenied' ||
    name === 'InvalidAccessKeyId' ||
    name === 'SignatureDoesNotMatch' ||
    name === 'Forbidden'
  ) {
    return new LookoutError(ErrorCodes.S3_ACCESS, `access to ${location} denied by ${where} (${name ?? status})`, {
      hint: 'check --s3-access-key-id and --s3-secret-access-key (LOOKOUT_S3_ACCESS_KEY_ID, LOOKOUT_S3_SECRET_ACCESS_KEY) and the bucket policy',
      cause,
    })
  }
  return new LookoutError(
    ErrorCodes.S3_ACCESS,
    `cannot read ${location} from ${where}: ${(cause as Error).message ?? String(cause)}`,
    {
      hint: 'check --s3-endpoint, --s3-region and that the object store is reachable',
      cause,
    },
  )
}

async function readS3(location: string, bucket: string, key: string, settings: S3Settings): Promise<string> {
  const client = s3Client(settings)
  try {
    let size = 0
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
      size = head.ContentLength ?? 0
    } catch (error) {
      // HEAD answers without a body, so the error name is vague: GET below says exactly what is wrong
      if (!(error instanceof S3ServiceException)) throw error
    }
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    if (!object.Body) throw new Error('empty response body')
    return await collect(object.Body as Readable, size || (object.ContentLength ?? 0), `loading ${location}`)
  } catch (error) {
    throw s3Error(location, bucket, settings, error)
  } finally {
    client.destroy()
  }
}

/** The whole text of a local file or an `s3://bucket/key` object. */
export async function readInput(location: string, s3: S3Settings): Promise<string> {
  const object = parseS3Url(location)
  return object ? readS3(location, object.bucket, object.key, s3) : readLocal(location)
}
