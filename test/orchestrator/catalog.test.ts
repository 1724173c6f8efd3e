// GET /api/commands/catalog: all nine commands of DESIGN section 9 with their argument schemas, which
// accept and reject exactly what the command endpoint does; the route beside /api/commands/:id, its
// scope, the seed agents' commands, and the catalog in the OpenAPI document.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { Value } from 'typebox/value'
import { orchestratorPlugin } from '../../plugins/orchestrator/index.js'
import { bearer, build } from '../helpers/build.js'

type Entry = { command: string; description: string; agents: string[] | null; args: Record<string, unknown> }

const BASE = ['MEMORY_APPEND', 'REFLECT', 'ARCHIVE', 'GENERATE', 'SYNC', 'STATUS']
const OWN: Record<string, string[]> = { HARMONY_PULSE: ['kael'], INSIGHT: ['claude'], EXECUTE_TASK: ['manus'] }

async function catalog(app: FastifyInstance): Promise<Entry[]> {
  const res = await app.inject({ url: '/api/commands/catalog', headers: bearer(app, ['agents:read']) })
  if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`)
  return res.json().items
}

t.test('the catalog lists the nine commands with a description, their agents and an args schema', async (t) => {
  const app = await build(t, {}, { plugins: [orchestratorPlugin] })
  const items = await catalog(app)
  t.same(items.map((e) => e.command), [...BASE, ...Object.keys(OWN)])
  for (const e of items) {
    t.ok(e.description.length > 10, `${e.command} is described`)
    t.same(e.agents, OWN[e.command] ?? null, `${e.command}: who takes it`)
    t.match(e.args, { type: 'object', additionalProperties: false }, `${e.command}: args is a JSON Schema object`)
  }
  t.same(items.find((e) => e.command === 'MEMORY_APPEND')!.args.required, ['content'])

  // The seed agents take exactly what the catalog gives them.
  const agents = (await app.inject({ url: '/api/agents?limit=200', headers: bearer(app, ['agents:read']) })).json().items as { slug: string; commands: string[] }[]
  for (const agent of agents) {
    const expected = items.filter((e) => e.agents === null || e.agents.includes(agent.slug)).map((e) => e.command)
    t.same(agent.commands, expected, `${agent.slug} takes the catalog's commands`)
  }
})

t.test('the catalog route sits beside /api/commands/:id and wants agents:read', async (t) => {
  const app = await build(t, {}, { plugins: [orchestratorPlugin] })
  const read = bearer(app, ['agents:read'])
  t.equal((await app.inject({ url: '/api/commands/catalog', headers: read })).json().items.length, 9, 'the literal route wins over :id')
  const missing = await app.inject({ url: '/api/commands/00000000-0000-4000-8000-000000000000', headers: read })
  t.equal(missing.statusCode, 404, 'a command id is still looked up')
  t.equal(missing.json().error, 'not_found')
  const sent = await app.inject({ method: 'POST', url: '/api/agents/vega/commands', payload: { command: 'STATUS' }, headers: bearer(app, ['agents:write']) })
  t.equal(sent.statusCode, 202)
  t.equal((await app.inject({ url: `/api/commands/${sent.json().id}`, headers: read })).json().id, sent.json().id)

  t.equal((await app.inject({ url: '/api/commands/catalog' })).statusCode, 401)
  const forbidden = await app.inject({ url: '/api/commands/catalog', headers: bearer(app, ['agents:write']) })
  t.equal(forbidden.statusCode, 403)
  t.equal(forbidden.json().error, 'forbidden')
})

