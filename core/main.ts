// The process entry (`node dist/core/main.js`): Helix with every plugin of the manifest.
import { manifest } from '../plugins/index.js'
import { start } from './server.js'

await start(manifest)
