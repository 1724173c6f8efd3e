// The orchestrator benchmarks' load: STATUS commands to each of the 14 seed agents in turn, with an
// HS256 token for the servers' secret, minted here so the benches need no app of their own.
import { createHmac } from 'node:crypto'

export const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef'
const AGENTS = ['kael', 'lumina', 'vega', 'gemini', 'agni', 'kavach', 'sanghacore', 'shadow', 'echo', 'phoenix', 'oracle', 'claude', 'manus', 'discordbridge']

function token(): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const body = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc({ sub: 'bench', scope: 'agents:read agents:write', exp: Math.floor(Date.now() / 1000) + 3600 })}`
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`
}

/** autocannon's requests: one POST per agent, cycled. */
export function requests() {
  const authorization = `Bearer ${token()}`
  return AGENTS.map((agent) => ({
    method: 'POST' as const,
    path: `/api/agents/${agent}/commands`,
    headers: { authorization, 'content-type': 'application/json' },
    body: JSON.stringify({ command: 'STATUS' })
  }))
}
