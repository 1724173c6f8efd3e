// The dashboard plugin: serves the live page (plugins/dashboard/web, bundled into public/ by
// build.mjs) at `/`. Loaded by role `all` only; it talks to the other plugins from the browser.
import { definePlugin } from '../../core/plugin.js'
import { dashboardRoutes } from './routes.js'

export default definePlugin({
  name: 'dashboard',
  roles: [],
  ownershipFlag: null,
  create: (kernel) => ({ routes: dashboardRoutes(kernel.log) })
})
