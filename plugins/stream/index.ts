// The stream plugin (DESIGN section 8): authenticated WebSocket fan-out of bus events with history
// recovery. It only transports: producers publish through the kernel's bus.
import { definePlugin, type PluginDescriptor } from '../../core/plugin.js'
import { streamRoutes } from './routes.js'
import { streamSettings } from './settings.js'
import { defaultStreamOptions, StreamService, type StreamOptions } from './stream-service.js'

export function createStreamPlugin(overrides: Partial<StreamOptions> = {}): PluginDescriptor {
  return definePlugin({
    name: 'stream',
    title: 'Streaming (`plugins/stream`)',
    roles: ['stream'],
    ownershipFlag: 'helix.stream.dedicated',
    websocketPath: '/ws',
    settings: streamSettings,
    create(kernel, _app, settings) {
      const service = new StreamService(kernel, {
        ...defaultStreamOptions,
        maxBuffer: settings.HELIX_WS_MAX_BUFFER,
        connectRate: settings.HELIX_WS_CONNECT_RATE,
        ...overrides
      })
      const { publicUrls } = kernel.config
      const stopWatching = kernel.gate.onChange((change) => {
        if (change.plugin !== 'stream') return
        if (change.owned) {
          service.resume()
          return
        }
        const owner = change.owner === 'dedicated' ? (publicUrls.stream ?? null) : (publicUrls.all ?? null)
        kernel.log.info({ owner }, 'stream ownership moved: closing sockets with 1012')
        // A close reason holds 123 bytes; past that the client finds the owner through discovery.
        const reason = JSON.stringify({ reconnect: owner })
        service.moveAway(Buffer.byteLength(reason) <= 123 ? reason : '{"reconnect":null}')
      })
      return {
        routes: streamRoutes(kernel, service),
        close() {
          stopWatching()
          service.close()
        }
      }
    }
  })
}

export const streamPlugin = createStreamPlugin()
