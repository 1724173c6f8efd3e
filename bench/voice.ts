// `npm run bench:voice`: the voice plugin in-process with the real Google clients against the local
// fake. Cache-hit latency, local and fake-Google synthesis latency, throughput at the concurrency
// limit, and the plan's metric: the user-visible error rate with Google failing 20% of calls
// (UNAVAILABLE) and hanging 5%, with the reliability layer and without it (one plain client call).
import { performance } from 'node:perf_hooks'
import { TextToSpeechClient } from '@google-cloud/text-to-speech'
import { status } from '@grpc/grpc-js'
import type { FastifyInstance } from 'fastify'
import { orchestratorPlugin } from '../plugins/orchestrator/index.js'
import { voicePlugin } from '../plugins/voice/index.js'
import { googleClientOptions } from '../plugins/voice/google-options.js'
import { startFakeGoogle, type Behaviour } from '../test/helpers/fake-google/index.js'
import { bearer, build } from '../test/helpers/build.js'
import { ManualFlags } from '../test/helpers/manual-flags.js'
import { printTable } from './table.js'

const N = Number(process.env.BENCH_VOICE_N ?? 1000)
const SAMPLES = Number(process.env.BENCH_VOICE_SAMPLES ?? 100)
const CONCURRENCY = Number(process.env.BENCH_VOICE_CONCURRENCY ?? 8)
/** The bench's deadline per Google attempt (production: 8 s): a hung call costs this much. */
const TIMEOUT_MS = Number(process.env.BENCH_VOICE_TIMEOUT_MS ?? 2500)
/** Requests in flight in the error-rate runs: below the limit, so the fake's CPU is not the bottleneck. */
const CHAOS_CONCURRENCY = Number(process.env.BENCH_VOICE_CHAOS_CONCURRENCY ?? 4)
const SENTENCE = 'The collective keeps its harmony while every agent reports on its status'
const teardowns: (() => unknown)[] = []
const scope = { teardown: (fn: () => unknown) => void teardowns.push(fn) }

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN
}
const ms = (v: number) => v.toFixed(v < 10 ? 2 : 0)

/** Wilson score interval of `failures` in `n`, 95%, in percent. */
function wilson(failures: number, n: number): string {
  const z = 1.96
  const p = failures / n
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n)
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n)
  return `${(Math.max(0, centre - half) * 100).toFixed(2)}-${((centre + half) * 100).toFixed(2)}%`
}

async function voiceApp(env: Record<string, string>): Promise<FastifyInstance> {
  const flags = new ManualFlags()
  flags.flip('helix.voice.google', true)
  return build(scope, { HELIX_VOICE_CONCURRENCY: String(CONCURRENCY), HELIX_VOICE_QUEUE: '100000', ...env }, { plugins: [orchestratorPlugin, voicePlugin], flags })
}

function synthesizer(app: FastifyInstance) {
  const headers = bearer(app, ['voice'])
  return async (text: string, encoding = 'LINEAR16') => {
    const res = await app.inject({ method: 'POST', url: '/api/voice/synthesize', headers, payload: { text, encoding } })
    return { status: res.statusCode, provider: String(res.headers['x-voice-provider']) }
  }
}

/** Runs `count` calls `concurrency` at a time; each call's latency in ms. */
async function pool(count: number, concurrency: number, call: (i: number) => Promise<unknown>): Promise<number[]> {
  const latencies: number[] = []
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++
      const started = performance.now()
      await call(i)
      latencies.push(performance.now() - started)
    }
  }))
  return latencies
}

