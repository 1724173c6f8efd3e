// A local OTLP/JSON collector process for bench:observability: prints its URL, counts spans, and
// answers a `count` message with how many it received.
import { startOtlpCollector } from '../../test/helpers/otlp-collector.js'

const collector = await startOtlpCollector({ keepSpans: false })
process.send?.({ url: collector.url })
process.on('message', (message) => {
  if (message === 'count') process.send?.({ spans: collector.spanCount() })
})
process.on('disconnect', () => void collector.close().then(() => process.exit(0)))
