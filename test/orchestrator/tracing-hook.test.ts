// The orchestrator's tracing hook (kernel.trace): a command keeps the traceparent active when it was
// accepted, and its execution runs in a `command.execute` span continuing that trace; with tracing
// off nothing is stored. On PostgreSQL and on the embedded SQLite. The Tracing given here is a small
// recording implementation of the kernel's interface (the OpenTelemetry one is tested in observability).
import { AsyncLocalStorage } from 'node:async_hooks'
import { randomBytes } from 'node:crypto'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { QueryTypes } from 'sequelize'
import type { Tracing, Within } from '../../core/trace.js'
import { orchestratorPlugin } from '../../plugins/orchestrator/index.js'
import { bearer, build } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

type T = { teardown(fn: () => unknown): void }

interface SpanRecord {
  name: string
  parent: string | undefined
  attributes: Record<string, string | number | boolean> | undefined
  /** What traceparent() answered inside the span. */
  inside: string | undefined
}

const traceparentOf = (traceId: string) => `00-${traceId}-${randomBytes(8).toString('hex')}-01`

/** Traceparents carried in async context, as OpenTelemetry's context manager carries spans. */
class RecordingTracing implements Tracing {
  readonly enabled = true
  readonly spans: SpanRecord[] = []
  private readonly active = new AsyncLocalStorage<string>()

  traceparent(): string | undefined {
    return this.active.getStore()
  }

  /** Runs `fn` as a request inside the trace `traceparent`. */
  within<R>(traceparent: string, fn: () => Promise<R>): Promise<R> {
    return this.active.run(traceparent, fn)
  }

  bind(): Within {
    const store = this.active.getStore()
    return (fn) => (store === undefined ? this.active.exit(fn) : this.active.run(store, fn))
  }

  readonly detached: Within = (fn) => this.active.exit(fn)

  run<R>(name: string, parent: string | undefined, fn: () => Promise<R>, attributes?: Record<string, string | number | boolean>): Promise<R> {
    const traceId = parent?.split('-')[1] ?? randomBytes(16).toString('hex')
    return this.active.run(traceparentOf(traceId), () => {
      this.spans.push({ name, parent, attributes, inside: this.traceparent() })
      return fn()
    })
  }
}

async function storedTraceparent(app: FastifyInstance, id: string): Promise<string | null> {
  const rows = await app.helix.kernel.db.sequelize.query<{ traceparent: string | null }>('SELECT traceparent FROM orchestrator_commands WHERE id = :id', { replacements: { id }, type: QueryTypes.SELECT })
  return rows[0]!.traceparent
}

async function runStatus(app: FastifyInstance, agent: string): Promise<string> {
  const headers = bearer(app, ['agents:read', 'agents:write'])
  // A loaded machine may trip the event-loop guard (503, Retry-After): a client retries that.
  const post = () => app.inject({ method: 'POST', url: `/api/agents/${agent}/commands`, payload: { command: 'STATUS' }, headers })
  const res = await waitFor(async () => {
    const attempt = await post()
    return attempt.statusCode === 503 ? null : attempt
  }, 'the command to be answered other than 503')
  if (res.statusCode !== 202) throw new Error(`${res.statusCode} ${res.body}`)
  const id = (res.json() as { id: string }).id
  await waitFor(async () => (await app.inject({ url: `/api/commands/${id}`, headers })).json().status === 'succeeded', `command ${id} to succeed`)
  return id
}

const databases: [string, (t: T) => Promise<Record<string, string>>][] = [
  ['PostgreSQL', async (t) => ({ REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), DATABASE_URL: await createTestDatabase(t, 'orch_trace') })],
  ['SQLite', async () => ({})]
]

for (const [name, env] of databases) {
  t.test(`${name}: a command carries its accepting trace into its execution`, async (t) => {
    const trace = new RecordingTracing()
    const app = await build(t, await env(t), { plugins: [orchestratorPlugin], trace })

    const request = traceparentOf(randomBytes(16).toString('hex'))
    const traced = await trace.within(request, () => runStatus(app, 'vega'))
    t.equal(await storedTraceparent(app, traced), request, 'the accepting traceparent is stored with the command')
    const span = trace.spans.find((s) => s.attributes?.['command.id'] === traced)
    t.match(span, { name: 'command.execute', parent: request, attributes: { command: 'STATUS', agent: 'vega' } })
    t.equal(span!.inside!.split('-')[1], request.split('-')[1], 'the execution continues the same trace')

    const untraced = await runStatus(app, 'vega')
    t.equal(await storedTraceparent(app, untraced), null, 'no active span: NULL')
    t.match(trace.spans.find((s) => s.attributes?.['command.id'] === untraced), { name: 'command.execute', parent: undefined })
  })

  t.test(`${name}: with tracing off nothing is stored`, async (t) => {
    const app = await build(t, await env(t), { plugins: [orchestratorPlugin] })
    t.equal(app.helix.kernel.trace.enabled, false)
    t.equal(await storedTraceparent(app, await runStatus(app, 'oracle')), null)
  })
}
