// Who may run what: DISCORD_OPERATOR_ROLE_ID for the commands that change things, DISCORD_ADMIN_ROLE_ID
// for /flags; without the role setting, only members with Discord's Administrator permission.
import { PermissionFlagsBits, type ChatInputCommandInteraction } from 'discord.js'
import { ADMIN_COMMANDS, OPERATOR_COMMANDS } from './commands.js'

export interface AccessRoles {
  operatorRoleId?: string
  adminRoleId?: string
}

/** The role a command needs, or null when anyone in the server may run it. */
function requiredRole(command: string, roles: AccessRoles): { roleId: string | undefined; label: string } | null {
  if (ADMIN_COMMANDS.has(command)) return { roleId: roles.adminRoleId, label: 'admin' }
  if (OPERATOR_COMMANDS.has(command)) return { roleId: roles.operatorRoleId, label: 'operator' }
  return null
}

/** Null when allowed; otherwise the sentence the member is told. */
export function refusal(interaction: ChatInputCommandInteraction, roles: AccessRoles): string | null {
  const required = requiredRole(interaction.commandName, roles)
  if (!required) return null
  const isAdministrator = interaction.memberPermissions?.has(PermissionFlagsBits.Administrator) ?? false
  if (isAdministrator) return null
  const member = interaction.member
  const memberRoles = member && 'roles' in member
    ? (Array.isArray(member.roles) ? member.roles : [...member.roles.cache.keys()])
    : []
  if (required.roleId && memberRoles.includes(required.roleId)) return null
  return required.roleId
    ? `/${interaction.commandName} needs the <@&${required.roleId}> role.`
    : `/${interaction.commandName} is for server administrators (no ${required.label} role is configured).`
}
