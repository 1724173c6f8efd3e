// Rows of the orchestrator's tables as their API shapes (types.ts): times from epoch ms to ISO
// strings, JSON columns parsed; and the id format rows are looked up by.
import type { Row } from './sql.js'
import type { Agent, AgentStatus, Alert, Command, CommandStatus, Ritual, Tier } from './types.js'

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const iso = (v: unknown): string => new Date(Number(v)).toISOString()
const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : iso(v))

/** PostgreSQL hands back JSONB as objects, SQLite as text. */
export function parseJson<T>(v: unknown): T {
  return (typeof v === 'string' ? JSON.parse(v) : v) as T
}

export function toAgent(r: Row): Agent {
  return {
    id: r.id as string,
    slug: r.slug as string,
    name: r.name as string,
    emoji: r.emoji as string,
    tier: r.tier as Tier,
    role: r.role as string,
    capabilities: parseJson(r.capabilities),
    commands: parseJson(r.commands),
    personality: parseJson(r.personality),
    voice: parseJson(r.voice),
    status: r.status as AgentStatus,
    statusReason: (r.status_reason as string | null) ?? null,
    lastSeenAt: isoOrNull(r.last_seen_at),
    version: Number(r.version),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at)
  }
}

export function toCommand(r: Row): Command {
  return {
    id: r.id as string,
    agentId: r.agent_id as string,
    command: r.command as string,
    args: parseJson(r.args),
    status: r.status as CommandStatus,
    result: r.result === null || r.result === undefined ? null : parseJson(r.result),
    error: (r.error as string | null) ?? null,
    createdAt: iso(r.created_at),
    startedAt: isoOrNull(r.started_at),
    finishedAt: isoOrNull(r.finished_at),
    requestedBy: (r.requested_by as string | null | undefined) ?? null
  }
}

export function toRitual(r: Row): Ritual {
  return {
    id: r.id as string,
    name: r.name as string,
    steps: Number(r.steps),
    seed: Number(r.seed),
    status: r.status as Ritual['status'],
    progress: Number(r.progress),
    deltas: r.deltas === null ? null : parseJson(r.deltas),
    ucf: r.ucf === null ? null : parseJson(r.ucf),
    error: (r.error as string | null) ?? null,
    createdAt: iso(r.created_at),
    startedAt: isoOrNull(r.started_at),
    finishedAt: isoOrNull(r.finished_at),
    requestedBy: (r.requested_by as string | null | undefined) ?? null
  }
}

export function toAlert(r: Row): Alert {
  return {
    id: r.id as string,
    key: r.key as string,
    kind: r.kind as string,
    severity: r.severity as Alert['severity'],
    state: r.state as Alert['state'],
    message: r.message as string,
    data: parseJson(r.data),
    raisedAt: iso(r.raised_at),
    resolvedAt: isoOrNull(r.resolved_at)
  }
}
