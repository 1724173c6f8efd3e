// Liveness and readiness. Ready means: bus connected, database answering, flags known, and every
// owned plugin ready; the body says which part is not.
import { Type } from 'typebox'
import type { FastifyInstance } from 'fastify'
import type { Kernel } from './plugin.js'
import type { LoadedPlugin, OwnershipGate } from './ownership.js'

const Check = Type.Union([Type.Literal('ok'), Type.Literal('unavailable')])
const ReadyBody = Type.Object({
  status: Check,
  checks: Type.Object({ bus: Check, database: Check, flags: Check, plugins: Type.Record(Type.String(), Check) })
})

const withTimeout = <T>(promise: Promise<T>, ms: number, fallback: T) =>
  Promise.race([promise, new Promise<T>((resolve) => setTimeout(resolve, ms, fallback).unref())])

export async function healthRoutes(app: FastifyInstance, opts: { kernel: Kernel; plugins: readonly LoadedPlugin[]; gate: OwnershipGate }) {
  const { kernel, plugins, gate } = opts
  const state = (ok: boolean) => (ok ? 'ok' : 'unavailable') as 'ok' | 'unavailable'

  app.get('/health/live', {
    logLevel: 'warn',
    schema: { tags: ['operations'], summary: 'The process is running', response: { 200: Type.Object({ status: Type.Literal('ok') }) } }
  }, async () => ({ status: 'ok' as const }))

  app.get('/health/ready', {
    logLevel: 'warn',
    schema: { tags: ['operations'], summary: 'Ready to serve traffic', response: { 200: ReadyBody, 503: ReadyBody } }
  }, async (_request, reply) => {
    const [database, ...pluginStates] = await Promise.all([
      withTimeout(kernel.db.isReady(), 1000, false),
      ...plugins.map(async ({ descriptor, instance }) =>
        !gate.owns(descriptor) || !instance.isReady ? true : withTimeout(Promise.resolve(instance.isReady()), 1000, false))
    ])
    const checks = {
      bus: state(kernel.bus.isReady()),
      database: state(database),
      flags: state(kernel.flags.isReady()),
      plugins: Object.fromEntries(plugins.map(({ descriptor }, i) => [descriptor.name, state(pluginStates[i])]))
    }
    const ok = checks.bus === 'ok' && checks.database === 'ok' && checks.flags === 'ok' && pluginStates.every(Boolean)
    return reply.code(ok ? 200 : 503).send({ status: state(ok), checks })
  })
}
