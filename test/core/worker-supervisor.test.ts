// Each plugin's workers are supervised on their own: a worker that will not stop holds up neither
// another plugin's flip nor the shutdown past its bound.
import { pino } from 'pino'
import t from 'tap'
import { loadConfig } from '../../config/index.js'
import { createLease } from '../../core/lease.js'
import { OwnershipGate, WorkerSupervisor, type LoadedPlugin } from '../../core/ownership/index.js'
import { definePlugin, type Worker } from '../../core/plugin.js'
import { ManualFlags } from '../helpers/manual-flags.js'
import { waitFor } from '../helpers/wait.js'

const log = pino({ level: process.env.DBG ? 'debug' : 'silent' })

function plugin(name: 'voice' | 'zapier', worker: Worker): LoadedPlugin {
  const descriptor = definePlugin({ name, roles: [name], ownershipFlag: `helix.${name}.dedicated`, create: () => ({}) })
  return { descriptor, instance: { workers: [worker] } }
}

function setup(stopTimeoutMs: number) {
  const flags = new ManualFlags()
  const gate = new OwnershipGate(loadConfig({ NODE_ENV: 'test' }), flags)
  const state = { voice: false, zapier: false, voiceStopping: false }
  let releaseVoice = () => {}
  const slow = plugin('voice', {
    name: 'slow',
    start: () => void (state.voice = true),
    stop: () => {
      state.voiceStopping = true
      return new Promise<void>((resolve) => (releaseVoice = resolve))
    }
  })
  const quick = plugin('zapier', { name: 'quick', start: () => void (state.zapier = true), stop: () => void (state.zapier = false) })
  const loaded = [slow, quick]
  gate.track(loaded.map((p) => p.descriptor))
  const supervisor = new WorkerSupervisor(loaded, gate, log, (name) => createLease(null, 'test:', { name, log }), stopTimeoutMs)
  flags.onChange(() => void supervisor.sync())
  return { flags, state, supervisor, releaseVoice: () => releaseVoice() }
}

t.test("one plugin's slow stop does not hold up another plugin's flips", async (t) => {
  const { flags, state, supervisor, releaseVoice } = setup(60_000)
  await supervisor.sync()
  t.same(state, { voice: true, zapier: true, voiceStopping: false }, 'the monolith runs both')

  flags.flip('helix.voice.dedicated', true)
  await waitFor(() => state.voiceStopping, 'voice is stopping')
  flags.flip('helix.zapier.dedicated', true)
  await waitFor(() => !state.zapier, 'zapier stops while voice is still stopping')
  flags.flip('helix.zapier.dedicated', false)
  await waitFor(() => state.zapier, 'and starts again, still without waiting for voice')
  t.ok(state.voiceStopping, "voice's work in flight has not finished yet")
  releaseVoice()
  await supervisor.stopAll()
  t.notOk(state.zapier)
})

t.test('a stop that never finishes is given up after the bound, so the shutdown ends', async (t) => {
  const { state, supervisor } = setup(200)
  await supervisor.sync()
  t.ok(state.voice)
  await supervisor.stopAll()
  t.ok(state.voiceStopping, 'voice was asked to stop')
  t.notOk(state.zapier, 'zapier stopped')
  t.notOk(supervisor.isRunning('voice'))
})
