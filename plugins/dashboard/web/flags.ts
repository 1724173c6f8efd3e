// The flags card (admin): each flag's effective value, its source and its override's expiry, live;
// flips that say what they will do before they do it and expire after the chosen time; and the live
// processes that could own each plugin. An ownership flip that would hand a plugin to nobody is
// refused here (and by the server, 409 no_ready_owner).
import { ApiError, type Api } from './api.js'
import { byId, el } from './dom.js'

export interface FlagRow {
  name: string
  description?: string
  enabled: boolean
  source?: 'override' | 'unleash' | 'bootstrap' | 'env' | 'default'
  unleash?: boolean | null
  override?: { enabled: boolean; expiresAt: string | null } | null
}

export interface LiveOwner {
  instance: string
  roles: string[]
  plugins: string[]
  kind?: 'all' | 'dedicated'
  ready: boolean
  url: string | null
  version: string
  startedAt: string
  seenAt: string
  self: boolean
}

export interface PluginOwnership {
  flag: string
  dedicated: boolean
  owner: 'all' | 'dedicated'
  ready: { all: number; dedicated: number }
  noOwner: boolean
}

/** GET /admin/flags; `owners` and `plugins` are absent on servers from before live owners. */
export interface FlagsReport {
  flags: FlagRow[]
  owners?: LiveOwner[]
  plugins?: Record<string, PluginOwnership>
}

/** How long a flip lasts unless chosen otherwise: long enough to watch, short enough not to forget. */
export const DEFAULT_TTL_SECONDS = 3600
export const POLL_MS = 5000
const TICK_MS = 1000

const PLUGIN_LABELS: Record<string, string> = {
  stream: 'streaming',
  orchestrator: 'orchestration',
  voice: 'voice',
  zapier: 'Zapier',
  bot: 'the Discord bot'
}

const OWNERSHIP_FLAG = /^helix\.([a-z]+)\.dedicated$/

interface Flip {
  flag: string
  enabled: boolean
}

interface RowParts {
  item: HTMLElement
  toggle: HTMLInputElement
  state: HTMLElement
  owner: HTMLElement
  reason: HTMLElement
  remove: HTMLButtonElement
}

function say(node: HTMLElement, text: string, tone: 'ok' | 'bad'): void {
  node.textContent = text
  node.dataset.tone = tone
}

function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}

