// Builds the envelope's JSON once, in a fixed field order, from already-serialised data.
import { randomBytes } from 'node:crypto'

export function newEpoch(): string {
  return randomBytes(6).toString('base64url')
}

export function envelopeJson(channel: string, id: string, epoch: string, type: string, ts: number, source: string, dataJson: string): string {
  return `{"channel":${JSON.stringify(channel)},"id":"${id}","epoch":"${epoch}","type":${JSON.stringify(type)},"ts":${ts},"source":${JSON.stringify(source)},"data":${dataJson}}`
}
