// The inbound events' store on PostgreSQL: the sweep's pages of stranded rows (as the pipeline's tick
// takes them, 500 at a time at one `now`) end, and take each row once.
import { pino } from 'pino'
import { Sequelize } from 'sequelize'
import t from 'tap'
import { EventStore } from '../../plugins/zapier/event-store.js'
import { migrations } from '../../plugins/zapier/migrations.js'
import { Sql } from '../../plugins/zapier/sql.js'
import { createTestDatabase } from '../helpers/db.js'

t.test('a sweep over more than a page of lapsed processing rows takes each once, and ends', async (t) => {
  const databaseUrl = await createTestDatabase(t, 'zap_store')
  const sequelize = new Sequelize(databaseUrl, { dialect: 'postgres', logging: false })
  for (const migration of migrations) await migration.up({ queryInterface: sequelize.getQueryInterface(), sequelize })
  const sql = new Sql(sequelize, databaseUrl, pino({ level: 'silent' }))
  t.teardown(async () => {
    await sql.close()
    await sequelize.close()
  })
  const store = new EventStore(sql)
  const now = Date.now()
  await Promise.all(Array.from({ length: 600 }, (_, n) => store.receive({ source: 'zap', externalId: `e${n}`, type: 'note', data: {}, now: now - 60_000 })))
  // Their runners died: leases lapsed a second ago.
  await sql.run(`UPDATE zapier_events SET status = 'processing', attempts = 1, lease_until = $1`, [now - 1000])

  const pages: number[] = []
  let ids: string[]
  do {
    ids = await store.takeStranded(now - 300_000, now, 500)
    pages.push(ids.length)
  } while (ids.length === 500 && pages.length < 5)
  t.same(pages, [500, 100], 'two pages: every lapsed row once')
  t.same(await store.takeStranded(now + 5000, now + 5000, 500).then((next) => next.length), 500, 'the next sweep takes them again')
})
