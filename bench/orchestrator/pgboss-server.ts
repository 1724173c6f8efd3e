// The reference of the orchestrator benchmark: agent commands as a team without Helix would build
// them. Fastify 5 with @fastify/jwt (HS256, the same secret and scope), a route that stores a pg-boss 12
// job and answers 202, and a pg-boss worker (LISTEN/NOTIFY, batches of 32, 4 local fetchers) that runs
// the STATUS work: read the UCF row and report it. No per-agent order, no lifecycle events.
import fastifyJwt from '@fastify/jwt'
import Fastify from 'fastify'
import pg from 'pg'
import { PgBoss, type Job, type JobResult } from 'pg-boss'

const QUEUE = 'agent-commands'
const AGENTS = ['kael', 'lumina', 'vega', 'gemini', 'agni', 'kavach', 'sanghacore', 'shadow', 'echo', 'phoenix', 'oracle', 'claude', 'manus', 'discordbridge']
const COMMANDS = ['MEMORY_APPEND', 'REFLECT', 'ARCHIVE', 'GENERATE', 'SYNC', 'STATUS']

interface CommandJob {
  agentId: string
  command: string
  args: Record<string, unknown>
  requestedBy: string
}

const databaseUrl = process.env.DATABASE_URL!
const port = Number(process.env.PORT)

/** The team's own tables: agents (looked up by slug, cached) and the one UCF row. */
async function prepareSchema(): Promise<Map<string, string>> {
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  try {
    // Two replicas booting together: one creates, the other waits for it.
    await db.query('SELECT pg_advisory_lock(4242)')
    await db.query(`CREATE TABLE IF NOT EXISTS agents (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), slug text UNIQUE NOT NULL)`)
    await db.query(`CREATE TABLE IF NOT EXISTS ucf (id int PRIMARY KEY, harmony float8 NOT NULL, resilience float8 NOT NULL, prana float8 NOT NULL,
      drishti float8 NOT NULL, klesha float8 NOT NULL, zoom float8 NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`)
    await db.query(`INSERT INTO ucf VALUES (1, 0.355, 1.1191, 0.5175, 0.5023, 0.01, 1.0228) ON CONFLICT DO NOTHING`)
    await db.query(`INSERT INTO agents (slug) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`, [AGENTS])
    const { rows } = await db.query<{ id: string; slug: string }>('SELECT id, slug FROM agents')
    await db.query('SELECT pg_advisory_unlock(4242)')
    return new Map(rows.map((r) => [r.slug, r.id]))
  } finally {
    await db.end()
  }
}

const agents = await prepareSchema()
const boss = new PgBoss({ connectionString: databaseUrl, useListenNotify: true })
boss.on('error', (err) => console.error('pg-boss:', err.message))
await boss.start()
await boss.createQueue(QUEUE, { notify: true }).catch(() => undefined)

const ucfPool = new pg.Pool({ connectionString: databaseUrl, max: 4 })

/** The STATUS work: the UCF state with its phase and consciousness level. */
async function status(job: Job<CommandJob>): Promise<JobResult> {
  const { rows: [m] } = await ucfPool.query('SELECT * FROM ucf WHERE id = 1')
  const level = ((1.5 * m.harmony + m.resilience + 1.2 * m.prana + 1.2 * m.drishti + 1.5 * (1 - m.klesha) + m.zoom) / 7.4) * 10
  const phase = m.harmony < 0.3 ? 'CRITICAL' : m.harmony < 0.45 ? 'UNSTABLE' : m.harmony < 0.6 ? 'COHERENT' : m.harmony < 0.8 ? 'HARMONIOUS' : 'TRANSCENDENT'
  return { id: job.id, status: 'completed', output: { agentId: job.data.agentId, ucf: { phase, consciousnessLevel: Math.round(level * 100) / 100, harmony: m.harmony } } }
}

await boss.work<CommandJob>(QUEUE, { batchSize: 32, localConcurrency: 4, burstWhenBatchFull: true, perJobResults: true }, (jobs) => Promise.all(jobs.map(status)))

const app = Fastify({ logger: false })
await app.register(fastifyJwt, { secret: process.env.HELIX_JWT_SECRET!, verify: { algorithms: ['HS256'] } })

app.post<{ Params: { slug: string }; Body: { command: string; args?: Record<string, unknown>; timeoutMs?: number } }>('/api/agents/:slug/commands', {
  onRequest: async (request, reply) => {
    try {
      const claims = await request.jwtVerify<{ sub: string; scope?: string }>()
      if (!(claims.scope ?? '').split(' ').includes('agents:write')) return reply.code(403).send({ error: 'forbidden' })
    } catch {
      return reply.code(401).send({ error: 'unauthorized' })
    }
  },
  schema: {
    params: { type: 'object', properties: { slug: { type: 'string', maxLength: 64 } }, required: ['slug'] },
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['command'],
      properties: { command: { type: 'string', enum: COMMANDS }, args: { type: 'object' }, timeoutMs: { type: 'integer', minimum: 1, maximum: 600000 } }
    }
  }
}, async (request, reply) => {
  const agentId = agents.get(request.params.slug)
  if (!agentId) return reply.code(404).send({ error: 'not_found' })
  const data: CommandJob = { agentId, command: request.body.command, args: request.body.args ?? {}, requestedBy: (request.user as { sub: string }).sub }
  const id = await boss.send(QUEUE, data, { expireInSeconds: Math.ceil((request.body.timeoutMs ?? 30000) / 1000) })
  return reply.code(202).send({ id, ...data, status: 'queued', createdAt: new Date().toISOString() })
})

app.get('/health/ready', async () => ({ ok: true }))

await app.listen({ port, host: '127.0.0.1' })

process.on('SIGTERM', () => {
  void app.close().then(() => boss.stop({ graceful: true })).then(() => ucfPool.end()).finally(() => process.exit(0))
})
