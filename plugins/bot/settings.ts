// The bot's env settings (DESIGN section 12), parsed at boot with the kernel's (config/).
import { Type } from 'typebox'
import { positiveInt, url, type EnvVar } from '../../config/env.js'

/** A Discord id: a snowflake of up to 20 digits. */
const snowflake = (doc: string): EnvVar<ReturnType<typeof Type.String>> => ({
  schema: Type.String({ pattern: '^\\d{15,20}$' }),
  example: '1187654321098765432',
  expect: 'a Discord id (15 to 20 digits)',
  doc
})

export const botSettings = {
  DISCORD_TOKEN: {
    schema: Type.String({ minLength: 20, pattern: '^[^\\s]+$' }),
    example: '<the bot token from the Developer Portal, Bot page>',
    expect: 'a Discord bot token',
    doc: 'Bot token. Unset: the bot plugin logs one line and stays off.',
    secret: true
  },
  DISCORD_APPLICATION_ID: snowflake('Application id, for `helix bot:register` (default: read from the token\'s application).'),
  DISCORD_GUILD_ID: snowflake('Server (guild) to register the commands in; unset: global commands (they take up to an hour to appear).'),
  DISCORD_ALERT_CHANNEL_ID: snowflake('Channel for alerts, ritual completions, failed commands, Zapier `discord_notification`s and the telemetry embed; unset: no live posts.'),
  DISCORD_ADMIN_ROLE_ID: snowflake('Role allowed to run `/flags`; unset: members with the Administrator permission.'),
  DISCORD_OPERATOR_ROLE_ID: snowflake('Role allowed to run `/command`, `/ritual`, `/speak` and `/voice`; unset: members with the Administrator permission.'),
  DISCORD_TELEMETRY_MINUTES: positiveInt('10', 0, 1440, 'Minutes between UCF telemetry embeds in the alert channel; `0` turns them off.'),
  DISCORD_API_URL: {
    ...url(['http', 'https'], 'https://discord.com/api', 'Discord REST base (discord.js appends `/v10`); the gateway URL comes from its `/gateway/bot`.'),
    default: 'https://discord.com/api'
  },
  DISCORD_LEASE_TTL_MS: positiveInt('10000', 500, 600_000, 'How long the `bot` lease outlives a crashed holder: the longest a gateway hand-over waits.')
}
