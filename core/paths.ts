// The project root, found the same way from the TypeScript sources and from dist/.
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

function findRoot(start: string): string {
  let dir = start
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir)
    if (parent === dir) return process.cwd()
    dir = parent
  }
  return dir
}

export const projectRoot = findRoot(path.dirname(fileURLToPath(import.meta.url)))

/** Resolves a path from config relative to the project root. */
export function fromRoot(p: string): string {
  return path.isAbsolute(p) ? p : path.join(projectRoot, p)
}
