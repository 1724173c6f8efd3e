// Agent profiles: idempotent seeding, CRUD with optimistic concurrency (`version`), cursor pages and
// filters, and the status summary. Every change is published on the `agents` channel (through the
// outbox, stored with the change).
import { randomUUID } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import type { Bus, BusEvent } from '../../core/bus/types.js'
import { errors } from '../../core/errors.js'
import { BASE_COMMANDS } from './command-catalog.js'
import { AGENT_EVENT, COMMAND_EVENT } from './command-dal.js'
import { Outbox, type OutboxEvent } from './outbox.js'
import { toAgent, toCommand, UUID_RE } from './rows.js'
import type { AgentSeed } from './seed-agents.js'
import type { Row, Sql } from './sql.js'
import type { Agent, AgentInput, AgentPatch, AgentQuery } from './types.js'

const DEFAULT_VOICE = { languageCode: 'en-US', name: 'en-US-Neural2-D' }

/** Every agent takes the base commands, whatever else an operator lists. */
const withBase = (commands: readonly string[] = []) => [...new Set([...BASE_COMMANDS, ...commands])]

/** How long a cached profile may serve the command path without news from the `agents` channel. */
const PROFILE_TTL_MS = 2000

const SLUG_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/

/** A page cursor is the last slug, base64url; anything that does not decode to a slug is a 400. */
function slugOfCursor(cursor: string): string {
  const slug = Buffer.from(cursor, 'base64url').toString()
  if (!SLUG_RE.test(slug)) throw errors.badRequest('The cursor is not valid')
  return slug
}

export class AgentService {
  /**
   * Profiles by id and by slug for the hot path (accepting a command): refreshed by every change
   * on the `agents` channel from any replica, and at most PROFILE_TTL_MS old should the channel be
   * cut. Only the profile is read from it (id, name, the commands it takes); status comes from the row.
   */
  private readonly profiles = new LRUCache<string, Agent>({ max: 2000, ttl: PROFILE_TTL_MS })

  constructor(
    private readonly sql: Sql,
    private readonly bus: Bus,
    private readonly outbox = new Outbox(sql, bus)
  ) {}

  /** Keeps the profile cache current; call once, with stopFollowing() at close. */
  async followChanges(): Promise<void> {
    await this.bus.subscribe('agents', this.onChange)
  }

  async stopFollowing(): Promise<void> {
    await this.bus.unsubscribe('agents', this.onChange)
  }

  private readonly onChange = (event: BusEvent) => {
    const agent = event.data as Agent
    if (event.type === 'agent.deleted') return this.forget(agent)
    // Events from replicas may arrive out of order: never step back to an older profile version.
    const cached = this.profiles.get(agent.id)
    if (cached && agent.version >= cached.version) return this.remember(agent)
    // A slug taken by a new agent (deleted and created again) must not lead to the old one.
    const bySlug = this.profiles.get(agent.slug)
    if (bySlug && bySlug.id !== agent.id) this.forget(bySlug)
  }

  private remember(agent: Agent): void {
    this.profiles.set(agent.id, agent)
    this.profiles.set(agent.slug, agent)
  }

  /** Drops a profile found to be stale (its agent is gone). */
  forget(agent: Pick<Agent, 'id' | 'slug'>): void {
    this.profiles.delete(agent.id)
    this.profiles.delete(agent.slug)
  }

  /** An agent's profile for accepting a command: from the cache when fresh, else as get(). */
  async profile(idOrSlug: string): Promise<Agent> {
    const key = UUID_RE.test(idOrSlug) ? idOrSlug.toLowerCase() : idOrSlug
    const cached = this.profiles.get(key)
    if (cached) return cached
    const agent = await this.get(key)
    this.remember(agent)
    return agent
  }

  /** Inserts the seed agents whose slugs are missing; existing rows (and their edits) are untouched. */
  async seed(seeds: readonly AgentSeed[]): Promise<Agent[]> {
    const created: Row[] = []
    for (const seed of seeds) {
      const row = await this.insert(seed)
      if (row) created.push(row)
    }
    const agents = created.map(toAgent)
    this.outbox.publish(agents.map((agent) => ({ channel: 'agents', type: 'agent.created', data: agent })), created.map((r) => Number(r.outbox_id)))
    return agents
  }

