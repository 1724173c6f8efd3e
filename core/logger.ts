// pino options: JSON in production, pretty on a terminal; tokens never reach a log line.
import os from 'node:os'
import { trace } from '@opentelemetry/api'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../config/index.js'

const TOKEN_IN_URL = /([?&](?:token|access_token)=)[^&]*/gi

export function redactUrl(url: string): string {
  return url.replace(TOKEN_IN_URL, '$1[redacted]')
}

/** With tracing on, the active span's ids on every line; pino merges into the object, so a fresh one each time. */
function traceIds(): Record<string, string> {
  const span = trace.getActiveSpan()
  if (span === undefined) return {}
  const { traceId, spanId } = span.spanContext()
  return { trace_id: traceId, span_id: spanId }
}

/** `traceIds` adds the pino mixin above; without it (tracing off) lines cost nothing more. */
export function loggerOptions(config: Config, options: { traceIds?: boolean } = {}) {
  return {
    level: config.logLevel,
    ...(options.traceIds ? { mixin: traceIds } : {}),
    redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'],
    // The role on every line tells the services apart when their logs are merged.
    base: { pid: process.pid, hostname: os.hostname(), role: config.roles.join(',') },
    serializers: {
      req: (request: FastifyRequest) => ({ method: request.method, url: redactUrl(request.url), remoteAddress: request.ip }),
      // The "request completed" line: the route pattern (never ids from the URL) beside the status.
      res: (reply: FastifyReply) => ({ statusCode: reply.statusCode, method: reply.request?.method, route: reply.request?.routeOptions.url ?? 'unmatched' })
    },
    ...(process.stdout.isTTY && config.nodeEnv !== 'test'
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } }
      : {})
  }
}