/** "54 min", "40 s", "3 h 5 min", "2 days": how far off `ms` is, rounded down, coarse enough to read at a glance. */
export function inWords(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 60) return `${s} s`
  const min = Math.floor(s / 60)
  if (min < 60) return `${min} min`
  const h = Math.floor(min / 60)
  if (h < 48) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`
  return plural(Math.round(h / 24), 'day')
}

export class FlagsCard {
  private report: FlagsReport = { flags: [] }
  private readonly rows = new Map<string, RowParts>()
  private loading: Promise<void> | null = null
  private again = false
  private pending: Flip | null = null
  private readonly list = byId('flags-list')
  private readonly status = byId('flags-status')
  private readonly ttl = byId<HTMLSelectElement>('flag-ttl')
  private readonly dialog = byId<HTMLDialogElement>('flag-confirm')

  constructor(private readonly api: Api) {
    this.dialog.addEventListener('close', () => {
      const flip = this.pending
      this.pending = null
      if (flip && this.dialog.returnValue === 'confirm') void this.flip(flip)
    })
    // Expiry countdowns move every second; the data itself comes from load().
    setInterval(() => this.tick(), TICK_MS)
    // Readiness changes publish no event: poll while someone is looking.
    setInterval(() => {
      if (document.visibilityState === 'visible') void this.load()
    }, POLL_MS)
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') void this.load()
    })
  }

  /** Loads the report; calls made while one is in flight coalesce into one more load after it. */
  load(): Promise<void> {
    if (this.loading) {
      this.again = true
      return this.loading
    }
    this.loading = this.fetch().finally(() => {
      this.loading = null
      if (this.again) {
        this.again = false
        void this.load()
      }
    })
    return this.loading
  }

  private async fetch(): Promise<void> {
    try {
      this.report = await this.api.get<FlagsReport>('/admin/flags')
    } catch (err) {
      say(this.status, `Flags unavailable: ${failure(err)}`, 'bad')
      return
    }
    this.render()
  }

  private render(): void {
    const names = new Set(this.report.flags.map((f) => f.name))
    for (const [name, parts] of this.rows) {
      if (!names.has(name)) {
        parts.item.remove()
        this.rows.delete(name)
      }
    }
    const items = this.report.flags.map((f) => {
      const parts = this.rows.get(f.name) ?? this.row(f)
      this.fill(parts, f)
      return parts.item
    })
    // Re-inserting rows would take the focus off a switch every poll: only when the list changed.
    const same = items.length === this.list.children.length && items.every((item, i) => this.list.children[i] === item)
    if (!same) this.list.replaceChildren(...items)
    this.renderOwners()
    this.tick()
  }

  private row(flag: FlagRow): RowParts {
    const id = `flag-${flag.name.replace(/\W/g, '-')}`
    const toggle = el('input', { type: 'checkbox', role: 'switch', id, 'data-flag': flag.name, 'aria-describedby': `${id}-state ${id}-reason` })
    // The click is only a request: the switch moves once the server has applied the flip.
    toggle.addEventListener('click', (e) => {
      e.preventDefault()
      this.ask(flag.name)
    })
    const remove = el('button', { type: 'button', class: 'ghost small', 'data-remove-override': flag.name }, 'Remove override')
    remove.addEventListener('click', () => void this.removeOverride(flag.name))
    const parts: RowParts = {
      toggle,
      remove,
      state: el('span', { id: `${id}-state`, class: 'flag-state small', 'data-flag-state': flag.name }),
      owner: el('span', { class: 'flag-owner small muted', 'data-flag-owner': flag.name }),
      reason: el('span', { id: `${id}-reason`, class: 'flag-reason small', 'data-flag-reason': flag.name }),
      item: el('li', { class: 'flag', 'data-flag-row': flag.name })
    }
    parts.item.append(
      el('div', { class: 'flag-text' },
        el('label', { for: id, class: 'flag-label' },
          el('span', { class: 'flag-name' }, flag.name),
          el('span', { class: 'muted small' }, flag.description ?? '')),
        parts.state, parts.owner, parts.reason, remove),
      toggle)
    this.rows.set(flag.name, parts)
    return parts
  }

  private fill(parts: RowParts, flag: FlagRow): void {
    parts.toggle.checked = flag.enabled
    parts.item.dataset.enabled = String(flag.enabled)
    parts.item.dataset.source = flag.source ?? ''
    parts.remove.hidden = !flag.override
    const plugin = this.pluginOf(flag.name)
    const blocked = this.blockedReason({ flag: flag.name, enabled: !flag.enabled })
    parts.toggle.disabled = blocked !== null
    parts.reason.textContent = blocked ?? (plugin?.noOwner ? this.noOwnerText(flag.name) : '')
    parts.reason.hidden = !parts.reason.textContent
    parts.owner.textContent = plugin ? this.ownerText(flag.name, plugin) : ''
    parts.owner.hidden = !plugin
  }

  /** "on · override · expires in 54 min": the value, where it comes from, and until when. */
  private stateText(flag: FlagRow): string {
    const parts = [flag.enabled ? 'on' : 'off', flag.source ?? 'unknown source']
    const expiresAt = flag.override?.expiresAt
    if (flag.source === 'override' && flag.override) parts.push(expiresAt ? `expires in ${inWords(Date.parse(expiresAt) - Date.now())}` : 'until removed')
    return parts.join(' · ')
  }

  private tick(): void {
    let expired = false
    for (const flag of this.report.flags) {
      const parts = this.rows.get(flag.name)
      if (parts) parts.state.textContent = this.stateText(flag)
      const expiresAt = flag.override?.expiresAt
      if (expiresAt && Date.parse(expiresAt) <= Date.now()) expired = true
    }
    if (expired && !this.loading) void this.load()
  }

  private pluginOf(flag: string): PluginOwnership | null {
    const plugin = OWNERSHIP_FLAG.exec(flag)?.[1]
    return (plugin && this.report.plugins?.[plugin]) || null
  }

  private ownerText(flag: string, plugin: PluginOwnership): string {
    const name = OWNERSHIP_FLAG.exec(flag)![1]
    const where = plugin.owner === 'dedicated' ? `helix-${name}` : 'the monolith'
    return `owned by ${where} · ready: ${plural(plugin.ready.all, 'monolith process', 'monolith processes')}, ${plural(plugin.ready.dedicated, `helix-${name} replica`)}`
  }

  private noOwnerText(flag: string): string {
    const name = OWNERSHIP_FLAG.exec(flag)![1]
    return `Dedicated, but no helix-${name} replica is ready: the monolith keeps ${PLUGIN_LABELS[name] ?? name}.`
  }

  /** Why this flip cannot be made now, or null. Handing a plugin back to the monolith is never blocked. */
  private blockedReason(flip: Flip): string | null {
    const plugin = this.pluginOf(flip.flag)
    if (!plugin || !flip.enabled || plugin.ready.dedicated > 0) return null
    const name = OWNERSHIP_FLAG.exec(flip.flag)![1]
    return `No helix-${name} replica is ready: turning this on would hand ${PLUGIN_LABELS[name] ?? name} to nobody.`
  }

  /** What the flip will do, in the words an operator thinks in. */
  private consequence(flip: Flip): string {
    const name = OWNERSHIP_FLAG.exec(flip.flag)?.[1]
    if (!name) return `${flip.flag} turns ${flip.enabled ? 'on' : 'off'} on every replica.`
    const label = PLUGIN_LABELS[name] ?? name
    if (!flip.enabled) return `${sentence(label)} moves back to the monolith.`
    const ready = this.report.plugins?.[name]?.ready.dedicated
    return ready === undefined
      ? `${sentence(label)} moves to helix-${name}.`
      : `${sentence(label)} moves to helix-${name}: ${plural(ready, 'ready replica')}.`
  }

  private ttlSeconds(): number | undefined {
    return this.ttl.value === '' ? undefined : Number(this.ttl.value)
  }

  private durationText(ttl: number | undefined): string {
    if (ttl === undefined) return 'The override lasts until it is removed.'
    return `The override lasts ${this.ttl.selectedOptions[0]?.textContent ?? inWords(ttl * 1000)}, then Unleash (or the bootstrap file) decides again.`
  }

  private ask(flagName: string): void {
    const flag = this.report.flags.find((f) => f.name === flagName)
    if (!flag) return
    const flip = { flag: flagName, enabled: !flag.enabled }
    const blocked = this.blockedReason(flip)
    if (blocked) {
      say(this.status, blocked, 'bad')
      return
    }
    this.pending = flip
    byId('flag-confirm-title').textContent = `Turn ${flip.flag} ${flip.enabled ? 'on' : 'off'}?`
    byId('flag-confirm-text').textContent = this.consequence(flip)
    byId('flag-confirm-ttl').textContent = this.durationText(this.ttlSeconds())
    this.dialog.returnValue = ''
    this.dialog.showModal()
  }

  private async flip(flip: Flip): Promise<void> {
    // Readiness may have changed while the question was open.
    const blocked = this.blockedReason(flip)
    if (blocked) return say(this.status, blocked, 'bad')
    const parts = this.rows.get(flip.flag)
    if (parts) parts.toggle.disabled = true
    const ttlSeconds = this.ttlSeconds()
    try {
      const row = await this.api.send<FlagRow>('PUT', `/admin/flags/${encodeURIComponent(flip.flag)}`, ttlSeconds === undefined ? { enabled: flip.enabled } : { enabled: flip.enabled, ttlSeconds })
      this.replace(row)
      say(this.status, `${flip.flag} is now ${row.enabled ? 'on' : 'off'}. ${this.consequence(flip)}`, 'ok')
    } catch (err) {
      say(this.status, failure(err), 'bad')
    }
    await this.load()
  }

  private async removeOverride(flagName: string): Promise<void> {
    try {
      const row = await this.api.send<FlagRow>('DELETE', `/admin/flags/${encodeURIComponent(flagName)}`, undefined)
      this.replace(row)
      say(this.status, `Override removed: ${flagName} is ${row.enabled ? 'on' : 'off'} (${row.source ?? 'its source'}).`, 'ok')
    } catch (err) {
      say(this.status, failure(err), 'bad')
    }
    await this.load()
  }

  private replace(row: FlagRow): void {
    this.report.flags = this.report.flags.map((f) => (f.name === row.name ? row : f))
    this.render()
  }

  private renderOwners(): void {
    const owners = this.report.owners
    byId('owners-panel').hidden = !owners
    if (!owners) return
    const now = Date.now()
    byId('owners-list').replaceChildren(...[...owners]
      .sort((a, b) => Number(b.self) - Number(a.self) || a.instance.localeCompare(b.instance))
      .map((o) => el('tr', { 'data-owner': o.instance, 'data-ready': String(o.ready) },
        el('td', {}, el('span', { class: 'mono' }, o.instance), o.self ? el('span', { class: 'muted small' }, ' (this process)') : ''),
        el('td', {}, o.roles.join(', ')),
        el('td', {}, el('span', { class: `badge ${o.ready ? 'badge-idle' : 'badge-error'}` }, o.ready ? 'ready' : 'not ready')),
        el('td', { class: 'small' }, o.plugins.join(', ') || '—'),
        el('td', { class: 'small muted' }, `v${o.version} · seen ${inWords(now - Date.parse(o.seenAt))} ago`))))
  }
}

function failure(err: unknown): string {
  if (err instanceof ApiError && err.status === 403) return 'Your token lacks the admin scope.'
  return (err as Error).message
}
