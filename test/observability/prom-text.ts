// A small reader of the Prometheus text format (version 0.0.4) for the observability tests: the
// metric families a scrape declares and every sample with its labels, so tests assert on values.

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Scrape {
  /** Family name to type (counter, gauge, histogram, summary, untyped). */
  types: Map<string, string>
  samples: Sample[]
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/y

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {}
  LABEL.lastIndex = 0
  while (LABEL.lastIndex < text.length) {
    const match = LABEL.exec(text)
    if (!match) throw new Error(`unreadable labels: {${text}}`)
    labels[match[1]] = match[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
  }
  return labels
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity
  if (text === '-Inf') return -Infinity
  return Number(text)
}

export function parsePrometheus(text: string): Scrape {
  const types = new Map<string, string>()
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    if (line.startsWith('#')) {
      const [, keyword, name, type] = line.split(/\s+/)
      if (keyword === 'TYPE') types.set(name, type)
      continue
    }
    const match = SAMPLE.exec(line)
    if (!match) throw new Error(`unreadable sample line: ${line}`)
    samples.push({ name: match[1], labels: parseLabels(match[2] ?? ''), value: parseValue(match[3]) })
  }
  return { types, samples }
}

/** Every series name a scrape can be queried by: each family, and a histogram's _bucket, _sum and _count. */
export function seriesNames(scrape: Scrape): Set<string> {
  const names = new Set<string>()
  for (const [name, type] of scrape.types) {
    names.add(name)
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix)
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix)
  }
  for (const sample of scrape.samples) names.add(sample.name)
  return names
}

/** The sum of the samples named `name` whose labels include `labels` (0 when there is none). */
export function total(scrape: Scrape, name: string, labels: Record<string, string> = {}): number {
  return scrape.samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0)
}

/** Whether any sample named `name` has these labels. */
export function has(scrape: Scrape, name: string, labels: Record<string, string> = {}): boolean {
  return scrape.samples.some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
}
