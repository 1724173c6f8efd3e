// What the bot shows: Discord embeds for the UCF, agents, commands, rituals, alerts and flags, kept
// within Discord's limits (title 256, description 4096, field value 1024, 25 fields).
import type { APIEmbed } from 'discord.js'
import type { FlagReport } from '../../core/clients/admin-client.js'
import type { Agent, AgentSummary, Command, Ritual, UcfState } from '../../core/contracts/orchestrator.js'

export const COLORS = { info: 0x5865f2, ok: 0x57f287, warn: 0xfee75c, error: 0xed4245 } as const

const METRICS = ['harmony', 'resilience', 'prana', 'drishti', 'klesha', 'zoom'] as const
const PHASE_COLORS: Record<UcfState['phase'], number> = {
  CRITICAL: COLORS.error, UNSTABLE: 0xe67e22, COHERENT: COLORS.warn, HARMONIOUS: COLORS.ok, TRANSCENDENT: 0x9b59b6
}

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}

/** `██████░░░░` for a value in 0..1 (values outside are clamped for the bar, shown as they are). */
export function bar(value: number, width = 10): string {
  const filled = Math.round(Math.min(1, Math.max(0, value)) * width)
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`
}

const title = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)

/** Active agents: working now (active or busy) out of all. */
export function agentsActive(summary: AgentSummary): string {
  const active = (summary.byStatus.active ?? 0) + (summary.byStatus.busy ?? 0)
  return `${active} / ${summary.total}`
}

export function statusEmbed(ucf: UcfState, summary: AgentSummary, heading = 'Helix collective status'): APIEmbed {
  return {
    title: heading,
    color: PHASE_COLORS[ucf.phase],
    fields: [
      ...METRICS.map((m) => ({ name: title(m), value: `\`${bar(ucf.metrics[m])}\` ${ucf.metrics[m].toFixed(2)}`, inline: true })),
      { name: 'Phase', value: ucf.phase, inline: true },
      { name: 'Consciousness level', value: ucf.consciousnessLevel.toFixed(2), inline: true },
      { name: 'Agents active', value: agentsActive(summary), inline: true }
    ],
    footer: { text: `commands: ${summary.commands.running} running, ${summary.commands.queued} queued` },
    timestamp: ucf.updatedAt
  }
}

export function rosterEmbed(agents: readonly Agent[]): APIEmbed {
  const lines = agents.map((a) => `${a.emoji} **${a.name}** · ${a.status}${a.statusReason ? ` (${a.statusReason})` : ''} · ${a.tier.replace('_', ' ')}`)
  return { title: `Agents (${agents.length})`, color: COLORS.info, description: clip(lines.join('\n'), 4096) }
}

export function agentEmbed(agent: Agent): APIEmbed {
  const traits = Object.entries(agent.personality).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')
  return {
    title: clip(`${agent.emoji} ${agent.name}`, 256),
    description: clip(agent.role, 4096),
    color: agent.status === 'error' ? COLORS.error : COLORS.info,
    fields: [
      { name: 'Status', value: agent.statusReason ? `${agent.status} (${clip(agent.statusReason, 200)})` : agent.status, inline: true },
      { name: 'Tier', value: agent.tier, inline: true },
      { name: 'Voice', value: agent.voice.name, inline: true },
      { name: 'Commands', value: clip(agent.commands.join(', ') || '—', 1024) },
      { name: 'Capabilities', value: clip(agent.capabilities.join(', ') || '—', 1024) },
      ...(traits ? [{ name: 'Personality', value: clip(traits, 1024) }] : [])
    ],
    footer: { text: `${agent.slug} · version ${agent.version}` }
  }
}

const STATUS_ICONS: Record<Command['status'], string> = {
  queued: '⏳', running: '⚙️', succeeded: '✅', failed: '❌', timed_out: '⌛', cancelled: '🚫'
}

