// The commands agents take (DESIGN section 9), in one table: what each does, the schema of its args
// and which agents take it. Validation, the handlers' argument types, the seed agents and
// GET /api/commands/catalog all read it, so they cannot disagree.
import { Type, type Static, type TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { errors } from '../../core/errors.js'
import { MAX_JSON_DEPTH } from '../../core/json-depth.js'
import type { Agent, CommandCatalog } from './types.js'

interface CommandSpec {
  description: string
  /** Slugs of the seed agents that take it; null: every agent does. */
  agents: readonly string[] | null
  args: TSchema
}

const PlanStep = Type.Object({
  agent: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Agent slug or id; default: the agent running the task' })),
  command: Type.String({ pattern: '^[A-Z][A-Z_]{0,39}$' }),
  args: Type.Optional(Type.Record(Type.String(), Type.Unknown()))
}, { additionalProperties: false })

export const COMMANDS = {
  MEMORY_APPEND: {
    description: "Store a note in the agent's memory",
    agents: null,
    args: Type.Object({
      content: Type.String({ minLength: 1, maxLength: 10_000 }),
      kind: Type.Optional(Type.String({ pattern: '^[a-z_]{1,32}$' }))
    }, { additionalProperties: false })
  },
  REFLECT: {
    description: "Reflect on the agent's recent memories: how many, and their themes",
    agents: null,
    args: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })) }, { additionalProperties: false })
  },
  ARCHIVE: {
    description: "Archive the agent's memories from before a time (default: all of them)",
    agents: null,
    args: Type.Object({ before: Type.Optional(Type.String({ format: 'date-time' })) }, { additionalProperties: false })
  },
  GENERATE: {
    description: "Generate text in the agent's voice from a prompt and its recent memories",
    agents: null,
    args: Type.Object({ prompt: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false })
  },
  SYNC: {
    description: "Publish the agent's profile and the UCF state again",
    agents: null,
    args: Type.Object({}, { additionalProperties: false })
  },
  STATUS: {
    description: 'Report the agent, how many commands it has queued, and the UCF phase',
    agents: null,
    args: Type.Object({}, { additionalProperties: false })
  },
  HARMONY_PULSE: {
    description: 'Raise harmony by `amount` (default 0.05) and prana by half as much',
    agents: ['kael'],
    args: Type.Object({ amount: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 0.2 })) }, { additionalProperties: false })
  },
  INSIGHT: {
    description: "Offer an insight on a topic, drawn from the agent's memories",
    agents: ['claude'],
    args: Type.Object({ topic: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false })
  },
  EXECUTE_TASK: {
    description: "Run a plan of steps in order, each a command for this agent or another; a failed step ends the task",
    agents: ['manus'],
    args: Type.Object({ plan: Type.Array(PlanStep, { minItems: 1, maxItems: 20 }) }, { additionalProperties: false })
  }
} as const satisfies Record<string, CommandSpec>

export type KnownCommand = keyof typeof COMMANDS
export type CommandArgs<C extends KnownCommand> = Static<(typeof COMMANDS)[C]['args']>

const KNOWN_COMMANDS = Object.keys(COMMANDS) as KnownCommand[]

const takes = (command: KnownCommand, slug: string): boolean => {
  const agents: readonly string[] | null = COMMANDS[command].agents
  return agents === null || agents.includes(slug)
}

/** The commands every agent takes, whatever else an operator lists. */
export const BASE_COMMANDS: readonly KnownCommand[] = KNOWN_COMMANDS.filter((c) => COMMANDS[c].agents === null)

/** The commands a seed agent takes: the base ones, then those the table gives it. */
export function seedCommands(slug: string): KnownCommand[] {
  return KNOWN_COMMANDS.filter((c) => takes(c, slug))
}

/** The body of GET /api/commands/catalog, built once. */
export const CATALOG: CommandCatalog = {
  items: KNOWN_COMMANDS.map((command) => {
    const { description, agents, args } = COMMANDS[command]
    return { command, description, agents: agents === null ? null : [...agents], args: args as unknown as Record<string, unknown> }
  })
}

/**
 * 400 when `args` holds a NUL character (in a string or a key: PostgreSQL stores neither) or nests
 * deeper than the HTTP parser allows, wherever in the value; a plan step's args are free-form, so no
 * schema can say it. Walked without recursion.
 */
function checkArgsValue(args: unknown): void {
  const stack: [node: unknown, path: string, depth: number][] = [[args, 'args', 1]]
  while (stack.length > 0) {
    const [node, path, depth] = stack.pop()!
    if (typeof node === 'string') {
      if (node.includes('\0')) throw errors.invalidCharacter(path)
    } else if (node !== null && typeof node === 'object') {
      if (depth > MAX_JSON_DEPTH) throw errors.tooDeep(MAX_JSON_DEPTH)
      for (const [key, child] of Object.entries(node)) {
        const childPath = `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`
        if (key.includes('\0')) throw errors.invalidCharacter(childPath)
        stack.push([child, childPath, depth + 1])
      }
    }
  }
}

/** 422 when the agent does not take the command, 400 when the args do not fit it. */
export function validateCommand(agent: Agent, command: string, args: Record<string, unknown>): void {
  if (!agent.commands.includes(command) || !(command in COMMANDS)) {
    throw errors.unprocessable(`Agent ${agent.slug} does not accept ${command}`, { accepted: agent.commands.filter((c) => c in COMMANDS) })
  }
  checkArgsValue(args)
  const before = args.before
  const schema = COMMANDS[command as KnownCommand].args
  if (!Value.Check(schema, args)) {
    const [first] = Value.Errors(schema, args)
    throw errors.validation(`args${first?.instancePath ?? ''} ${first?.message ?? 'is invalid'}`.trim(), { command })
  }
  if (command === 'ARCHIVE' && typeof before === 'string' && Number.isNaN(Date.parse(before))) {
    throw errors.validation('args/before must be a date-time', { command })
  }
}
