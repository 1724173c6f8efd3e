// OpenTelemetry across real processes: a command accepted by the monolith, proxied to a dedicated
// orchestrator, run there and announced as `command.updated` is one trace, exported over OTLP/JSON to
// a collector in this test; log lines inside it carry its trace_id. With no OTLP endpoint nothing starts.
import { randomBytes } from 'node:crypto'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { RedisBus } from '../../core/bus/redis-bus.js'
import type { BusEvent } from '../../core/bus/types.js'
import { createRedisFactory } from '../../core/redis.js'
import { build, tempDir, tokenFor } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { freePort } from '../helpers/net.js'
import { startOtlpCollector, type CollectedSpan } from '../helpers/otlp-collector.js'
import { startHelix, type HelixProcess } from '../helpers/process.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

/** Where an OTLP/HTTP exporter sends by default. */
const DEFAULT_OTLP_PORT = 4318
const SERVER = 2
const CLIENT = 3

const minter = await build(t)
const token = tokenFor(minter, ['agents:read', 'agents:write'])

/** Envelopes of `commands`, as any subscriber on the deployment's Redis sees them. */
async function watchCommands(t: Test, prefix: string): Promise<BusEvent[]> {
  const log = pino({ level: 'silent' })
  const bus = new RedisBus({ redis: createRedisFactory(sharedRedisUrl, log), prefix, historyLen: 100, source: 'test', log })
  t.teardown(() => bus.close())
  const events: BusEvent[] = []
  await bus.subscribe('commands', (event) => events.push(event))
  return events
}

async function sendStatus(t: Test, mono: HelixProcess, agent: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${mono.url}/api/agents/${agent}/commands`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ command: 'STATUS' })
  })
  t.equal(res.status, 202, 'the monolith answers 202')
  return ((await res.json()) as { id: string }).id
}

const traceIdOf = (traceparent: string | undefined) => traceparent?.split('-')[1]
const spanIdOf = (traceparent: string | undefined) => traceparent?.split('-')[2]

t.test('one trace: monolith accept, proxy hop, dedicated orchestrator run, command.updated', async (t) => {
  const collector = await startOtlpCollector()
  t.teardown(() => collector.close())
  const prefix = redisPrefix(t)
  const databaseUrl = await createTestDatabase(t, 'tracing')
  const [monoPort, orchPort] = [await freePort(), await freePort()]
  const orchUrl = `http://127.0.0.1:${orchPort}`
  const shared = {
    REDIS_URL: sharedRedisUrl,
    HELIX_REDIS_PREFIX: prefix,
    DATABASE_URL: databaseUrl,
    HELIX_FLAG_HELIX_ORCHESTRATOR_DEDICATED: 'on',
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    // Export within a tenth of a second, so the test waits on spans, not on the default 5 s batch.
    OTEL_BSP_SCHEDULE_DELAY: '100'
  }
  const events = await watchCommands(t, prefix)
  const orch = await startHelix(t, { env: { ...shared, PORT: String(orchPort), HELIX_ROLE: 'orchestrator' } })
  const mono = await startHelix(t, { env: { ...shared, PORT: String(monoPort), HELIX_ROLE: 'all', HELIX_SERVICE_URLS: `orchestrator=${orchUrl}` } })
  await waitFor(async () => {
    const discovery = (await (await fetch(`${mono.url}/.well-known/helix.json`)).json()) as { plugins: { orchestrator?: { owner: string } } }
    return discovery.plugins.orchestrator?.owner === 'dedicated'
  }, 'the monolith to hand the orchestrator to its dedicated service')

  /** The spans of one trace, once its last expected span has arrived. */
  async function traceOf(traceId: string, complete: (spans: CollectedSpan[]) => boolean): Promise<CollectedSpan[]> {
    return waitFor(() => {
      const spans = collector.spans.filter((s) => s.traceId === traceId)
      return complete(spans) ? spans : null
    }, `the spans of trace ${traceId}`, 20_000)
  }

  /** Checks the chain and returns the trace id. */
  async function checkChain(t: Test, commandId: string): Promise<string> {
    const final = await waitFor(() => events.find((e) => (e.data as { id: string; status: string }).id === commandId && (e.data as { status: string }).status === 'succeeded'), 'the command to succeed')
    t.match(final.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, 'command.updated carries a traceparent')
    const traceId = traceIdOf(final.traceparent)!
    // Each process exports on its own schedule: wait for every span the chain names, not only the last.
    const spans = await traceOf(traceId, (s) => s.some((x) => x.name === 'command.execute') && s.some((x) => x.service === 'helix-orchestrator' && x.kind === SERVER) &&
      s.some((x) => x.service === 'helix-all' && x.kind === SERVER) && s.some((x) => x.service === 'helix-all' && x.kind === CLIENT))

    const monoServer = spans.find((s) => s.service === 'helix-all' && s.kind === SERVER)
    const proxyHop = spans.find((s) => s.service === 'helix-all' && s.kind === CLIENT && String(s.attributes['url.full'] ?? '').startsWith(orchUrl))
    const orchServer = spans.find((s) => s.service === 'helix-orchestrator' && s.kind === SERVER)
    const execute = spans.find((s) => s.name === 'command.execute')
    t.ok(monoServer, 'the monolith accepted the request in this trace')
    t.ok(proxyHop, 'the proxy hop to the orchestrator is a client span of this trace')
    t.equal(proxyHop?.parentSpanId !== undefined && spans.some((s) => s.spanId === proxyHop.parentSpanId && s.service === 'helix-all'), true, 'the hop is a child of the monolith request')
    t.equal(orchServer?.parentSpanId, proxyHop?.spanId, 'the dedicated orchestrator continues the hop')
    t.equal(execute?.service, 'helix-orchestrator', 'the command ran in the dedicated orchestrator')
    t.equal(execute?.attributes['helix.command.id'] ?? commandId, commandId)
    t.ok(spans.some((s) => s.spanId === spanIdOf(final.traceparent)), 'command.updated was published inside a span of this trace')
    t.ok(spans.some((s) => s.name.startsWith('pg') || s.attributes['db.system'] === 'postgresql' || s.attributes['db.system.name'] === 'postgresql'), 'PostgreSQL queries are spans of the trace')
    return traceId
  }

  t.test('a request without trace context starts the trace at the monolith', async (t) => {
    const traceId = await checkChain(t, await sendStatus(t, mono, 'kael'))
    const spans = collector.spans.filter((s) => s.traceId === traceId)
    t.equal(spans.find((s) => s.service === 'helix-all' && s.kind === SERVER)?.parentSpanId, undefined, 'the monolith request is the root')
    await waitFor(() => orch.output().includes(`"trace_id":"${traceId}"`), 'an orchestrator log line with the trace id')
    t.match(mono.output(), `"trace_id":"${traceId}"`, 'the monolith logs it too')
    t.notMatch(orch.output() + mono.output(), 'tracing is on without', 'started as the image starts them: no context-frame warning')
  })

  t.test("a caller's traceparent is continued through the proxy, not duplicated", async (t) => {
    const callerTrace = randomBytes(16).toString('hex')
    const callerSpan = randomBytes(8).toString('hex')
    const id = await sendStatus(t, mono, 'lumina', { traceparent: `00-${callerTrace}-${callerSpan}-01` })
    t.equal(await checkChain(t, id), callerTrace, 'the whole chain is in the caller\'s trace')
    const monoServer = collector.spans.find((s) => s.traceId === callerTrace && s.service === 'helix-all' && s.kind === SERVER)
    t.equal(monoServer?.parentSpanId, callerSpan, 'the monolith request is a child of the caller')
  })
})

