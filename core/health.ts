// Liveness and readiness. Ready means: bus connected, database answering, flags known, and every
// owned plugin ready; the body says which part is not.
import { Type } from 'typebox'
import type { FastifyInstance } from 'fastify'
import type { Kernel } from './plugin.js'
import type { LoadedPlugin, OwnershipGate } from './ownership/index.js'

const Check = Type.Union([Type.Literal('ok'), Type.Literal('unavailable')])
const ReadyBody = Type.Object({
  status: Check,
  checks: Type.Object({ bus: Check, database: Check, flags: Check, plugins: Type.Record(Type.String(), Check) })
})
/** A 503 from before the handler (under-pressure on a starved event loop) has the error handler's shape. */
const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() }, { additionalProperties: true })

/** Each check answers within a second: a part that hangs or throws reads as unavailable, never as a 500 or a hang. */
const CHECK_TIMEOUT_MS = 1000

async function check(probe: () => boolean | Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, CHECK_TIMEOUT_MS, false)))
  try {
    return await Promise.race([Promise.resolve().then(probe), late])
  } catch {
    return false
  } finally {
    clearTimeout(timer)
  }
}

export async function healthRoutes(app: FastifyInstance, opts: { kernel: Kernel; plugins: readonly LoadedPlugin[]; gate: OwnershipGate }) {
  const { kernel, plugins, gate } = opts
  const state = (ok: boolean) => (ok ? 'ok' : 'unavailable') as 'ok' | 'unavailable'

  app.get('/health/live', {
    logLevel: 'warn',
    schema: { tags: ['operations'], summary: 'The process is running', response: { 200: Type.Object({ status: Type.Literal('ok') }) } }
  }, async () => ({ status: 'ok' as const }))

  app.get('/health/ready', {
    logLevel: 'warn',
    schema: { tags: ['operations'], summary: 'Ready to serve traffic', response: { 200: ReadyBody, 503: Type.Union([ReadyBody, ErrorBody]) } }
  }, async (_request, reply) => {
    const [bus, database, flags, ...pluginStates] = await Promise.all([
      check(() => kernel.bus.isReady()),
      check(() => kernel.db.isReady()),
      check(() => kernel.flags.isReady()),
      ...plugins.map(({ descriptor, instance }) => check(() => !gate.owns(descriptor) || !instance.isReady || instance.isReady()))
    ])
    const checks = {
      bus: state(bus),
      database: state(database),
      flags: state(flags),
      plugins: Object.fromEntries(plugins.map(({ descriptor }, i) => [descriptor.name, state(pluginStates[i]!)]))
    }
    const ok = bus && database && flags && pluginStates.every(Boolean)
    return reply.code(ok ? 200 : 503).send({ status: state(ok), checks })
  })
}
