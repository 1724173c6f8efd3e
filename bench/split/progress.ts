// Progress lines on stderr for the long benchmarks (bench:split, drill:rollback, soak): one line as each
// phase starts or ends, with the seconds since the script started, so a person waiting sees where it is.
// stdout keeps the tables alone.
const started = performance.now()

export function progress(tag: string): (message: string) => void {
  return (message) => void process.stderr.write(`[${tag} ${Math.round((performance.now() - started) / 1000)} s] ${message}\n`)
}
