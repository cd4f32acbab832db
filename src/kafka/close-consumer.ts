// Closing a consumer that may still be joining its group. @platformatic/kafka 2.12's close()
// does not end a group membership whose JoinGroup/SyncGroup is under way: when the answer comes
// after the close, the consumer starts heartbeating on its closed connections, and every failed
// heartbeat schedules the next (two timers that never end, so the process never exits). A
// consumer is therefore closed only once its join has finished, succeeded or failed; close then
// leaves the group as usual.

/**
 * Waits for `joining` (the consumer's `consume()` under way, if any) to settle, then closes the
 * consumer, closing its streams. Failures are ignored: the consumer is being thrown away.
 */
export async function closeAfterJoin(
  consumer: { close(force: boolean): Promise<void> } | undefined,
  joining: Promise<unknown> | undefined,
): Promise<void> {
  await joining?.catch(() => {})
  await consumer?.close(true).catch(() => {})
}