t.test('without OTEL_EXPORTER_OTLP_ENDPOINT nothing starts: no exporter traffic, no trace ids', async (t) => {
  const { startTelemetry } = await import('../../core/telemetry/index.js')
  t.equal(await startTelemetry({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'x' }), null, 'startTelemetry declines')
  t.equal(minter.helix.kernel.trace.enabled, false, 'the kernel has the no-op tracing')

  // Every other OTEL_ variable is set, and a collector listens where an SDK started with defaults
  // would export (localhost:4318) when that port is free: only the endpoint is missing.
  const collector = await startOtlpCollector({ port: DEFAULT_OTLP_PORT }).catch(() => null)
  if (collector) t.teardown(() => collector.close())
  else t.comment(`port ${DEFAULT_OTLP_PORT} is in use: exporter traffic is not watched`)
  const helix = await startHelix(t, {
    env: {
      HELIX_DATA_DIR: tempDir(t),
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_SERVICE_NAME: 'helix-off',
      // A started SDK would say so on stderr.
      OTEL_LOG_LEVEL: 'debug'
    }
  })
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${helix.url}/api/agents`, { headers: { authorization: `Bearer ${token}`, traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01` } })
    t.equal(res.status, 200)
  }
  const exit = await helix.kill('SIGTERM')
  t.equal(exit.code, 0, 'a clean exit')
  t.match(helix.output(), '"msg":"request completed"', 'requests were logged')
  t.notMatch(helix.output(), 'trace_id', 'no log line carries a trace id')
  t.notMatch(helix.output(), /opentelemetry|OTEL_|@opentelemetry/i, 'no OpenTelemetry diagnostics: the SDK never started')
  if (collector) t.equal(collector.requestCount(), 0, 'nothing was exported')
})

t.test('the async context frame: on with the flag on Node 22, on by default from Node 24', async (t) => {
  const { contextFrameActive, CONTEXT_FRAME_FLAG } = await import('../../core/telemetry/index.js')
  t.equal(contextFrameActive([], {}, '22.23.3'), false, 'Node 22 without the flag')
  t.equal(contextFrameActive([CONTEXT_FRAME_FLAG], {}, '22.23.3'), true, 'Node 22 with the flag')
  t.equal(contextFrameActive([], { NODE_OPTIONS: `--max-old-space-size=512 ${CONTEXT_FRAME_FLAG}` }, '22.23.3'), true, 'Node 22 with the flag in NODE_OPTIONS')
  t.equal(contextFrameActive([], {}, '24.1.0'), true, 'Node 24 by default')
  t.equal(contextFrameActive(['--no-async-context-frame'], {}, '24.1.0'), false, 'Node 24 turned off')
})
