// The errors the fake answers with, shaped like Discord's (`{message, code, errors?}`), so discord.js
// raises the same DiscordAPIError it would in production.

/** One invalid field of a request body, at its JSON path (`['embeds', 0, 'title']`). */
export interface FormIssue {
  path: (string | number)[]
  code: string
  message: string
}

export class DiscordError extends Error {
  override name = 'DiscordError'
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly issues: FormIssue[] = []
  ) {
    super(message)
  }

  /** The JSON body Discord sends: form errors nested by path, each leaf holding `_errors`. */
  body(): Record<string, unknown> {
    if (this.issues.length === 0) return { message: this.message, code: this.code }
    const errors: Record<string, any> = {}
    for (const issue of this.issues) {
      let node = errors
      for (const key of issue.path) node = node[key] ??= {}
      ;(node._errors ??= []).push({ code: issue.code, message: issue.message })
    }
    return { message: this.message, code: this.code, errors }
  }
}

export const discordErrors = {
  unauthorized: () => new DiscordError(401, 0, '401: Unauthorized'),
  missingAccess: () => new DiscordError(403, 50001, 'Missing Access'),
  routeNotFound: () => new DiscordError(404, 0, '404: Not Found'),
  unknownApplication: () => new DiscordError(404, 10002, 'Unknown Application'),
  unknownChannel: () => new DiscordError(404, 10003, 'Unknown Channel'),
  unknownGuild: () => new DiscordError(404, 10004, 'Unknown Guild'),
  unknownMember: () => new DiscordError(404, 10007, 'Unknown Member'),
  unknownMessage: () => new DiscordError(404, 10008, 'Unknown Message'),
  unknownUser: () => new DiscordError(404, 10013, 'Unknown User'),
  unknownWebhook: () => new DiscordError(404, 10015, 'Unknown Webhook'),
  unknownVoiceState: () => new DiscordError(404, 10065, 'Unknown Voice State'),
  unknownInteraction: () => new DiscordError(404, 10062, 'Unknown interaction'),
  alreadyAcknowledged: () => new DiscordError(400, 40060, 'Interaction has already been acknowledged.'),
  emptyMessage: () => new DiscordError(400, 50006, 'Cannot send an empty message'),
  nonTextChannel: () => new DiscordError(400, 50008, 'Cannot send messages in a non-text channel'),
  invalidJson: () => new DiscordError(400, 50109, 'The request body contains invalid JSON.'),
  invalidForm: (issues: FormIssue[]) => new DiscordError(400, 50035, 'Invalid Form Body', issues)
}
