// `npm run bench:bot`: the Discord bot against the fake Discord on loopback (the real discord.js
// client, the embedded Helix with the orchestrator): interactions per second to a deferred reply,
// INTERACTION_CREATE -> first REST call latency, play latency to Idle against the audio's length, and
// heap growth over 200 play cycles.
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { loadConfig } from '../config/index.js'
import { buildApp } from '../core/app.js'
import { createBotPlugin } from '../plugins/bot/index.js'
import { registerCommands } from '../plugins/bot/registration.js'
import { GuildPlayers } from '../plugins/bot/voice/guild-players.js'
import { createOrchestratorPlugin } from '../plugins/orchestrator/index.js'
import { speak, toOggOpus48k, wavFile } from '../test/helpers/audio.js'
import { startFakeDiscord, type SentInteraction } from '../test/helpers/fake-discord/index.js'
import { printTable } from './table.js'

const LATENCY_SAMPLES = 300
const THROUGHPUT_INTERACTIONS = 600
const IN_FLIGHT = 64
const PLAYS = 10
const CYCLES = 200

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN
}
const fixed = (v: number, digits = 1) => v.toFixed(digits)
const gc = (globalThis as { gc?: () => void }).gc

/** The first REST call the bot made for an interaction (its deferral), minus the dispatch time. */
async function firstAnswerMs(sent: SentInteraction): Promise<number> {
  const call = await sent.response(30_000)
  return call.at - sent.sentAt
}

async function interactions(): Promise<string[][]> {
  const fake = await startFakeDiscord({ ackDeadlineMs: 60_000 })
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'helix-bench-bot-'))
  const plugins = [createOrchestratorPlugin(), createBotPlugin()]
  const config = loadConfig({
    NODE_ENV: 'production', LOG_LEVEL: 'warn', HELIX_JWT_SECRET: 'bench-secret-0123456789abcdef0123456789abcdef', HELIX_DATA_DIR: dataDir,
    DISCORD_TOKEN: fake.token, DISCORD_API_URL: fake.restUrl, DISCORD_TELEMETRY_MINUTES: '0'
  }, plugins)
  const app = await buildApp(config, { plugins })
  try {
    await app.ready()
    await fake.waitForSession((s) => s.status === 'open', 30_000)
    await registerCommands({ token: fake.token, apiUrl: fake.restUrl, guildId: fake.guild.id })
    // Warm up: JIT, caches, the first in-process calls.
    await Promise.all(Array.from({ length: 50 }, () => fake.sendInteraction({ command: 'status' }).edit(undefined, 30_000)))

    const latencies: number[] = []
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const sent = fake.sendInteraction({ command: 'status' })
      latencies.push(await firstAnswerMs(sent))
      await sent.edit(undefined, 30_000)
    }

    const started = performance.now()
    let next = 0
    const edits: Promise<unknown>[] = []
    const worker = async () => {
      while (next < THROUGHPUT_INTERACTIONS) {
        next++
        const sent = fake.sendInteraction({ command: 'agents' })
        edits.push(sent.edit(undefined, 600_000))
        await sent.response(60_000)
      }
    }
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
    const seconds = (performance.now() - started) / 1000
    // Not timed: every handler finishes its edit before the app closes.
    await Promise.all(edits)
    return [
      ['interactions to a deferred reply', `${fixed(THROUGHPUT_INTERACTIONS / seconds, 0)} /s`, `${IN_FLIGHT} in flight, /agents`],
      ['INTERACTION_CREATE -> first REST call p50', `${fixed(percentile(latencies, 50))} ms`, `${LATENCY_SAMPLES} sequential /status`],
      ['INTERACTION_CREATE -> first REST call p99', `${fixed(percentile(latencies, 99))} ms`, 'target < 100 ms']
    ]
  } finally {
    await app.close()
    await fake.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

/** Opus packets in an Ogg stream (20 ms each here), counted from the pages' lacing values, headers excluded. */
function opusPackets(ogg: Buffer): number {
  let packets = 0
  for (let at = 0; at + 27 <= ogg.length;) {
    const segments = ogg[at + 26]
    let body = at + 27 + segments
    for (let i = 0; i < segments; i++) {
      const size = ogg[at + 27 + i]
      body += size
      if (size < 255) packets++
    }
    at = body
  }
  return packets - 2
}

async function playback(): Promise<string[][]> {
  const players = new GuildPlayers()
  const speech = await toOggOpus48k(await speak('The collective is harmonious and every agent is ready'), { stereo: true })
  await players.play('warm', speech)
  const packets = opusPackets(speech)
  const overruns: number[] = []
  for (let i = 0; i < PLAYS; i++) {
    const started = performance.now()
    await players.play('g', speech)
    overruns.push(performance.now() - started - packets * 20)
  }

  const blip = await toOggOpus48k(wavFile(Buffer.alloc(48_000 * 2 * 0.04), 48_000), { stereo: true })
  for (let i = 0; i < 20; i++) await players.play('cycles', blip)
  gc?.()
  gc?.()
  const before = process.memoryUsage().heapUsed
  for (let i = 0; i < CYCLES; i++) await players.play('cycles', blip)
  gc?.()
  const growth = (process.memoryUsage().heapUsed - before) / 1024 / 1024
  players.destroyAll()
  return [
    ['play latency to Idle beyond the audio p50', `${fixed(percentile(overruns, 50))} ms`, `${PLAYS} plays of ${fixed(packets * 20 / 1000, 2)} s of speech`],
    ['play latency to Idle beyond the audio max', `${fixed(Math.max(...overruns))} ms`, 'target within 300 ms'],
    ['heap growth after 200 play cycles', `${fixed(growth, 2)} MB`, gc ? 'after gc; target < 10 MB' : 'no --expose-gc: an upper bound']
  ]
}

// Playback first: its heap figure must not include the garbage the interaction run leaves.
const played = await playback()
const rows = [...(await interactions()), ...played]
printTable(`Discord bot (fake Discord on loopback, ${os.cpus().length} CPUs, Node ${process.versions.node})`, ['measure', 'value', 'note'], rows)
process.exit(0)