/** A command as it stands: queued and running ones without a result, ended ones with it. */
export function commandEmbed(command: Command, agent: string): APIEmbed {
  const color = command.status === 'succeeded' ? COLORS.ok : command.status === 'queued' || command.status === 'running' ? COLORS.info : COLORS.error
  const fields = []
  if (command.result !== null && command.result !== undefined) fields.push({ name: 'Result', value: clip(`\`\`\`json\n${JSON.stringify(command.result, null, 1)}`, 1020) + '\n```' })
  if (command.error) fields.push({ name: 'Error', value: clip(command.error, 1024) })
  return {
    title: clip(`${STATUS_ICONS[command.status]} ${command.command} → ${agent}: ${command.status}`, 256),
    color,
    fields,
    footer: { text: `command ${command.id}` }
  }
}

function deltaLines(deltas: Record<string, number> | null): string {
  if (!deltas || Object.keys(deltas).length === 0) return 'no change'
  return Object.entries(deltas).map(([k, v]) => `${title(k)} ${v >= 0 ? '+' : ''}${v.toFixed(3)}`).join('\n')
}

export function ritualProgressEmbed(name: string, step: number, steps: number): APIEmbed {
  return { title: `🔮 Ritual ${name}`, color: COLORS.info, description: `\`${bar(steps === 0 ? 0 : step / steps, 20)}\` step ${step} / ${steps}` }
}

export function ritualDoneEmbed(ritual: Ritual): APIEmbed {
  const ok = ritual.status === 'completed'
  return {
    title: `🔮 Ritual ${ritual.name} ${ok ? 'completed' : ritual.status}`,
    color: ok ? COLORS.ok : COLORS.error,
    fields: [
      { name: 'Deltas', value: clip(deltaLines(ritual.deltas), 1024), inline: true },
      ...(ritual.ucf ? [{ name: 'Phase', value: ritual.ucf.phase, inline: true }, { name: 'Consciousness level', value: ritual.ucf.consciousnessLevel.toFixed(2), inline: true }] : []),
      ...(ritual.error ? [{ name: 'Error', value: clip(ritual.error, 1024) }] : [])
    ],
    footer: { text: `${ritual.steps} steps · ritual ${ritual.id}` }
  }
}

export interface AlertLike {
  severity?: string
  kind?: string
  message?: string
  state?: string
}

export function alertEmbed(alert: AlertLike, resolved: boolean): APIEmbed {
  const severe = alert.severity === 'critical' || alert.severity === 'error'
  return {
    title: clip(`${resolved ? '✅ Resolved' : severe ? '🚨 Alert' : '⚠️ Alert'}: ${alert.kind ?? 'alert'}`, 256),
    description: clip(alert.message ?? '', 1000),
    color: resolved ? COLORS.ok : severe ? COLORS.error : COLORS.warn,
    footer: alert.severity ? { text: alert.severity } : undefined
  }
}

export function failedCommandEmbed(command: Command): APIEmbed {
  return {
    title: clip(`${STATUS_ICONS[command.status]} ${command.command} ${command.status}`, 256),
    description: clip(command.error ?? 'no error message', 1000),
    color: COLORS.error,
    footer: { text: `command ${command.id}` }
  }
}

export function noticeEmbed(message: string, source: string): APIEmbed {
  return { description: clip(message, 1000), color: COLORS.info, footer: { text: clip(source, 200) } }
}

export function flagsEmbed(flags: readonly FlagReport[]): APIEmbed {
  const lines = flags.map((f) => `${f.enabled ? '🟢' : '⚪'} \`${f.name}\` ${f.enabled ? 'on' : 'off'} · ${f.source}${f.override?.expiresAt ? ` until ${f.override.expiresAt}` : ''}`)
  const owners = flags.flatMap((f) => {
    const plugin = /^helix\.(\w+)\.dedicated$/.exec(f.name)?.[1]
    return plugin ? [`${plugin}: ${f.enabled ? 'dedicated service' : 'monolith'}`] : []
  })
  return {
    title: 'Flags',
    color: COLORS.info,
    description: clip(lines.join('\n'), 4096),
    fields: owners.length > 0 ? [{ name: 'Owners', value: clip(owners.join('\n'), 1024) }] : [],
    footer: { text: 'helix.<plugin>.dedicated on: the dedicated service owns the plugin' }
  }
}
