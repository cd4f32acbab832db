// A real S3-compatible server for tests: s3rver (from npm, so `npm install` provides it),
// listening on a free port with its own directory; credentials S3RVER / S3RVER.
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'

interface S3rverInstance {
  run(): Promise<{ port: number }>
  close(): Promise<void>
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance

export const s3Credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const

export interface TestS3 {
  endpoint: string
  put(bucket: string, key: string, body: string): Promise<void>
  close(): Promise<void>
}

export async function startS3(): Promise<TestS3> {
  // s3rver ships no types and is CommonJS
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass
  const directory = mkdtempSync(join(tmpdir(), 'lookout-s3-'))
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory })
  const { port } = await server.run()
  const endpoint = `http://127.0.0.1:${port}`
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: s3Credentials })
  const buckets = new Set<string>()
  return {
    endpoint,
    async put(bucket, key, body) {
      if (!buckets.has(bucket)) {
        await client.send(new CreateBucketCommand({ Bucket: bucket }))
        buckets.add(bucket)
      }
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))
    },
    async close() {
      client.destroy()
      await server.close()
      rmSync(directory, { recursive: true, force: true })
    },
  }
}
