// pino options: JSON in production, pretty on a terminal; tokens never reach a log line.
import type { FastifyRequest } from 'fastify'
import type { Config } from '../config/index.js'

const TOKEN_IN_URL = /([?&](?:token|access_token)=)[^&]*/gi

export function redactUrl(url: string): string {
  return url.replace(TOKEN_IN_URL, '$1[redacted]')
}

export function loggerOptions(config: Config) {
  return {
    level: config.logLevel,
    redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'],
    serializers: {
      req: (request: FastifyRequest) => ({ method: request.method, url: redactUrl(request.url), remoteAddress: request.ip })
    },
    ...(process.stdout.isTTY && config.nodeEnv !== 'test'
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } }
      : {})
  }
}
