// An earlier release of Helix, built from git beside this checkout: what Railway keeps running during
// a deploy's overlap, to check that the new migrations leave it working. Built once per commit into
// node_modules/.cache (it shares this checkout's node_modules) and reused by later runs.
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { projectRoot } from '../../core/paths.js'

const run = promisify(execFile)

/** The release deployed before this one: the commit named in test/fixtures/previous-release. */
export function previousRelease(): string {
  const text = readFileSync(path.join(projectRoot, 'test/fixtures/previous-release'), 'utf8')
  const commit = text.split('\n').map((l) => l.trim()).find((l) => /^[0-9a-f]{40}$/.test(l))
  if (!commit) throw new Error('test/fixtures/previous-release names no commit (40 hex digits on a line)')
  return commit
}

/** Extracts and compiles `commit`; resolves with the directory whose dist/ runs it. */
export async function buildRelease(commit: string): Promise<string> {
  const cache = path.join(projectRoot, 'node_modules/.cache/helix-releases')
  const dir = path.join(cache, commit)
  const done = path.join(dir, '.built')
  if (existsSync(done)) return dir
  mkdirSync(cache, { recursive: true })
  // One builder at a time, across test processes.
  const script = [
    `test -f ${JSON.stringify(done)} && exit 0`,
    `rm -rf ${JSON.stringify(dir)} && mkdir -p ${JSON.stringify(dir)}`,
    `git -C ${JSON.stringify(projectRoot)} archive --format=tar ${commit} | tar -x -C ${JSON.stringify(dir)}`,
    `ln -s ${JSON.stringify(path.join(projectRoot, 'node_modules'))} ${JSON.stringify(path.join(dir, 'node_modules'))}`,
    `cd ${JSON.stringify(dir)} && ${JSON.stringify(process.execPath)} node_modules/typescript/bin/tsc -p tsconfig.build.json || true`,
    `test -f ${JSON.stringify(path.join(dir, 'dist/core/main.js'))} && touch ${JSON.stringify(done)}`
  ].join('\n')
  try {
    await run('flock', [path.join(cache, '.lock'), 'bash', '-c', script], { maxBuffer: 16 * 1024 * 1024 })
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`could not build release ${commit}: ${(err as Error).message}`, { cause: err })
  }
  return dir
}
