// The alert workflow, pure: an alert is open, acknowledged or resolved, and carries the analyst's
// verdict (true or false positive) once given. Which action is allowed from which state lives
// here, and the shape of a stored alert and its audit trail (the store's rows, the API's answers).
import type { Alert, AlertSeverity } from './alerts.ts'

export const alertStates = ['open', 'acknowledged', 'resolved'] as const
export type AlertState = (typeof alertStates)[number]

export const verdicts = ['true_positive', 'false_positive'] as const
export type Verdict = (typeof verdicts)[number]

export const alertActions = ['acknowledge', 'resolve', 'true_positive', 'false_positive'] as const
export type AlertAction = (typeof alertActions)[number]

export interface WorkflowPosition {
  readonly state: AlertState
  readonly verdict: Verdict | null
}

export interface StoredAlert {
  id: string
  entity: string
  kind: string
  severity: AlertSeverity
  score: number
  /** The scored event the alert is about. */
  eventId: string
  eventTime: number
  /** When the alert service raised it (its record's time in `alerts`). */
  raisedAt: number
  state: AlertState
  verdict: Verdict | null
  updatedAt: number
  alert: Alert
}

/** One entry of an alert's audit trail. */
export interface AlertActionRecord {
  action: AlertAction
  by: string
  at: number
  comment: string
  fromState: AlertState
  toState: AlertState
  verdict: Verdict | null
}

export interface AlertDetail extends StoredAlert {
  actions: AlertActionRecord[]
}

/** An action the alert's current state does not allow (an HTTP 409 with the current state). */
export class InvalidTransition extends Error {
  readonly current: WorkflowPosition
  constructor(message: string, current: WorkflowPosition) {
    super(message)
    this.name = 'InvalidTransition'
    this.current = current
  }
}

/**
 * Where `action` takes an alert: acknowledge an open one; resolve an open or acknowledged one;
 * a verdict (true or false positive) is given once, and resolves the alert if it was not yet.
 */
export function transition(id: string, from: WorkflowPosition, action: AlertAction): WorkflowPosition {
  const refuse = (why: string) => new InvalidTransition(`cannot ${describeAction(action)} alert ${id}: ${why}`, from)
  if (action === 'acknowledge') {
    if (from.state !== 'open') throw refuse(`it is ${from.state}`)
    return { state: 'acknowledged', verdict: from.verdict }
  }
  if (action === 'resolve') {
    if (from.state === 'resolved') throw refuse('it is already resolved')
    return { state: 'resolved', verdict: from.verdict }
  }
  if (from.verdict !== null) throw refuse(`it is already marked ${describeVerdict(from.verdict)}`)
  return { state: 'resolved', verdict: action }
}

export function isVerdict(action: AlertAction): action is Verdict {
  return (verdicts as readonly string[]).includes(action)
}

export function describeVerdict(verdict: Verdict): string {
  return verdict === 'true_positive' ? 'true positive' : 'false positive'
}

export function describeAction(action: AlertAction): string {
  return isVerdict(action) ? `mark as ${describeVerdict(action)}` : action
}
