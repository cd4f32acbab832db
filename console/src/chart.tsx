// A uPlot time-series chart: created once, fed new data without being rebuilt.
import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'

const palette = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563']

export interface ChartProps {
  title: string
  /** Unix seconds. */
  t: number[]
  series: { label: string; values: (number | null)[] }[]
  height?: number
  testId?: string
  /** Vertical lines at these times (Unix seconds), each in its colour. */
  markers?: { t: number; color: string }[]
  /** A fixed y range, e.g. [0, 1] for scores. */
  yRange?: [number, number]
  /** Always show at least this many seconds up to the newest point (default 300). */
  minSpanSeconds?: number
}

export function Chart({ title, t, series, height = 220, testId, markers, yRange, minSpanSeconds = 300 }: ChartProps) {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const labels = series.map((s) => s.label).join('\u0000')
  // read by the draw hook, so new markers need no rebuild
  const shownMarkers = useRef(markers ?? [])
  shownMarkers.current = markers ?? []

  useEffect(() => {
    if (!box.current) return
    const width = Math.max(320, box.current.clientWidth || 600)
    plot.current = new uPlot(
      {
        title,
        width,
        height,
        series: [
          {},
          ...series.map((s, i) => ({
            label: s.label,
            stroke: palette[i % palette.length],
            width: 1.5,
            spanGaps: true,
          })),
        ],
        // at least the last five minutes, so a few samples do not stretch over years
        scales: {
          // a single point (or none) would stretch the axis over years
          x: {
            time: true,
            range: (_u, min, max) =>
              Number.isFinite(min) && Number.isFinite(max)
                ? [Math.min(min, max - minSpanSeconds), max]
                : [Date.now() / 1000 - minSpanSeconds, Date.now() / 1000],
          },
          ...(yRange ? { y: { range: yRange } } : {}),
        },
        axes: [{}, { size: 60 }],
        legend: { live: false },
        hooks: { draw: [(u) => drawMarkers(u, shownMarkers.current)] },
      },
      [t, ...series.map((s) => s.values)] as uPlot.AlignedData,
      box.current,
    )
    const resize = () => {
      if (box.current && plot.current) plot.current.setSize({ width: box.current.clientWidth, height })
    }
    window.addEventListener('resize', resize)
    return () => {
      window.removeEventListener('resize', resize)
      plot.current?.destroy()
      plot.current = null
    }
    // rebuilt only when the set of series changes
  }, [labels, title, height, minSpanSeconds, yRange?.[0], yRange?.[1]])

  useEffect(() => {
    plot.current?.setData([t, ...series.map((s) => s.values)] as uPlot.AlignedData)
  })

  return <div class="chart" ref={box} data-testid={testId} data-points={t.length} data-markers={markers?.length ?? 0} />
}

function drawMarkers(u: uPlot, markers: { t: number; color: string }[]) {
  const { ctx, bbox } = u
  ctx.save()
  ctx.lineWidth = 2 * devicePixelRatio
  ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio])
  for (const marker of markers) {
    const x = Math.round(u.valToPos(marker.t, 'x', true))
    if (x < bbox.left || x > bbox.left + bbox.width) continue
    ctx.strokeStyle = marker.color
    ctx.beginPath()
    ctx.moveTo(x, bbox.top)
    ctx.lineTo(x, bbox.top + bbox.height)
    ctx.stroke()
  }
  ctx.restore()
}