  async create(input: AgentInput): Promise<Agent> {
    const row = await this.insert(input)
    if (!row) throw errors.conflict(`An agent with slug "${input.slug}" already exists`, { slug: input.slug })
    const agent = toAgent(row)
    this.outbox.publish([{ channel: 'agents', type: 'agent.created', data: agent }], [Number(row.outbox_id)])
    return agent
  }

  /** The new agent's row (with its event's outbox id), or null when the slug is taken. */
  private async insert(input: AgentInput): Promise<Row | null> {
    const now = Date.now()
    const [row] = await this.outbox.rowsWithEvents(
      `INSERT INTO orchestrator_agents (id, slug, name, emoji, tier, role, capabilities, commands, personality, voice, status, version, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12)
       ON CONFLICT (slug) DO NOTHING RETURNING *`,
      [
        randomUUID(), input.slug, input.name, input.emoji ?? '🤖', input.tier, input.role,
        this.sql.json(input.capabilities ?? []), this.sql.json(withBase(input.commands)),
        this.sql.json(input.personality ?? {}), this.sql.json(input.voice ?? DEFAULT_VOICE), input.status ?? 'idle', now
      ],
      { channel: 'agents', type: 'agent.created' }
    )
    return row ?? null
  }

  async row(idOrSlug: string): Promise<Row | null> {
    const column = UUID_RE.test(idOrSlug) ? 'id' : 'slug'
    return this.sql.one(`SELECT * FROM orchestrator_agents WHERE ${column} = $1`, [column === 'id' ? idOrSlug.toLowerCase() : idOrSlug])
  }

  async get(idOrSlug: string): Promise<Agent> {
    const row = await this.row(idOrSlug)
    if (!row) throw errors.notFound(`Agent "${idOrSlug}"`)
    return toAgent(row)
  }

  async list(query: AgentQuery): Promise<{ items: Agent[]; nextCursor: string | null }> {
    const where: string[] = []
    const bind: unknown[] = []
    const add = (clause: (n: string) => string, value: unknown) => {
      bind.push(value)
      where.push(clause(`$${bind.length}`))
    }
    if (query.status) add((n) => `status = ${n}`, query.status)
    if (query.tier) add((n) => `tier = ${n}`, query.tier)
    if (query.capability) {
      if (this.sql.postgres) add((n) => `capabilities @> ${n}::jsonb`, JSON.stringify([query.capability]))
      else add((n) => `EXISTS (SELECT 1 FROM json_each(capabilities) WHERE value = ${n})`, query.capability)
    }
    if (query.cursor) add((n) => `slug > ${n}`, slugOfCursor(query.cursor))
    bind.push(query.limit + 1)
    const rows = await this.sql.rows(
      `SELECT * FROM orchestrator_agents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY slug LIMIT $${bind.length}`,
      bind
    )
    const items = rows.slice(0, query.limit).map(toAgent)
    const more = rows.length > query.limit
    return { items, nextCursor: more ? Buffer.from(items.at(-1)!.slug).toString('base64url') : null }
  }

