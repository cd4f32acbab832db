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
}

export function Chart({ title, t, series, height = 220, testId }: ChartProps) {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const labels = series.map((s) => s.label).join('\u0000')

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
        scales: { x: { time: true, range: (_u, min, max) => [Math.min(min, max - 300), max] } },
        axes: [{}, { size: 60 }],
        legend: { live: false },
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
  }, [labels, title, height])

  useEffect(() => {
    plot.current?.setData([t, ...series.map((s) => s.values)] as uPlot.AlignedData)
  })

  return <div class="chart" ref={box} data-testid={testId} />
}
