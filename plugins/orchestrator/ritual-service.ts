// Rituals: named adjustments and the seeded Z-88 ritual. A run is a stored job claimed by the owner's
// worker (never run in the request); its deltas land in the UCF in the same transaction that
// completes it, so a run re-queued after a crash changes the field once. Leases and timestamps use
// the database's clock, as the command queue's do, so replicas whose clocks disagree share the work.
import { randomInt, randomUUID } from 'node:crypto'
import type { Bus } from '../../core/bus/types.js'
import { errors } from '../../core/errors.js'
import { Outbox } from './outbox.js'
import { toRitual } from './rows.js'
import type { Row, Sql } from './sql.js'
import type { Ritual, RitualInput, RitualName } from './types.js'
import { METRICS, type Deltas, type UcfService } from './ucf-service.js'

export const NAMED_RITUALS: Record<Exclude<RitualName, 'z88'>, Deltas> = {
  legend: { harmony: 0.1, drishti: 0.05 },
  hymn: { harmony: 0.2, prana: 0.1 },
  law: { resilience: 0.3, klesha: 0.2 },
  neti_neti: { harmony: 0.4, klesha: -0.15, drishti: 0.2 },
  tat_tvam_asi: { harmony: 0.3, prana: 0.15 },
  aham_brahmasmi: { resilience: 0.25, zoom: 0.1 }
}
export const Z88_DEFAULT_STEPS = 108

/** mulberry32: a small seeded PRNG, so a Z-88 run with a seed is reproducible anywhere. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Per-step drift of each metric: centred a little positive for harmony, negative for klesha. */
const Z88_BIAS: Record<(typeof METRICS)[number], [number, number]> = {
  harmony: [0.45, 0.004],
  resilience: [0.4, 0.003],
  prana: [0.45, 0.003],
  drishti: [0.45, 0.003],
  klesha: [0.55, 0.002],
  zoom: [0.5, 0.002]
}

const round6 = (v: number) => Math.round(v * 1e6) / 1e6

/** The deltas of Z-88 step by step; the same seed always yields the same sequence. */
export function* z88Steps(steps: number, seed: number): Generator<Deltas> {
  const next = prng(seed)
  for (let i = 0; i < steps; i++) {
    const d: Deltas = {}
    for (const k of METRICS) {
      const [centre, scale] = Z88_BIAS[k]
      d[k] = round6((next() - centre) * scale)
    }
    yield d
  }
}

export function addDeltas(a: Deltas, b: Deltas): Deltas {
  const sum: Deltas = { ...a }
  for (const k of METRICS) if (b[k] !== undefined) sum[k] = round6((sum[k] ?? 0) + b[k]!)
  return sum
}

export class RitualService {
  constructor(
    private readonly sql: Sql,
    private readonly bus: Bus,
    private readonly ucf: UcfService,
    private readonly outbox = new Outbox(sql, bus)
  ) {}

  async start(input: RitualInput, requestedBy: string | null = null): Promise<Ritual> {
    const z88 = input.name === 'z88'
    const steps = z88 ? (input.steps ?? Z88_DEFAULT_STEPS) : 1
    const seed = input.seed ?? (z88 ? randomInt(0, 2 ** 31 - 1) : 0)
    const row = await this.sql.one(
      `INSERT INTO orchestrator_rituals (id, name, steps, seed, status, progress, requested_by, created_at) VALUES ($1, $2, $3, $4, 'queued', 0, $5, ${this.sql.now}) RETURNING *`,
      [randomUUID(), input.name, steps, seed, requestedBy]
    )
    return toRitual(row!)
  }

  async get(id: string): Promise<Ritual> {
    const row = /^[0-9a-f-]{36}$/i.test(id) ? await this.sql.one('SELECT * FROM orchestrator_rituals WHERE id = $1', [id.toLowerCase()]) : null
    if (!row) throw errors.notFound(`Ritual "${id}"`)
    return toRitual(row)
  }