t.test('each args schema accepts what POST /api/agents/:idOrSlug/commands accepts, and rejects what it rejects', async (t) => {
  const app = await build(t, {}, { plugins: [orchestratorPlugin] })
  const schemas = Object.fromEntries((await catalog(app)).map((e) => [e.command, e.args]))
  const cases: [agent: string, command: string, args: Record<string, unknown>][] = [
    ['vega', 'MEMORY_APPEND', { content: 'a note' }],
    ['vega', 'MEMORY_APPEND', { content: 'a note', kind: 'dream' }],
    ['vega', 'MEMORY_APPEND', {}],
    ['vega', 'MEMORY_APPEND', { content: '' }],
    ['vega', 'MEMORY_APPEND', { content: 'x', colour: 'red' }],
    ['vega', 'MEMORY_APPEND', { content: 'x', kind: 'Not A Kind' }],
    ['vega', 'REFLECT', {}],
    ['vega', 'REFLECT', { limit: 5 }],
    ['vega', 'REFLECT', { limit: 0 }],
    ['vega', 'REFLECT', { limit: 2.5 }],
    ['vega', 'ARCHIVE', { before: '2024-01-01T00:00:00Z' }],
    ['vega', 'ARCHIVE', { before: 'yesterday' }],
    ['vega', 'GENERATE', { prompt: 'the dawn' }],
    ['vega', 'GENERATE', { prompt: 'x'.repeat(2001) }],
    ['vega', 'SYNC', {}],
    ['vega', 'SYNC', { now: true }],
    ['vega', 'STATUS', {}],
    ['kael', 'HARMONY_PULSE', { amount: 0.1 }],
    ['kael', 'HARMONY_PULSE', { amount: 0 }],
    ['kael', 'HARMONY_PULSE', { amount: 5 }],
    ['claude', 'INSIGHT', { topic: 'cooperation' }],
    ['claude', 'INSIGHT', { topic: 7 }],
    ['manus', 'EXECUTE_TASK', { plan: [{ command: 'STATUS' }] }],
    ['manus', 'EXECUTE_TASK', { plan: [] }],
    ['manus', 'EXECUTE_TASK', { plan: [{ command: 'status' }] }],
    ['manus', 'EXECUTE_TASK', { plan: [{ command: 'STATUS', when: 'now' }] }]
  ]
  const write = bearer(app, ['agents:write'])
  let accepted = 0
  for (const [agent, command, args] of cases) {
    const res = await app.inject({ method: 'POST', url: `/api/agents/${agent}/commands`, payload: { command, args }, headers: write })
    const label = `${command} ${JSON.stringify(args).slice(0, 60)}`
    t.ok(res.statusCode === 202 || res.statusCode === 400, `${label}: ${res.statusCode}`)
    t.equal(Value.Check(schemas[command], args), res.statusCode === 202, `${label}: the catalog agrees with the endpoint`)
    if (res.statusCode === 202) accepted++
  }
  t.ok(accepted >= 10 && accepted <= cases.length - 10, 'both sides of every schema are exercised')
})

t.test('the catalog is in the OpenAPI document with every command and its args', async (t) => {
  const app = await build(t, {}, { plugins: [orchestratorPlugin] })
  const doc = (await app.inject({ url: '/docs/json' })).json()
  const op = doc.paths['/api/commands/catalog']?.get
  t.ok(op, 'GET /api/commands/catalog is documented')
  t.same(op.tags, ['orchestrator'])
  const ok = op.responses['200'].content['application/json']
  t.match(ok.schema, { type: 'object', properties: { items: { type: 'array', items: { properties: { command: {}, description: {}, agents: {}, args: {} } } } } })
  // The example is the catalog itself (its schemas in OpenAPI 3.0's dialect: no patternProperties).
  const items = await catalog(app)
  t.same(ok.example.items.map((e: Entry) => [e.command, e.description, e.agents]), items.map((e) => [e.command, e.description, e.agents]))
  for (const [i, e] of items.entries()) {
    const documented = ok.example.items[i].args
    t.same(Object.keys(documented.properties ?? {}), Object.keys((e.args.properties as object | undefined) ?? {}), `${e.command}: its args properties`)
    t.same(documented.required, e.args.required, `${e.command}: its required args`)
  }
  t.match(ok.example.items.find((e: Entry) => e.command === 'EXECUTE_TASK').args, { properties: { plan: { type: 'array', minItems: 1 } }, required: ['plan'] })
  t.ok(doc.paths['/api/commands/{id}']?.get, 'the command route is still documented beside it')
})
