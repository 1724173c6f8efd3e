// GET /api/alerts: alerts raised and resolved by the orchestrator, newest first.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { AlertService } from '../alert-service.js'
import * as S from '../schemas.js'
import { errorResponses, scopes, tags } from './route-defaults.js'

export const alertRoutes: FastifyPluginAsyncTypebox<{ alerts: AlertService }> = async (app, { alerts }) => {
  const { read } = scopes(app.auth)

  app.get('/api/alerts', {
    ...read,
    schema: { tags, summary: 'Alerts, newest first', querystring: S.AlertQuery, response: { 200: S.Page(S.Alert), ...errorResponses } }
  }, async (request) => alerts.list({ ...request.query, limit: request.query.limit ?? 50 }))
}
