// Event shapes that flow through Lookout's topics. Field names are the wire names (JSON).

export const phases = ['normal', 'drift', 'attack'] as const
export type Phase = (typeof phases)[number]
export const phaseNumber = { normal: 0, drift: 1, attack: 2 } as const satisfies Record<Phase, number>

/** A card transaction from the phased generator. */
export interface PhasedTransaction {
  kind: 'transaction'
  transaction_id: string
  user_id: string
  event_number: number
  /** Simulated event time, ISO-8601. */
  timestamp: string
  /** Wall-clock production time, Unix seconds. */
  ingestion_timestamp: number
  amount: number
  merchant_category: string
  hour_of_day: number
  location_match: boolean
  device_known: boolean
  transactions_last_hour: number
  user_avg_amount: number
  amount_vs_user_avg: number
  phase: Phase
  phase_number: 0 | 1 | 2
  drift_injected: boolean
  anomaly_label: 0 | 1
  /** Which label rule fired (1–6), or 0. */
  label_rule: number
}

/** A payment from the payments generator. */
export interface Payment {
  kind: 'payment'
  transaction_id: string
  timestamp: string
  ingestion_timestamp: number
  customer_id: string
  merchant_id: string
  merchant_category: 'retail' | 'food_service' | 'entertainment' | 'transportation' | 'government'
  payment_method: 'online' | 'pos' | 'mobile' | 'nfc'
  amount: number
  location: { lat: number; lng: number }
  device_info: { os: string; app_version: string }
  status: 'approved' | 'declined'
  failure_reason: string | null
  commission_type: 'flat' | 'progressive' | 'tiered'
  commission_amount: number
  vat_amount: number
  total_amount: number
  customer_type: 'individual' | 'CIP' | 'business'
  risk_level: 1 | 2 | 3 | 4 | 5
  /** Ground truth: true when the generator injected fraud. */
  is_fraud: boolean
}

/** A two-feature point with injected outliers. */
export interface Point {
  kind: 'point'
  id: number
  data: [number, number]
  current_time: string
  /** Ground truth: 1 when drawn from the outlier distribution. */
  anomaly_label: 0 | 1
}

/** One sample of a univariate machine metric. */
export interface MetricSample {
  kind: 'metric'
  host: string
  metric: string
  timestamp: string
  value: number
  /** Ground truth when the generator injected an anomaly here; absent on replays without labels. */
  anomaly_label?: 0 | 1
}

/** A record replayed from a dataset; the schema is pluggable, this is the default. */
export interface ReplayedRecord {
  kind: 'record'
  id: string
  description: string
  amount: number
  timestamp: string
  merchant: string
  operation_type: 'debit' | 'credit'
  side: 'incoming' | 'outgoing'
}

export type LookoutEvent = PhasedTransaction | Payment | Point | MetricSample | ReplayedRecord

/** The phase-transitions message. */
export interface PhaseTransition {
  phase: Phase
  event_number: number
  /** Unix seconds. */
  timestamp: number
}
