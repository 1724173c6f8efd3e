// Builds the envelope's JSON once, in a fixed field order, from already-serialised data.
import { randomBytes } from 'node:crypto'

const processTag = randomBytes(6).toString('base64url')
let epochs = 0

/** A fresh epoch candidate: unique per call and per process, without a random draw on the hot path. */
export function newEpoch(): string {
  return `${processTag}${(epochs++).toString(36)}`
}

/** `traceparent` is ours (hex and dashes, from the active span), so it needs no escaping. */
export function envelopeJson(channel: string, id: string, epoch: string, type: string, ts: number, source: string, dataJson: string, traceparent?: string): string {
  const trace = traceparent === undefined ? '' : `,"traceparent":"${traceparent}"`
  return `{"channel":${JSON.stringify(channel)},"id":"${id}","epoch":"${epoch}","type":${JSON.stringify(type)},"ts":${ts},"source":${JSON.stringify(source)}${trace},"data":${dataJson}}`
}

/** An internal channel's message: no id or epoch, as it has no history. */
export function internalJson(channel: string, type: string, ts: number, source: string, dataJson: string): string {
  return `{"channel":${JSON.stringify(channel)},"type":${JSON.stringify(type)},"ts":${ts},"source":${JSON.stringify(source)},"data":${dataJson}}`
}
