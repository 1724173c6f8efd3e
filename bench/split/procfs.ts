// What the kernel knows about a process, read from /proc: CPU seconds (with its waited-for children, so
// the espeak-ng processes a voice request spawns count for the process that spawned them), RSS and
// open file descriptors.
import { readdirSync, readFileSync } from 'node:fs'

/** USER_HZ: the unit of the times in /proc/<pid>/stat; 100 on every Linux this runs on. */
const TICKS_PER_SECOND = 100

/** utime + stime + cutime + cstime of /proc/<pid>/stat, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // Fields 14-17 of stat(5); the slice starts at field 3.
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0)
  return ticks / TICKS_PER_SECOND
}

export function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))
  return line ? Number(line.replace(/\D+/g, '')) * 1024 : 0
}

export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

export function machine(): { cpus: number; model: string; ramGiB: number } {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? 'unknown'
  const cpus = cpuinfo.split('\n').filter((l) => l.startsWith('processor')).length
  const kb = Number(/^MemTotal:\s*(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0)
  return { cpus, model, ramGiB: Math.round((kb / 1024 / 1024) * 10) / 10 }
}
