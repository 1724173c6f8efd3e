// What each agent command does (their arguments are in command-catalog.ts). Handlers are idempotent
// per command id (execution is at-least-once): effects are keyed by the command, so a re-run after a
// crash adds nothing.
import { createHash } from 'node:crypto'
import type { Bus } from '../../core/bus/types.js'
import { isTerminal } from '../../core/contracts/orchestrator.js'
import type { AgentService } from './agent-service.js'
import { validateCommand, type CommandArgs, type KnownCommand } from './command-catalog.js'
import type { CommandQueue } from './command-queue.js'
import { toAgent } from './rows.js'
import type { Sql } from './sql.js'
import type { TextGenerator } from './text-generator.js'
import type { Agent, Command } from './types.js'
import type { UcfService } from './ucf-service.js'

export interface HandlerContext {
  agent: Agent
  command: Command
  signal: AbortSignal
}

export interface HandlerDeps {
  sql: Sql
  bus: Bus
  ucf: UcfService
  queue: CommandQueue
  agents: AgentService
  text: TextGenerator
  defaultTimeoutMs: number
}

type Handler = (ctx: HandlerContext, args: never) => Promise<unknown>
export type Handlers = Record<KnownCommand, Handler>

/** A stable id for step `i` of a command, so a re-run of the plan finds the same effects. */
function stepId(parent: string, i: number): string {
  const h = createHash('sha256').update(`${parent}:${i}`).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => {
      clearTimeout(timer)
      reject(signal.reason)
    }, { once: true })
  })

export function createHandlers(deps: HandlerDeps): Handlers {
  const { sql, bus, ucf, queue, agents, text } = deps

  async function recentMemories(agentId: string, limit: number): Promise<string[]> {
    const rows = await sql.rows<{ content: string }>(
      `SELECT content FROM orchestrator_memories WHERE agent_id = $1 AND archived = $2 ORDER BY id DESC LIMIT $3`,
      [agentId, false, limit]
    )
    return rows.map((r) => r.content)
  }

  async function remember(ctx: HandlerContext, kind: string, content: string): Promise<boolean> {
    const rows = await sql.rows(
      `INSERT INTO orchestrator_memories (agent_id, command_id, kind, content, archived, created_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (command_id) DO NOTHING RETURNING id`,
      [ctx.agent.id, ctx.command.id, kind, content, false, Date.now()]
    )
    return rows.length > 0
  }

  const handlers = {
    async MEMORY_APPEND(ctx: HandlerContext, args: CommandArgs<'MEMORY_APPEND'>) {
      const stored = await remember(ctx, args.kind ?? 'note', args.content)
      return { stored, kind: args.kind ?? 'note' }
    },

    async REFLECT(ctx: HandlerContext, args: CommandArgs<'REFLECT'>) {
      const memories = await recentMemories(ctx.agent.id, args.limit ?? 50)
      const words = new Map<string, number>()
      for (const m of memories) {
        for (const w of m.toLowerCase().match(/[\p{L}\p{N}']{4,}/gu) ?? []) words.set(w, (words.get(w) ?? 0) + 1)
      }
      const themes = [...words].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 5).map(([w]) => w)
      const summary = memories.length === 0
        ? `${ctx.agent.name} has nothing to reflect on yet.`
        : `${ctx.agent.name} reflects on ${memories.length} memories; themes: ${themes.join(', ') || 'none'}.`
      await remember(ctx, 'reflection', summary)
      return { memories: memories.length, themes, summary }
    },

    async ARCHIVE(ctx: HandlerContext, args: CommandArgs<'ARCHIVE'>) {
      const before = args.before ? Date.parse(args.before) : Date.now() + 1
      const rows = await sql.rows(
        `UPDATE orchestrator_memories SET archived = $1 WHERE agent_id = $2 AND archived = $3 AND created_at < $4 RETURNING id`,
        [true, ctx.agent.id, false, before]
      )
      return { archived: rows.length }
    },

    async GENERATE(ctx: HandlerContext, args: CommandArgs<'GENERATE'>) {
      const memories = await recentMemories(ctx.agent.id, 5)
      return { text: await text.generate({ kind: 'generate', agent: ctx.agent, prompt: args.prompt ?? '', memories, signal: ctx.signal }) }
    },

    async INSIGHT(ctx: HandlerContext, args: CommandArgs<'INSIGHT'>) {
      const memories = await recentMemories(ctx.agent.id, 20)
      return { text: await text.generate({ kind: 'insight', agent: ctx.agent, prompt: args.topic ?? '', memories, signal: ctx.signal }) }
    },

    async SYNC(ctx: HandlerContext) {
      const [row, state] = await Promise.all([agents.row(ctx.agent.id), ucf.get()])
      const agent = row ? toAgent(row) : ctx.agent
      await bus.publish('agents', 'agent.updated', agent)
      await bus.publish('ucf', 'ucf.updated', { ...state, cause: 'sync', deltas: {} })
      return { agent, ucf: state }
    },

    async STATUS(ctx: HandlerContext) {
      const [state, queued] = await ucf.withCount(ctx.agent.id)
      return {
        agent: { id: ctx.agent.id, slug: ctx.agent.slug, name: ctx.agent.name, status: ctx.agent.status, tier: ctx.agent.tier },
        queued,
        ucf: { phase: state.phase, consciousnessLevel: state.consciousnessLevel, harmony: state.metrics.harmony }
      }
    },

    async HARMONY_PULSE(ctx: HandlerContext, args: CommandArgs<'HARMONY_PULSE'>) {
      const amount = args.amount ?? 0.05
      const change = await ucf.apply({ harmony: amount, prana: amount / 2 }, 'harmony_pulse', ctx.command.id)
      return change ? { applied: true, ucf: change.after } : { applied: false, ucf: await ucf.get() }
    },

    async EXECUTE_TASK(ctx: HandlerContext, args: CommandArgs<'EXECUTE_TASK'>) {
      const steps: { agent: string; command: string; status: string; result: unknown; error: string | null }[] = []
      for (const [i, step] of args.plan.entries()) {
        const target = step.agent ? await agents.get(step.agent) : ctx.agent
        const stepArgs = step.args ?? {}
        if (step.command === 'EXECUTE_TASK') throw new Error(`step ${i}: a plan cannot nest EXECUTE_TASK`)
        validateCommand(target, step.command, stepArgs)
        if (target.id === ctx.agent.id) {
          // The agent is busy with this very task, so its own steps run inline rather than queue behind it.
          const sub = { ...ctx, command: { ...ctx.command, id: stepId(ctx.command.id, i), command: step.command, args: stepArgs } }
          const result = await handlers[step.command as KnownCommand](sub, stepArgs as never)
          steps.push({ agent: target.slug, command: step.command, status: 'succeeded', result, error: null })
          continue
        }
        const { command: child } = await queue.enqueue(target.id, {
          command: step.command,
          args: stepArgs,
          timeoutMs: deps.defaultTimeoutMs,
          idempotencyKey: `task:${ctx.command.id}:${i}`,
          parentId: ctx.command.id,
          requestedBy: ctx.command.requestedBy
        })
        let done = child
        while (!isTerminal(done.status)) {
          await sleep(25, ctx.signal)
          ;[done] = await queue.statuses([child.id])
        }
        steps.push({ agent: target.slug, command: step.command, status: done.status, result: done.result, error: done.error })
        if (done.status !== 'succeeded') throw new Error(`step ${i} (${target.slug} ${step.command}) ${done.status}: ${done.error ?? ''}`.trim())
      }
      return { steps }
    }
  }
  return handlers as Handlers
}
