// Progress bars for long start-up steps (backfill, dataset loading): drawn on stderr when it is
// a terminal, silent otherwise (the log line at the end of the step says the same).
import { SingleBar } from 'cli-progress'

export interface ProgressBar {
  update(value: number): void
  stop(): void
}

export function progressBar(label: string, total: number, unit = 'events'): ProgressBar {
  if (!process.stderr.isTTY || total <= 0) return { update: () => {}, stop: () => {} }
  const bar = new SingleBar({
    format: `${label} [{bar}] {percentage}% {value}/{total} ${unit} eta {eta_formatted}`,
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: false,
    etaBuffer: 50,
  })
  bar.start(total, 0)
  return { update: (value) => bar.update(value), stop: () => bar.stop() }
}
