// Agent profiles: idempotent seeding, CRUD with optimistic concurrency (`version`), cursor pages and
// filters, and the status summary. Every change is published on the `agents` channel.
import { randomUUID } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import type { Bus, BusEvent } from '../../core/bus/types.js'
import { errors } from '../../core/errors.js'
import { toAgent, toCommand, UUID_RE, type Agent, type AgentStatus, type Row, type Sql, type Tier } from './models.js'
import { BASE_COMMANDS, type AgentSeed } from './seed-agents.js'

export interface AgentInput {
  slug: string
  name: string
  emoji?: string
  tier: Tier
  role: string
  capabilities?: string[]
  commands?: string[]
  personality?: Record<string, number>
  voice?: { languageCode: string; name: string }
  status?: AgentStatus
}

export type AgentPatch = Partial<Omit<AgentInput, 'slug'>> & { statusReason?: string | null }

export interface AgentQuery {
  status?: AgentStatus
  tier?: Tier
  capability?: string
  cursor?: string
  limit: number
}

const DEFAULT_VOICE = { languageCode: 'en-US', name: 'en-US-Neural2-D' }

/** Every agent takes the base commands, whatever else an operator lists. */
const withBase = (commands: readonly string[] = []) => [...new Set([...BASE_COMMANDS, ...commands])]

/** How long a cached profile may serve the command path without news from the `agents` channel. */
const PROFILE_TTL_MS = 2000

export class AgentService {
  /**
   * Profiles by id and by slug for the hot path (accepting a command): refreshed by every change
   * on the `agents` channel from any replica, and at most PROFILE_TTL_MS old should the channel be
   * cut. Only the profile is read from it (id, name, the commands it takes); status comes from the row.
   */
  private readonly profiles = new LRUCache<string, Agent>({ max: 2000, ttl: PROFILE_TTL_MS })

  constructor(
    private readonly sql: Sql,
    private readonly bus: Bus
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
    const created: Agent[] = []
    for (const seed of seeds) {
      const row = await this.insert(seed)
      if (row) created.push(row)
    }
    for (const agent of created) await this.bus.publish('agents', 'agent.created', agent)
    return created
  }

  async create(input: AgentInput): Promise<Agent> {
    const agent = await this.insert(input)
    if (!agent) throw errors.conflict(`An agent with slug "${input.slug}" already exists`, { slug: input.slug })
    await this.bus.publish('agents', 'agent.created', agent)
    return agent
  }

  private async insert(input: AgentInput): Promise<Agent | null> {
    const now = Date.now()
    const row = await this.sql.one(
      `INSERT INTO orchestrator_agents (id, slug, name, emoji, tier, role, capabilities, commands, personality, voice, status, version, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12)
       ON CONFLICT (slug) DO NOTHING RETURNING *`,
      [
        randomUUID(), input.slug, input.name, input.emoji ?? '🤖', input.tier, input.role,
        this.sql.json(input.capabilities ?? []), this.sql.json(withBase(input.commands)),
        this.sql.json(input.personality ?? {}), this.sql.json(input.voice ?? DEFAULT_VOICE), input.status ?? 'idle', now
      ]
    )
    return row ? toAgent(row) : null
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
    if (query.cursor) add((n) => `slug > ${n}`, Buffer.from(query.cursor, 'base64url').toString())
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
    const row = await this.sql.one(
      `UPDATE orchestrator_agents SET ${sets.join(', ')}, version = version + 1 WHERE id = $1${guard} RETURNING *`,
      bind
    )
    if (!row) {
      const latest = await this.get(current.id)
      throw errors.preconditionFailed(`Agent "${idOrSlug}" is at version ${latest.version}, not ${expectedVersion}`, { version: latest.version })
    }
    const agent = toAgent(row)
    this.remember(agent)
    await this.bus.publish('agents', 'agent.updated', agent)
    return agent
  }

  /** Deletes an idle agent: its queued commands are cancelled; a running command makes it a 409. */
  async delete(idOrSlug: string): Promise<void> {
    const current = await this.get(idOrSlug)
    const now = Date.now()
    const cancelled = await this.sql.transaction(async (tx) => {
      // The row lock keeps claimers (FOR UPDATE SKIP LOCKED) off this agent until it is gone.
      const lock = this.sql.postgres ? ' FOR UPDATE' : ''
      const row = await this.sql.one(`SELECT running_command_id FROM orchestrator_agents WHERE id = $1${lock}`, [current.id], tx)
      if (!row) throw errors.notFound(`Agent "${idOrSlug}"`)
      if (row.running_command_id) {
        throw errors.conflict(`Agent "${idOrSlug}" is running a command; cancel it or wait for it to finish`, { commandId: row.running_command_id })
      }
      const rows = await this.sql.rows(
        `UPDATE orchestrator_commands SET status = 'cancelled', error = 'agent deleted', finished_at = $2
         WHERE agent_id = $1 AND status = 'queued' RETURNING *`,
        [current.id, now],
        tx
      )
      await this.sql.run('DELETE FROM orchestrator_memories WHERE agent_id = $1', [current.id], tx)
      await this.sql.run('DELETE FROM orchestrator_agents WHERE id = $1', [current.id], tx)
      return rows
    })
    this.forget(current)
    for (const row of cancelled) await this.bus.publish('commands', 'command.updated', toCommand(row))
    await this.bus.publish('agents', 'agent.deleted', { id: current.id, slug: current.slug })
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