  /** Claims queued runs for `owner` (SKIP LOCKED on PostgreSQL so replicas never share one). */
  async claim(owner: string, limit: number, leaseMs: number): Promise<Row[]> {
    const now = this.sql.now
    const skip = this.sql.postgres ? ' FOR UPDATE SKIP LOCKED' : ''
    return this.sql.rows(
      `UPDATE orchestrator_rituals SET status = 'running', lease_owner = $1, lease_until = ${now} + $2, started_at = ${now}, progress = 0
       WHERE id IN (SELECT id FROM orchestrator_rituals WHERE status = 'queued' ORDER BY created_at LIMIT $3${skip}) RETURNING *`,
      [owner, leaseMs, limit]
    )
  }

  /** Runs a claimed ritual: progress events along the way, then one atomic UCF change that completes it. */
  async run(row: Row, owner: string, signal: AbortSignal): Promise<void> {
    const ritual = toRitual(row)
    let total: Deltas = {}
    if (ritual.name === 'z88') {
      const every = Math.max(1, Math.floor(ritual.steps / 12))
      let step = 0
      for (const d of z88Steps(ritual.steps, ritual.seed)) {
        total = addDeltas(total, d)
        step++
        if (step % every === 0 || step === ritual.steps) {
          await this.progress({ id: ritual.id, name: ritual.name, step, steps: ritual.steps, deltas: total })
          // Yield between chunks so a long ritual never holds the event loop.
          await new Promise((resolve) => setImmediate(resolve))
          if (signal.aborted) return
        }
      }
    } else {
      total = { ...NAMED_RITUALS[ritual.name as keyof typeof NAMED_RITUALS] }
      await this.progress({ id: ritual.id, name: ritual.name, step: 1, steps: 1, deltas: total })
    }
    let completed: Row | undefined
    // Completing the run and its `ritual.completed` event commit with the UCF change.
    const change = await this.ucf.apply(total, `ritual:${ritual.name}`, ritual.id, async (tx, after) => {
      ;[completed] = await this.outbox.rowsWithEvents(
        `UPDATE orchestrator_rituals SET status = 'completed', progress = steps, deltas = $2, ucf = $3, error = NULL, finished_at = ${this.sql.now}, lease_owner = NULL, lease_until = NULL
         WHERE id = $1 AND status = 'running' AND lease_owner = $4 RETURNING *`,
        [ritual.id, this.sql.json(total), this.sql.json(after), owner],
        { channel: 'rituals', type: 'ritual.completed' },
        { tx }
      )
      if (!completed) throw new LostLease()
    }).catch((err) => {
      if (err instanceof LostLease) return null
      throw err
    })
    if (!change || !completed) return
    const done: Row = completed
    this.outbox.publish([{ channel: 'rituals', type: 'ritual.completed', data: toRitual(done) }], [Number(done.outbox_id)])
  }

  /**
   * Publishes a progress event. A bus that is down fails the run's attempt, which RitualWorker tries
   * again with backoff; a run is deterministic and lands its change once, so it simply starts over.
   */
  private async progress(data: { id: string; name: string; step: number; steps: number; deltas: Deltas }): Promise<void> {
    await this.bus.publish('rituals', 'ritual.progress', data)
  }

  /** Shows why a running run is waiting (a dependency was down and it will be retried). */
  async note(id: string, owner: string, message: string): Promise<void> {
    await this.sql.run(`UPDATE orchestrator_rituals SET error = $3 WHERE id = $1 AND lease_owner = $2 AND status = 'running'`, [id, owner, message])
  }

  async fail(id: string, owner: string, error: string): Promise<void> {
    await this.sql.run(
      `UPDATE orchestrator_rituals SET status = 'failed', error = $3, finished_at = ${this.sql.now}, lease_owner = NULL WHERE id = $1 AND lease_owner = $2 AND status = 'running'`,
      [id, owner, error.slice(0, 2000)]
    )
  }

  async renew(owner: string, leaseMs: number): Promise<void> {
    await this.sql.run(`UPDATE orchestrator_rituals SET lease_until = ${this.sql.now} + $2 WHERE lease_owner = $1 AND status = 'running'`, [owner, leaseMs])
  }

  /** Re-queues runs whose worker died; they start over, and their UCF change still lands once. */
  async reap(): Promise<void> {
    await this.sql.run(
      `UPDATE orchestrator_rituals SET status = 'queued', lease_owner = NULL, lease_until = NULL, progress = 0 WHERE status = 'running' AND lease_until < ${this.sql.now}`
    )
  }
}

class LostLease extends Error {}