async function main() {
  const fake = await startFakeGoogle()
  teardowns.push(() => fake.close())
  const rows: (string | number)[][] = []

  // Local provider: a cache hit, and synthesis of a 2-second sentence, each text new.
  const local = synthesizer(await voiceApp({ VOICE_PROVIDER: 'local' }))
  await local(SENTENCE, 'OGG_OPUS')
  const hits = await pool(SAMPLES * 10, 1, () => local(SENTENCE, 'OGG_OPUS'))
  rows.push([`cache hit, memory, Ogg/Opus (${SAMPLES * 10} sequential)`, ms(percentile(hits, 50)), ms(percentile(hits, 95)), ms(percentile(hits, 99)), 'p99 < 5 ms'])
  const localLatencies = await pool(SAMPLES, 1, (i) => local(`${SENTENCE} ${i}`))
  rows.push([`local synthesis, 2 s sentence (${SAMPLES} sequential)`, ms(percentile(localLatencies, 50)), ms(percentile(localLatencies, 95)), ms(percentile(localLatencies, 99)), 'p95 < 400 ms'])

  // The fake Google (it synthesizes with espeak-ng and ffmpeg too, on this machine).
  const google = synthesizer(await voiceApp({ GOOGLE_TTS_ENDPOINT: fake.endpoint, GOOGLE_SPEECH_ENDPOINT: fake.endpoint, HELIX_VOICE_TTS_TIMEOUT_MS: String(TIMEOUT_MS) }))
  const googleLatencies = await pool(SAMPLES, 1, (i) => google(`${SENTENCE} google ${i}`))
  rows.push([`fake-Google synthesis (${SAMPLES} sequential)`, ms(percentile(googleLatencies, 50)), ms(percentile(googleLatencies, 95)), ms(percentile(googleLatencies, 99)), ''])

  // Throughput with exactly the concurrency limit in flight.
  const started = performance.now()
  const burst = SAMPLES * 2
  const concurrent = await pool(burst, CONCURRENCY, (i) => local(`${SENTENCE} burst ${i}`))
  const seconds = (performance.now() - started) / 1000
  rows.push([`local synthesis, ${CONCURRENCY} concurrent (${burst})`, ms(percentile(concurrent, 50)), ms(percentile(concurrent, 95)), ms(percentile(concurrent, 99)), `${(burst / seconds).toFixed(1)} req/s`])
  printTable('Voice latency (ms)', ['measure', 'p50', 'p95', 'p99', 'target / throughput'], rows)

  // The plan's metric. Each call decides at random: 20% UNAVAILABLE, 5% hang, 75% answered.
  const chaos = (): Behaviour => {
    const r = Math.random()
    return r < 0.2 ? { code: status.UNAVAILABLE } : r < 0.25 ? 'hang' : 'ok'
  }
  fake.script('SynthesizeSpeech', chaos)
  const errorRows: (string | number)[][] = []
  const withLayer = synthesizer(await voiceApp({
    GOOGLE_TTS_ENDPOINT: fake.endpoint, GOOGLE_SPEECH_ENDPOINT: fake.endpoint, HELIX_VOICE_TTS_TIMEOUT_MS: String(TIMEOUT_MS)
  }))
  const served = { google: 0, local: 0 }
  let failed = 0
  const layered = await pool(N, CHAOS_CONCURRENCY, async (i) => {
    const res = await withLayer(`chaos with ${i}`)
    if (res.status !== 200) failed++
    else served[res.provider as 'google' | 'local']++
  })
  errorRows.push(['with the reliability layer', N, failed, `${((failed / N) * 100).toFixed(2)}%`, wilson(failed, N), ms(percentile(layered, 50)), ms(percentile(layered, 99)), `google ${served.google}, local ${served.local}`])

  const plain = new TextToSpeechClient(googleClientOptions({}, fake.endpoint))
  teardowns.push(() => plain.close())
  let plainFailed = 0
  const bare = await pool(N, CHAOS_CONCURRENCY, async (i) => {
    try {
      await plain.synthesizeSpeech({ input: { text: `chaos without ${i}` }, voice: { languageCode: 'en-US' }, audioConfig: { audioEncoding: 'LINEAR16' } }, { timeout: TIMEOUT_MS, retry: null })
    } catch {
      plainFailed++
    }
  })
  errorRows.push(['without it (one call, same deadline)', N, plainFailed, `${((plainFailed / N) * 100).toFixed(2)}%`, wilson(plainFailed, N), ms(percentile(bare, 50)), ms(percentile(bare, 99)), 'google only'])
  printTable(`User-visible errors, Google failing 20% UNAVAILABLE + 5% hanging (deadline ${TIMEOUT_MS} ms, ${CHAOS_CONCURRENCY} concurrent)`,
    ['', 'N', 'errors', 'rate', '95% interval', 'p50 ms', 'p99 ms', 'served by'], errorRows)
}

try {
  await main()
} finally {
  for (const fn of teardowns.reverse()) await fn()
}
