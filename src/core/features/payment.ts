// Features of a payment, per customer_id.
//
// Every payment counts, declined ones too: a burst of declined attempts is itself a signal.
// Comparisons with the customer's past use the state before this payment; counts include it.
//
// High value (the fraud rule "three or more high-value payments among a
// customer's last ten"): `high_value_last_10` counts payments with amount > 1,000,000 (the
// absolute threshold) among this payment and the customer's nine before it.
// `relative_high_last_10` counts those of at least 3× the customer's mean amount at the time,
// once the customer has 3 earlier payments: the same idea for customers whose usual amounts
// are far from the platform's. Both are kept as 10-bit masks, newest in bit 0.

import type { Payment } from '../events.ts'
import { observeAmount } from './amount-history.ts'
import { hourCos, hourSin, isNight, utcHourOfDay } from './event-time.ts'
import type { EventTimeWindowState } from './event-time-window.ts'
import type { FeatureExtractor } from './extractor.ts'
import { allocateFeatures } from './feature-vector.ts'
import { type FirstSeenState, firstSeenObserve, locationCell } from './first-seen.ts'
import { merchantRisk } from './merchant-risk.ts'
import type { RecentValuesState } from './recent-values.ts'
import { flag, signedLog1p } from './scaling.ts'
import { defineSchema } from './schema.ts'
import type { WelfordState } from './welford.ts'

/** Strictly above this is high value. */
export const highValueAmount = 1_000_000
/** At least this multiple of the customer's mean is relatively high… */
export const relativeHighFactor = 3
/** …once the customer has this many earlier payments. */
export const relativeHighMinHistory = 3
/** Devices (os/app_version) and location cells remembered per customer. */
export const knownDevicesCapacity = 8
export const knownCellsCapacity = 8

export const paymentSchema = defineSchema([
  'amount',
  'log_amount',
  'amount_vs_customer_avg',
  'amount_zscore',
  'amount_robust_zscore',
  /** Payments in the last 60 s of event time, this one included (velocity rule: ≥ 5). */
  'count_last_minute',
  'count_last_hour',
  /** Payments > 1,000,000 among this one and the nine before (rule: ≥ 3). */
  'high_value_last_10',
  /** Payments ≥ 3× the customer's mean at the time, among the last ten. */
  'relative_high_last_10',
  /** 1 when this os/app_version is not among the customer's last 8 devices. */
  'new_device',
  /** 1 when this 0.1° location cell is not among the customer's last 8 cells. */
  'new_location',
  /** Great-circle distance from the customer's previous payment, km; 0 for the first. */
  'km_from_last_location',
  'seconds_since_last',
  /** UTC hour of the event time (the hour written in a zone-less timestamp). */
  'hour_of_day',
  'hour_sin',
  'hour_cos',
  'is_night',
  'declined',
  'risk_level',
  'merchant_risk',
  'method_online',
  'method_pos',
  'method_mobile',
  'method_nfc',
  'customer_event_count',
] as const)

export interface PaymentState {
  /** State layout version; a record with another version is ignored. */
  readonly v: 1
  readonly amount: WelfordState
  readonly recent: RecentValuesState
  readonly window: EventTimeWindowState
  /** Last ten payments, newest in bit 0: 1 where amount > highValueAmount. */
  readonly highMask: number
  /** Last ten payments, newest in bit 0: 1 where relatively high. */
  readonly relativeHighMask: number
  readonly devices: FirstSeenState
  readonly cells: FirstSeenState
  readonly lat: number
  readonly lng: number
}

export const paymentEntityKey = (event: Payment): string => event.customer_id

const lastTen = 0x3ff

export const extractPayment: FeatureExtractor<Payment, PaymentState> = (event, state, t) => {
  const before = state?.v === 1 ? state : undefined
  const amount = event.amount
  const history = observeAmount(before, amount, t)
  const count = history.earlier
  const highMask = (((before?.highMask ?? 0) << 1) | flag(amount > highValueAmount)) & lastTen
  const relativelyHigh = count >= relativeHighMinHistory && amount >= relativeHighFactor * history.mean
  const relativeHighMask = (((before?.relativeHighMask ?? 0) << 1) | flag(relativelyHigh)) & lastTen
  const { lat, lng } = event.location
  const device = firstSeenObserve(
    before?.devices,
    `${event.device_info.os}/${event.device_info.app_version}`,
    knownDevicesCapacity,
  )
  const cell = firstSeenObserve(before?.cells, locationCell(lat, lng), knownCellsCapacity)
  const hour = utcHourOfDay(t)
  const method = event.payment_method

  const at = paymentSchema.at
  const f = allocateFeatures(paymentSchema.names.length)
  f[at.amount] = amount
  f[at.log_amount] = signedLog1p(amount)
  f[at.amount_vs_customer_avg] = history.vsAverage
  f[at.amount_zscore] = history.zscore
  f[at.amount_robust_zscore] = history.robustZscore
  f[at.count_last_minute] = history.countLastMinute
  f[at.count_last_hour] = history.countLastHour
  f[at.high_value_last_10] = bitCount(highMask)
  f[at.relative_high_last_10] = bitCount(relativeHighMask)
  f[at.new_device] = flag(device.firstSeen)
  f[at.new_location] = flag(cell.firstSeen)
  f[at.km_from_last_location] = before === undefined ? 0 : greatCircleKm(before.lat, before.lng, lat, lng)
  f[at.seconds_since_last] = history.secondsSinceLast
  f[at.hour_of_day] = hour
  f[at.hour_sin] = hourSin(hour)
  f[at.hour_cos] = hourCos(hour)
  f[at.is_night] = flag(isNight(hour))
  f[at.declined] = flag(event.status === 'declined')
  f[at.risk_level] = event.risk_level
  f[at.merchant_risk] = merchantRisk(event.merchant_category)
  f[at.method_online] = flag(method === 'online')
  f[at.method_pos] = flag(method === 'pos')
  f[at.method_mobile] = flag(method === 'mobile')
  f[at.method_nfc] = flag(method === 'nfc')
  f[at.customer_event_count] = count + 1

  return {
    features: f,
    nextState: {
      v: 1,
      ...history.next,
      highMask,
      relativeHighMask,
      devices: device.next,
      cells: cell.next,
      lat,
      lng,
    },
  }
}

function bitCount(mask: number): number {
  let count = 0
  for (let m = mask; m !== 0; m &= m - 1) count++
  return count
}

const earthRadiusKm = 6371.0088

/** Haversine distance, km. */
export function greatCircleKm(lat1: number, lng1: number, lat2: number, lng2: number): number {
  const rad = Math.PI / 180
  const dLat = (lat2 - lat1) * rad
  const dLng = (lng2 - lng1) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLng / 2) ** 2
  return 2 * earthRadiusKm * Math.asin(Math.min(1, Math.sqrt(h)))
}
