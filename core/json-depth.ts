// How deeply a JSON text nests (DESIGN section 6: bodies and frames deeper than 32 levels are refused),
// measured on the raw text before it is parsed, so nothing downstream ever holds a value too deep to
// serialise or walk.

/** Levels of arrays and objects allowed, counting the outermost one. */
export const MAX_JSON_DEPTH = 32

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_ARRAY = 0x5b
const OPEN_OBJECT = 0x7b
const CLOSE_ARRAY = 0x5d
const CLOSE_OBJECT = 0x7d

/**
 * True when `text` opens more than `max` arrays or objects inside one another. One pass over the
 * characters, brackets inside strings skipped; it does not validate the JSON (the parser does).
 */
export function exceedsJsonDepth(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === BACKSLASH) i++
      else if (c === QUOTE) inString = false
    } else if (c === QUOTE) {
      inString = true
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return true
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--
    }
  }
  return false
}
