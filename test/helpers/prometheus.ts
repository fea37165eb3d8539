// Reads Prometheus text exposition in tests.

/** The value of one series line (exact name and labels, as exposed), or undefined when absent. */
export function metricValue (text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}
