// The Zapier plugin's tables, for PostgreSQL and SQLite alike; times are epoch milliseconds (BIGINT).
import { DataTypes, type QueryInterface } from 'sequelize'
import type { Migration } from '../../core/db/index.js'

const json = (qi: QueryInterface) => (qi.sequelize.getDialect() === 'postgres' ? DataTypes.JSONB : DataTypes.JSON)
const ms = (allowNull = false) => ({ type: DataTypes.BIGINT, allowNull })
const text = (allowNull = false) => ({ type: DataTypes.TEXT, allowNull })
const str = (length: number, allowNull = false) => ({ type: DataTypes.STRING(length), allowNull })
const int = { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 }

export const migrations: readonly Migration[] = [
  {
    name: 'zapier-0001-events',
    async up({ queryInterface: qi }) {
      await qi.createTable('zapier_events', {
        id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
        source: str(64),
        // The sender's event id (webhook-id): one row per id and source is the de-duplication.
        external_id: str(200),
        type: str(100),
        data: { type: json(qi), allowNull: false },
        status: str(16),
        attempts: int,
        result: { type: json(qi), allowNull: true },
        error: text(true),
        lease_until: ms(true),
        enqueued_at: ms(),
        received_at: ms(),
        finished_at: ms(true)
      })
      await qi.addIndex('zapier_events', ['source', 'external_id'], { unique: true, name: 'zapier_events_external' })
      await qi.addIndex('zapier_events', ['status', 'received_at'], { name: 'zapier_events_status' })
    },
    async down({ queryInterface: qi }) {
      await qi.dropTable('zapier_events')
    }
  },
  {
    name: 'zapier-0002-outbound',
    async up({ queryInterface: qi }) {
      await qi.createTable('zapier_api_keys', {
        id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
        name: str(100),
        key_hash: str(64),
        prefix: str(16),
        created_at: ms(),
        last_used_at: ms(true),
        revoked_at: ms(true)
      })
      await qi.addIndex('zapier_api_keys', ['key_hash'], { unique: true, name: 'zapier_api_keys_hash' })
      await qi.createTable('zapier_subscriptions', {
        id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
        api_key_id: { type: DataTypes.UUID, allowNull: false },
        target_url: str(2000),
        event: str(64),
        secret: str(100),
        status: str(16),
        failing_since: ms(true),
        created_at: ms(),
        deleted_at: ms(true)
      })
      // The same target and event again is the same subscription (REST Hooks subscribe is retried by Zapier).
      await qi.addIndex('zapier_subscriptions', ['api_key_id', 'target_url', 'event'], { unique: true, name: 'zapier_subscriptions_target', where: { deleted_at: null } })
      await qi.addIndex('zapier_subscriptions', ['event', 'status'], { name: 'zapier_subscriptions_event' })
      await qi.createTable('zapier_deliveries', {
        id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
        subscription_id: { type: DataTypes.UUID, allowNull: false },
        event_key: str(120),
        event: str(64),
        payload: text(),
        status: str(16),
        attempts: int,
        next_attempt_at: ms(),
        lease_owner: str(64, true),
        lease_until: ms(true),
        last_status: { type: DataTypes.INTEGER, allowNull: true },
        last_error: text(true),
        created_at: ms(),
        finished_at: ms(true)
      })
      // One delivery per subscription and bus event, whichever replica heard the event.
      await qi.addIndex('zapier_deliveries', ['subscription_id', 'event_key'], { unique: true, name: 'zapier_deliveries_event' })
      await qi.addIndex('zapier_deliveries', ['status', 'next_attempt_at'], { name: 'zapier_deliveries_due' })
      await qi.createTable('zapier_delivery_attempts', {
        id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
        delivery_id: { type: DataTypes.UUID, allowNull: false },
        attempt: { type: DataTypes.INTEGER, allowNull: false },
        at: ms(),
        status_code: { type: DataTypes.INTEGER, allowNull: true },
        error: text(true),
        duration_ms: { type: DataTypes.INTEGER, allowNull: false }
      })
      await qi.addIndex('zapier_delivery_attempts', ['delivery_id', 'attempt'], { name: 'zapier_delivery_attempts_delivery' })
    },
    async down({ queryInterface: qi }) {
      for (const table of ['zapier_delivery_attempts', 'zapier_deliveries', 'zapier_subscriptions', 'zapier_api_keys']) await qi.dropTable(table)
    }
  }
]
