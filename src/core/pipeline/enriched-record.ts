// An enriched-features record: the binary form enrich writes, and `decodeEnriched`, which reads
// it and the JSON form (a record written before this form existed, or by hand). Node-only (it
// works on Buffers); the shapes are in ./events.ts, which the console's pages share.
//
// Layout (little-endian):
//   0x00 0x01                      marker and version (JSON text never starts with a NUL byte)
//   kind, id, entity               each a u16 byte length and its UTF-8
//   eventTime                      f64, ms since epoch
//   producedAt                     f64, ms since epoch; NaN when the source did not say
//   features                       u16 count, then each f64
//   event                          the carried fields as JSON, to the end of the record
//
// Features travel as the doubles they are: writing and parsing 17 numbers as decimal text was
// half of the record's JSON cost, and the values read back are the same bits either way.
import type { LookoutEvent } from '../events.ts'
import { featureKindOf, isEventKind } from '../features/index.ts'
import type { EnrichedEvent } from './events.ts'

const marker = 0x00
const version = 0x01

/** Grows as needed; an encoded record is copied out of it. */
let scratch = Buffer.allocUnsafe(4096)

/** True when `value` is an enriched record in the binary form (not JSON). */
export function isBinaryEnriched(value: Uint8Array): boolean {
  return value.length >= 2 && value[0] === marker
}

function writeText(buffer: Buffer, at: number, text: string, name: string): number {
  const length = buffer.write(text, at + 2, 'utf8')
  if (length > 0xffff)
    throw new RangeError(`the event's ${name} has ${length} bytes; an enriched record holds at most 65,535`)
  buffer.writeUInt16LE(length, at)
  return at + 2 + length
}

/** The most bytes `encodeEnriched` may write for `event` besides the carried JSON. */
function headerBound(event: EnrichedEvent): number {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit
  return (
    2 + 3 * 2 + 3 * (event.kind.length + event.id.length + event.entity.length) + 16 + 2 + 8 * event.features.length
  )
}

export function encodeEnriched(event: EnrichedEvent): Buffer {
  const carried = JSON.stringify(event.event)
  const bound = headerBound(event) + 3 * carried.length
  if (scratch.length < bound) scratch = Buffer.allocUnsafe(Math.max(bound, 2 * scratch.length))
  const buffer = scratch
  buffer[0] = marker
  buffer[1] = version
  let at = writeText(buffer, 2, event.kind, 'kind')
  at = writeText(buffer, at, event.id, 'id')
  at = writeText(buffer, at, event.entity, 'entity key')
  buffer.writeDoubleLE(event.eventTime, at)
  buffer.writeDoubleLE(event.producedAt ?? Number.NaN, at + 8)
  at += 16
  const features = event.features
  if (features.length > 0xffff)
    throw new RangeError(`${features.length} features in an enriched record (at most 65,535)`)
  buffer.writeUInt16LE(features.length, at)
  at += 2
  for (let i = 0; i < features.length; i++) {
    // + 0 turns -0 into 0, as JSON does: either form gives the scorer the same numbers
    buffer.writeDoubleLE(features[i]! + 0, at)
    at += 8
  }
  at += buffer.write(carried, at, 'utf8')
  return Buffer.from(buffer.subarray(0, at))
}

/**
 * The fields of a binary enriched record, unchecked (`decodeEnriched` checks them); throws an
 * Error whose message is the dead-letter reason when the record is cut short or of an unknown version.
 */
export function readBinaryEnriched(value: Buffer): EnrichedEvent {
  if (value[1] !== version)
    throw new Error(`enriched record of binary version ${value[1]}; this Lookout reads version ${version}`)
  let at = 2
  const need = (bytes: number) => {
    if (at + bytes > value.length) throw new Error(`enriched record cut short at byte ${at} of ${value.length}`)
  }
  const readText = () => {
    need(2)
    const length = value.readUInt16LE(at)
    need(2 + length)
    const text = value.toString('utf8', at + 2, at + 2 + length)
    at += 2 + length
    return text
  }
  const kind = readText()
  const id = readText()
  const entity = readText()
  need(18)
  const eventTime = value.readDoubleLE(at)
  const producedAt = value.readDoubleLE(at + 8)
  const count = value.readUInt16LE(at + 16)
  at += 18
  need(8 * count)
  const features: number[] = new Array(count)
  for (let i = 0; i < count; i++) {
    features[i] = value.readDoubleLE(at)
    at += 8
  }
  let event: LookoutEvent
  try {
    event = JSON.parse(value.toString('utf8', at, value.length)) as LookoutEvent
  } catch (error) {
    throw new Error(`the enriched record's event is not JSON: ${(error as Error).message}`)
  }
  return {
    kind: kind as EnrichedEvent['kind'],
    id,
    entity,
    eventTime,
    producedAt: Number.isNaN(producedAt) ? undefined : producedAt,
    features,
    event,
  }
}

/**
 * Parses an enriched event (a record of enriched-features: the binary form enrich writes, or
 * JSON); throws an Error whose message is the dead-letter reason.
 */
export function decodeEnriched(value: Buffer | string): EnrichedEvent {
  let event: EnrichedEvent
  if (typeof value !== 'string' && isBinaryEnriched(value)) event = readBinaryEnriched(value)
  else {
    try {
      event = JSON.parse(value.toString()) as EnrichedEvent
    } catch (error) {
      throw new Error(`not JSON nor a binary enriched record: ${(error as Error).message}`)
    }
  }
  if (!isEventKind(event?.kind)) throw new Error(`unknown kind ${JSON.stringify(event?.kind)}`)
  const expected = featureKindOf(event.kind)!.schema.names.length
  if (!Array.isArray(event.features) || event.features.length !== expected)
    throw new Error(`features must be an array of ${expected} numbers for kind ${event.kind}`)
  if (typeof event.id !== 'string' || typeof event.entity !== 'string') throw new Error('id and entity must be strings')
  return event
}
