// GET /.well-known/helix.json: for each loaded plugin, who owns it now and the URL clients use.
import { Type } from 'typebox'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config/index.js'
import type { LoadedPlugin, OwnershipGate } from './ownership/index.js'
import { version } from './version.js'

const PluginInfo = Type.Object({
  owner: Type.Union([Type.Literal('all'), Type.Literal('dedicated')]),
  url: Type.Union([Type.String(), Type.Null()]),
  ws: Type.Optional(Type.Union([Type.String(), Type.Null()]))
})

export const Discovery = Type.Object({
  name: Type.Literal('helix'),
  version: Type.String(),
  role: Type.String(),
  plugins: Type.Record(Type.String(), PluginInfo)
})

export async function discoveryRoutes(app: FastifyInstance, opts: { config: Config; plugins: readonly LoadedPlugin[]; gate: OwnershipGate }) {
  const { config, plugins, gate } = opts

  app.get('/.well-known/helix.json', {
    schema: { tags: ['operations'], summary: 'Which service owns each plugin, and its URLs', response: { 200: Discovery } }
  }, async () => ({
    name: 'helix' as const,
    version,
    role: config.roles.join(','),
    plugins: Object.fromEntries(plugins.map(({ descriptor }) => {
      const url = gate.publicUrlOf(descriptor)
      const info: { owner: 'all' | 'dedicated'; url: string | null; ws?: string | null } = { owner: gate.ownerOf(descriptor), url }
      if (descriptor.websocketPath) info.ws = url ? url.replace(/^http/, 'ws') + descriptor.websocketPath : null
      return [descriptor.name, info]
    }))
  }))
}