  /** Updates the profile; with `expectedVersion` (If-Match) a stale version is a 412. */
  async patch(idOrSlug: string, patch: AgentPatch, expectedVersion: number | null): Promise<Agent> {
    const current = await this.get(idOrSlug)
    const sets: string[] = []
    const bind: unknown[] = [current.id]
    const set = (column: string, value: unknown) => {
      bind.push(value)
      sets.push(`${column} = $${bind.length}`)
    }
    if (patch.name !== undefined) set('name', patch.name)
    if (patch.emoji !== undefined) set('emoji', patch.emoji)
    if (patch.tier !== undefined) set('tier', patch.tier)
    if (patch.role !== undefined) set('role', patch.role)
    if (patch.capabilities !== undefined) set('capabilities', this.sql.json(patch.capabilities))
    if (patch.commands !== undefined) set('commands', this.sql.json(withBase(patch.commands)))
    if (patch.personality !== undefined) set('personality', this.sql.json(patch.personality))
    if (patch.voice !== undefined) set('voice', this.sql.json(patch.voice))
    if (patch.status !== undefined) set('status', patch.status)
    if (patch.statusReason !== undefined) set('status_reason', patch.statusReason)
    // The body schema drops unknown fields (Fastify's default), so a patch of only those changes nothing.
    if (sets.length === 0) throw errors.validation('The patch changes no field of an agent (the slug cannot be changed)')
    set('updated_at', Date.now())
    let guard = ''
    if (expectedVersion !== null) {
      bind.push(expectedVersion)
      guard = ` AND version = $${bind.length}`
    }
    const [row] = await this.outbox.rowsWithEvents(
      `UPDATE orchestrator_agents SET ${sets.join(', ')}, version = version + 1 WHERE id = $1${guard} RETURNING *`,
      bind,
      AGENT_EVENT
    )
    if (!row) {
      const latest = await this.get(current.id)
      throw errors.preconditionFailed(`Agent "${idOrSlug}" is at version ${latest.version}, not ${expectedVersion}`, { version: latest.version })
    }
    const agent = toAgent(row)
    this.remember(agent)
    this.outbox.publish([{ ...AGENT_EVENT, data: agent }], [Number(row.outbox_id)])
    return agent
  }

  /** Deletes an idle agent: its queued commands are cancelled; a running command makes it a 409. */
  async delete(idOrSlug: string): Promise<void> {
    const current = await this.get(idOrSlug)
    const now = Date.now()
    const changed = await this.sql.transaction(async (tx) => {
      // The row lock keeps claimers (FOR UPDATE SKIP LOCKED) off this agent until it is gone.
      const lock = this.sql.postgres ? ' FOR UPDATE' : ''
      const row = await this.sql.one(`SELECT running_command_id FROM orchestrator_agents WHERE id = $1${lock}`, [current.id], tx)
      if (!row) throw errors.notFound(`Agent "${idOrSlug}"`)
      if (row.running_command_id) {
        throw errors.conflict(`Agent "${idOrSlug}" is running a command; cancel it or wait for it to finish`, { commandId: row.running_command_id })
      }
      const cancelled = await this.outbox.rowsWithEvents(
        `UPDATE orchestrator_commands SET status = 'cancelled', error = 'agent deleted', finished_at = $2
         WHERE agent_id = $1 AND status = 'queued' RETURNING *`,
        [current.id, now],
        COMMAND_EVENT,
        { tx }
      )
      await this.sql.run('DELETE FROM orchestrator_memories WHERE agent_id = $1', [current.id], tx)
      const deleted = await this.outbox.rowsWithEvents('DELETE FROM orchestrator_agents WHERE id = $1 RETURNING id, slug', [current.id], { channel: 'agents', type: 'agent.deleted' }, { tx })
      return { cancelled, deleted }
    })
    this.forget(current)
    const events: OutboxEvent[] = [
      ...changed.cancelled.map((row) => ({ ...COMMAND_EVENT, data: toCommand(row) })),
      { channel: 'agents', type: 'agent.deleted', data: { id: current.id, slug: current.slug } }
    ]
    this.outbox.publish(events, [...changed.cancelled, ...changed.deleted].map((row) => Number(row.outbox_id)))
  }

  async summary(): Promise<{
    total: number
    byStatus: Record<string, number>
    byTier: Record<string, number>
    commands: { queued: number; running: number }
  }> {
    const [statuses, tiers, commands] = await Promise.all([
      this.sql.rows('SELECT status AS k, COUNT(*) AS n FROM orchestrator_agents GROUP BY status'),
      this.sql.rows('SELECT tier AS k, COUNT(*) AS n FROM orchestrator_agents GROUP BY tier'),
      this.sql.rows(`SELECT status AS k, COUNT(*) AS n FROM orchestrator_commands WHERE status IN ('queued', 'running') GROUP BY status`)
    ])
    const tally = (rows: Row[]) => Object.fromEntries(rows.map((r) => [r.k as string, Number(r.n)]))
    const byStatus = tally(statuses)
    const byCommand = tally(commands)
    return {
      total: Object.values(byStatus).reduce((a, b) => a + b, 0),
      byStatus,
      byTier: tally(tiers),
      commands: { queued: byCommand.queued ?? 0, running: byCommand.running ?? 0 }
    }
  }
}
