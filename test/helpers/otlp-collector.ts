// A minimal OpenTelemetry collector on loopback: receives OTLP/JSON (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`)
// on POST /v1/traces and keeps the spans, flattened, for assertions; the tracing tests and the
// observability benchmark export to it.
import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'

export interface CollectedSpan {
  traceId: string
  spanId: string
  parentSpanId: string | undefined
  name: string
  /** OTLP span kind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number
  /** The exporting process's `service.name`. */
  service: string
  attributes: Record<string, unknown>
}

export interface OtlpCollector {
  /** The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string
  /** Every span received so far (empty when started with keepSpans: false). */
  spans: CollectedSpan[]
  /** Spans received so far, kept or not. */
  spanCount(): number
  /** Export requests received so far, on any path. */
  requestCount(): number
  close(): Promise<void>
}

interface AnyValue { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number }
interface KeyValue { key: string; value?: AnyValue }
interface ExportTraceRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] }
    scopeSpans?: { spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes?: KeyValue[] }[] }[]
  }[]
}

function attributesOf(list: KeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const { key, value } of list ?? []) out[key] = value?.stringValue ?? value?.intValue ?? value?.boolValue ?? value?.doubleValue
  return out
}

async function bodyOf(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  const body = Buffer.concat(chunks)
  return request.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body
}

function flatten(payload: ExportTraceRequest): CollectedSpan[] {
  const spans: CollectedSpan[] = []
  for (const resourceSpans of payload.resourceSpans ?? []) {
    const service = String(attributesOf(resourceSpans.resource?.attributes)['service.name'] ?? '')
    for (const scope of resourceSpans.scopeSpans ?? []) {
      for (const s of scope.spans ?? []) {
        spans.push({ traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined, name: s.name, kind: s.kind, service, attributes: attributesOf(s.attributes) })
      }
    }
  }
  return spans
}

export async function startOtlpCollector(options: { keepSpans?: boolean; port?: number } = {}): Promise<OtlpCollector> {
  const spans: CollectedSpan[] = []
  let received = 0
  let requests = 0
  const server = createServer((request, response) => {
    requests++
    bodyOf(request).then((body) => {
      if (request.url === '/v1/traces' && request.headers['content-type']?.includes('json')) {
        const batch = flatten(JSON.parse(body.toString('utf8')) as ExportTraceRequest)
        received += batch.length
        if (options.keepSpans !== false) spans.push(...batch)
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    }, () => response.writeHead(400).end())
  })
  server.listen(options.port ?? 0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    spanCount: () => received,
    requestCount: () => requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}
