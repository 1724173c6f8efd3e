// Starts a load process (bench/split/load.ts) pinned with taskset, and talks to it.
import { fork, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FromLoad, LoadReport, LoadSpec, ToLoad } from './messages.js'

type Scope = { teardown(fn: () => unknown): void }

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'load.js')
const START_TIMEOUT_MS = 120_000
/**
 * A report comes at once; a stop's within about 50 s (load.ts: the answers in flight end by their 30 s
 * deadline, then the WebSocket subscribers get 20 s to catch up): past this the load process is stuck.
 */
const STOP_TIMEOUT_MS = 90_000

export interface LoadProcess {
  spec: LoadSpec
  pid: number
  mark(): void
  report(): Promise<LoadReport>
  /** Stops the load, waits for its answers in flight; the final report. */
  stop(): Promise<LoadReport>
}

/**
 * The next report, or a rejection when the process's channel closes first (it died: an exception's stack
 * is on stderr, which it shares) or it stays silent. Messages come before the channel's close, in order.
 */
function nextReport(child: ChildProcess, kind: string, timeoutMs: number): Promise<LoadReport> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('disconnect', onClosed)
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`the ${kind} load process (${child.pid}) did not report within ${timeoutMs} ms`))
    }, timeoutMs)
    const onMessage = (m: FromLoad) => {
      if (m.op !== 'report') return
      done()
      resolve(m.report)
    }
    const onClosed = () => {
      done()
      reject(new Error(`the ${kind} load process (${child.pid}) went away before it reported (exit ${child.exitCode ?? child.signalCode ?? 'pending'})`))
    }
    if (!child.connected) return onClosed()
    child.on('message', onMessage)
    child.on('disconnect', onClosed)
  })
}

export async function startLoad(scope: Scope, spec: LoadSpec, cpus: string): Promise<LoadProcess> {
  // taskset execs node, which finds the IPC channel fork set up in its environment.
  const child = cpus
    ? fork(script, [], { execPath: 'taskset', execArgv: ['-c', cpus, process.execPath], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    : fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  scope.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const send = (m: ToLoad) => child.send(m)
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ${spec.kind} load did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS)
    child.once('exit', (code) => reject(new Error(`the ${spec.kind} load exited (${code}) before it started`)))
    child.on('message', (m: FromLoad) => {
      if (m.op !== 'started') return
      clearTimeout(timer)
      resolve()
    })
    send({ op: 'start', spec })
  })
  // A process that went away is reported by nextReport, not by a throw from send.
  const ask = (m: ToLoad) => {
    const next = nextReport(child, spec.kind, STOP_TIMEOUT_MS)
    if (child.connected) send(m)
    return next
  }
  return {
    spec,
    pid: child.pid!,
    mark() {
      if (child.connected) send({ op: 'mark' })
    },
    report: () => ask({ op: 'report' }),
    stop: () => ask({ op: 'stop' })
  }
}
