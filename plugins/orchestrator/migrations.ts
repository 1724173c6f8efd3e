// The orchestrator's tables and indexes, for PostgreSQL and SQLite alike. Times are epoch
// milliseconds (BIGINT) so the queue's SQL compares numbers the same way on both dialects.
import { DataTypes, type QueryInterface } from 'sequelize'
import type { Migration } from '../../core/db/index.js'

const UCF_DEFAULTS = { harmony: 0.355, resilience: 1.1191, prana: 0.5175, drishti: 0.5023, klesha: 0.01, zoom: 1.0228 }

function jsonType(qi: QueryInterface) {
  return qi.sequelize.getDialect() === 'postgres' ? DataTypes.JSONB : DataTypes.JSON
}

/** SQLite wants INTEGER PRIMARY KEY for an autoincrement row id; PostgreSQL gets a bigserial. */
function serialKey(qi: QueryInterface) {
  const type = qi.sequelize.getDialect() === 'postgres' ? DataTypes.BIGINT : DataTypes.INTEGER
  return { type, primaryKey: true, autoIncrement: true, allowNull: false }
}

const ms = (allowNull = false) => ({ type: DataTypes.BIGINT, allowNull })

export const migrations: readonly Migration[] = [
  {
    name: 'orchestrator-0001-agents',
    async up({ queryInterface: qi }) {
      const json = jsonType(qi)
      await qi.createTable('orchestrator_agents', {
        id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
        slug: { type: DataTypes.STRING(64), allowNull: false },
        name: { type: DataTypes.STRING(100), allowNull: false },
        emoji: { type: DataTypes.STRING(16), allowNull: false },
        tier: { type: DataTypes.STRING(20), allowNull: false },
        role: { type: DataTypes.STRING(200), allowNull: false },
        capabilities: { type: json, allowNull: false },
        commands: { type: json, allowNull: false },
        personality: { type: json, allowNull: false },
        voice: { type: json, allowNull: false },
        status: { type: DataTypes.STRING(16), allowNull: false },
        status_reason: { type: DataTypes.STRING(500), allowNull: true },
        last_seen_at: ms(true),
        running_command_id: { type: DataTypes.UUID, allowNull: true },
        version: { type: DataTypes.INTEGER, allowNull: false },
        created_at: ms(),
        updated_at: ms()
      })
      await qi.addIndex('orchestrator_agents', ['slug'], { unique: true, name: 'orchestrator_agents_slug' })
      await qi.addIndex('orchestrator_agents', ['status', 'slug'], { name: 'orchestrator_agents_status' })
      await qi.addIndex('orchestrator_agents', ['tier', 'slug'], { name: 'orchestrator_agents_tier' })
      if (qi.sequelize.getDialect() === 'postgres') {
        await qi.sequelize.query('CREATE INDEX orchestrator_agents_capabilities ON orchestrator_agents USING GIN (capabilities)')
      }
    },
    async down({ queryInterface: qi }) {
      await qi.dropTable('orchestrator_agents')
    }
  },
  {
    name: 'orchestrator-0002-commands',
    async up({ queryInterface: qi }) {
      const json = jsonType(qi)
      await qi.createTable('orchestrator_commands', {
        seq: serialKey(qi),
        id: { type: DataTypes.UUID, allowNull: false },
        agent_id: { type: DataTypes.UUID, allowNull: false },
        command: { type: DataTypes.STRING(40), allowNull: false },
        args: { type: json, allowNull: false },
        status: { type: DataTypes.STRING(16), allowNull: false },
        result: { type: json, allowNull: true },
        error: { type: DataTypes.TEXT, allowNull: true },
        idempotency_key: { type: DataTypes.STRING(200), allowNull: true },
        parent_id: { type: DataTypes.UUID, allowNull: true },
        timeout_ms: { type: DataTypes.INTEGER, allowNull: false },
        attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        lease_owner: { type: DataTypes.STRING(64), allowNull: true },
        lease_until: ms(true),
        deadline_at: ms(true),
        created_at: ms(),
        started_at: ms(true),
        finished_at: ms(true)
      })
      await qi.addIndex('orchestrator_commands', ['id'], { unique: true, name: 'orchestrator_commands_id' })
      await qi.addIndex('orchestrator_commands', ['idempotency_key'], { unique: true, name: 'orchestrator_commands_idempotency' })
      // The queue: each agent's oldest queued command.
      await qi.addIndex('orchestrator_commands', ['agent_id', 'seq'], { name: 'orchestrator_commands_queued', where: { status: 'queued' } })
      // The per-agent guard: never two running commands for one agent, whatever a claimer does.
      await qi.addIndex('orchestrator_commands', ['agent_id'], { unique: true, name: 'orchestrator_commands_one_running', where: { status: 'running' } })
      await qi.addIndex('orchestrator_commands', ['lease_until'], { name: 'orchestrator_commands_leases', where: { status: 'running' } })
      await qi.addIndex('orchestrator_commands', ['agent_id', 'status', 'seq'], { name: 'orchestrator_commands_agent' })
      await qi.addIndex('orchestrator_commands', ['status', 'created_at'], { name: 'orchestrator_commands_status' })
      await qi.addIndex('orchestrator_commands', ['parent_id'], { name: 'orchestrator_commands_parent' })
    },
    async down({ queryInterface: qi }) {
      await qi.dropTable('orchestrator_commands')
    }
  },
  {
    name: 'orchestrator-0003-memories',
    async up({ queryInterface: qi }) {
      await qi.createTable('orchestrator_memories', {
        id: serialKey(qi),
        agent_id: { type: DataTypes.UUID, allowNull: false },
        command_id: { type: DataTypes.UUID, allowNull: true },
        kind: { type: DataTypes.STRING(32), allowNull: false },
        content: { type: DataTypes.TEXT, allowNull: false },
        archived: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
        created_at: ms()
      })
      // One memory per command: a re-run after a crash (at-least-once) writes nothing new.
      await qi.addIndex('orchestrator_memories', ['command_id'], { unique: true, name: 'orchestrator_memories_command' })
      await qi.addIndex('orchestrator_memories', ['agent_id', 'archived', 'id'], { name: 'orchestrator_memories_agent' })
    },
    async down({ queryInterface: qi }) {
      await qi.dropTable('orchestrator_memories')
    }
  },
  {
    name: 'orchestrator-0004-ucf',
    async up({ queryInterface: qi }) {
      const metric = { type: DataTypes.DOUBLE, allowNull: false }
      const metrics = { harmony: metric, resilience: metric, prana: metric, drishti: metric, klesha: metric, zoom: metric }
      await qi.createTable('orchestrator_ucf', {
        id: { type: DataTypes.INTEGER, primaryKey: true, allowNull: false },
        ...metrics,
        version: { type: DataTypes.INTEGER, allowNull: false },
        updated_at: ms()
      })
      await qi.bulkInsert('orchestrator_ucf', [{ id: 1, ...UCF_DEFAULTS, version: 0, updated_at: Date.now() }])
      await qi.createTable('orchestrator_ucf_history', {
        id: serialKey(qi),
        ...metrics,
        version: { type: DataTypes.INTEGER, allowNull: false },
        cause: { type: DataTypes.STRING(64), allowNull: false },
        ref: { type: DataTypes.STRING(64), allowNull: true },
        at: ms()
      })
      // A change is applied once per cause (a command or ritual run), so re-runs do not add it twice.
      await qi.addIndex('orchestrator_ucf_history', ['ref'], { unique: true, name: 'orchestrator_ucf_history_ref' })
      await qi.addIndex('orchestrator_ucf_history', ['at', 'id'], { name: 'orchestrator_ucf_history_at' })
    },
    async down({ queryInterface: qi }) {
      await qi.dropTable('orchestrator_ucf_history')
      await qi.dropTable('orchestrator_ucf')
    }
  },
  {
    name: 'orchestrator-0005-rituals-alerts',
    async up({ queryInterface: qi }) {
      const json = jsonType(qi)
      await qi.createTable('orchestrator_rituals', {
        id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
        name: { type: DataTypes.STRING(32), allowNull: false },
        steps: { type: DataTypes.INTEGER, allowNull: false },
        seed: { type: DataTypes.BIGINT, allowNull: false },
        status: { type: DataTypes.STRING(16), allowNull: false },
        progress: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        deltas: { type: json, allowNull: true },
        ucf: { type: json, allowNull: true },
        error: { type: DataTypes.TEXT, allowNull: true },
        lease_owner: { type: DataTypes.STRING(64), allowNull: true },
        lease_until: ms(true),
        created_at: ms(),
        started_at: ms(true),
        finished_at: ms(true)
      })
      await qi.addIndex('orchestrator_rituals', ['status', 'created_at'], { name: 'orchestrator_rituals_status' })
      await qi.createTable('orchestrator_alerts', {
        id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
        key: { type: DataTypes.STRING(128), allowNull: false },
        kind: { type: DataTypes.STRING(32), allowNull: false },
        severity: { type: DataTypes.STRING(16), allowNull: false },
        state: { type: DataTypes.STRING(16), allowNull: false },
        message: { type: DataTypes.STRING(500), allowNull: false },
        data: { type: json, allowNull: false },
        raised_at: ms(),
        resolved_at: ms(true)
      })
      // At most one open alert per condition: raising is an insert that does nothing when open.
      await qi.addIndex('orchestrator_alerts', ['key'], { unique: true, name: 'orchestrator_alerts_open', where: { state: 'open' } })
      await qi.addIndex('orchestrator_alerts', ['state', 'raised_at'], { name: 'orchestrator_alerts_state' })
    },
    async down({ queryInterface: qi }) {
      await qi.dropTable('orchestrator_alerts')
      await qi.dropTable('orchestrator_rituals')
    }
  },
  {
    // Expand only: the previous release keeps running on this schema during a deploy's overlap. It
    // ignores the new column and table, and its `ON CONFLICT (idempotency_key)` keeps its meaning:
    // this release stores a scoped hash in that column (see idempotency.ts), never a raw key.
    name: 'orchestrator-0006-idempotency-outbox',
    async up({ queryInterface: qi }) {
      // A hash of the canonical request body: the same key with another body is refused.
      await qi.addColumn('orchestrator_commands', 'request_hash', { type: DataTypes.STRING(64), allowNull: true })
      // The transactional outbox: each transition's events, written in the transition's own commit
      // and deleted once published (outbox.ts).
      await qi.createTable('orchestrator_outbox', {
        id: serialKey(qi),
        channel: { type: DataTypes.STRING(32), allowNull: false },
        type: { type: DataTypes.STRING(64), allowNull: false },
        ref: { type: DataTypes.STRING(64), allowNull: true },
        data: { type: jsonType(qi), allowNull: false },
        created_at: ms()
      })
    },
    async down({ queryInterface: qi }) {
      await qi.dropTable('orchestrator_outbox')
      await qi.removeColumn('orchestrator_commands', 'request_hash')
    }
  },
  {
    // Expand only: who asked for a command or a ritual (the token's subject, or the subject a plugin
    // acted for, e.g. discord:<userId>). The previous release leaves the columns NULL.
    name: 'orchestrator-0007-requested-by',
    async up({ queryInterface: qi }) {
      await qi.addColumn('orchestrator_commands', 'requested_by', { type: DataTypes.STRING(200), allowNull: true })
      await qi.addColumn('orchestrator_rituals', 'requested_by', { type: DataTypes.STRING(200), allowNull: true })
    },
    async down({ queryInterface: qi }) {
      await qi.removeColumn('orchestrator_rituals', 'requested_by')
      await qi.removeColumn('orchestrator_commands', 'requested_by')
    }
  },
  {
    // Expand only: the W3C traceparent of the request that accepted a command, so its execution
    // (possibly in another process) continues that trace. The previous release leaves it NULL.
    name: 'orchestrator-0008-traceparent',
    async up({ queryInterface: qi }) {
      await qi.addColumn('orchestrator_commands', 'traceparent', { type: DataTypes.TEXT, allowNull: true })
    },
    async down({ queryInterface: qi }) {
      await qi.removeColumn('orchestrator_commands', 'traceparent')
    }
  }
]
