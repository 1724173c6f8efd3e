// Spawning the audio tools (espeak-ng, ffmpeg, pocketsphinx): an argument array, never a shell, with
// a deadline and bounded output, so a stuck or runaway child cannot hold a request or the memory.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

export interface ToolLimits {
  timeoutMs: number
  /** Largest stdout accepted; the child is killed past it. */
  maxOutputBytes: number
}

export const DEFAULT_TOOL_LIMITS: ToolLimits = { timeoutMs: 20_000, maxOutputBytes: 64 * 1024 * 1024 }

/** A tool that failed: it exited non-zero, ran out of time, wrote too much or could not start. */
export class ToolError extends Error {
  override name = 'ToolError'
  constructor(readonly tool: string, readonly reason: 'exit' | 'timeout' | 'output' | 'spawn', message: string) {
    super(message)
  }
}

/** Runs `command` with stdin `input`, resolving with its stdout. */
export function runTool(command: string, args: readonly string[], input: Buffer | string = '', limits: ToolLimits = DEFAULT_TOOL_LIMITS): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], shell: false })
    const out: Buffer[] = []
    let size = 0
    let stderr = ''
    let failure: ToolError | null = null
    const kill = (err: ToolError) => {
      failure ??= err
      child.kill('SIGKILL')
    }
    const timer = setTimeout(() => kill(new ToolError(command, 'timeout', `${command} timed out after ${limits.timeoutMs} ms`)), limits.timeoutMs)
    child.stdout.on('data', (d: Buffer) => {
      size += d.length
      if (size > limits.maxOutputBytes) return kill(new ToolError(command, 'output', `${command} wrote more than ${limits.maxOutputBytes} bytes`))
      out.push(d)
    })
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)))
    // A tool that rejects its input exits before reading it all; its exit code says why.
    child.stdin.on('error', () => {})
    child.once('error', (e) => {
      clearTimeout(timer)
      reject(new ToolError(command, 'spawn', `${command} could not start: ${e.message}`))
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      if (failure) reject(failure)
      else if (code === 0) resolve(Buffer.concat(out))
      else reject(new ToolError(command, 'exit', `${command} exited with ${code}: ${stderr.trim()}`))
    })
    child.stdin.end(input)
  })
}

/** A private temporary directory for files a tool insists on, removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'helix-voice-'))
  try {
    return await fn(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
