// The messages the bot posted (channel messages, interaction replies and follow-ups): created, edited
// and deleted the way Discord does, with Discord's size limits, so a too-long embed fails here too.
import { EmbedType, MessageFlags, type APIAttachment, type APIEmbed, type APIMessage, type APIUser, type MessageType } from 'discord.js'
import { discordErrors, type FormIssue } from './errors.js'
import type { NextId } from './ids.js'

/** A file uploaded with a message (multipart `files[n]`). */
export interface UploadedFile {
  field: string
  name: string
  contentType: string
  data: Buffer
}

/** The message fields of a create or edit body, as discord.js sends them. */
export interface MessageBody {
  content?: string
  embeds?: APIEmbed[]
  components?: APIMessage['components']
  flags?: number
  tts?: boolean
  nonce?: string | number
  attachments?: { id: string | number }[]
}

export interface MessageInit {
  channelId: string
  author: APIUser
  type: MessageType
  body: MessageBody
  files: UploadedFile[]
  /** A deferred reply: empty, with the Loading flag until its first edit. */
  loading?: boolean
  /** Set on interaction replies and follow-ups: they come through the application's webhook. */
  interaction?: { id: string; type: number; user: APIUser; applicationId: string }
}

const limits = { content: 2000, embeds: 10, embedTotal: 6000, title: 256, description: 4096, fields: 25, fieldName: 256, fieldValue: 1024, footer: 2048, author: 256 }

function tooLong(path: FormIssue['path'], max: number): FormIssue {
  return { path, code: 'BASE_TYPE_MAX_LENGTH', message: `Must be ${max} or fewer in length.` }
}

function badLength(path: FormIssue['path'], max: number): FormIssue {
  return { path, code: 'BASE_TYPE_BAD_LENGTH', message: `Must be between 1 and ${max} in length.` }
}

/** Discord's limits on content and embeds: the reasons a real post would be refused with 50035. */
function messageIssues(body: MessageBody): FormIssue[] {
  const issues: FormIssue[] = []
  if (typeof body.content === 'string' && body.content.length > limits.content) issues.push(tooLong(['content'], limits.content))
  const embeds = body.embeds ?? []
  if (embeds.length > limits.embeds) issues.push(tooLong(['embeds'], limits.embeds))
  let total = 0
  embeds.forEach((embed, i) => {
    const at = (...path: (string | number)[]) => ['embeds', i, ...path]
    const text = (value: string | undefined, max: number, ...path: (string | number)[]) => {
      total += value?.length ?? 0
      if (value && value.length > max) issues.push(tooLong(at(...path), max))
    }
    text(embed.title, limits.title, 'title')
    text(embed.description, limits.description, 'description')
    text(embed.footer?.text, limits.footer, 'footer', 'text')
    text(embed.author?.name, limits.author, 'author', 'name')
    const fields = embed.fields ?? []
    if (fields.length > limits.fields) issues.push(tooLong(at('fields'), limits.fields))
    fields.forEach((field, j) => {
      total += (field.name?.length ?? 0) + (field.value?.length ?? 0)
      if (!field.name || field.name.length > limits.fieldName) issues.push(badLength(at('fields', j, 'name'), limits.fieldName))
      if (!field.value || field.value.length > limits.fieldValue) issues.push(badLength(at('fields', j, 'value'), limits.fieldValue))
    })
  })
  if (total > limits.embedTotal) issues.push({ path: ['embeds'], code: 'MAX_EMBED_SIZE_EXCEEDED', message: `Embed size exceeds maximum size of ${limits.embedTotal}` })
  return issues
}

export function createMessageStore(nextId: NextId) {
  const messages = new Map<string, APIMessage>()

  function attachments(channelId: string, files: UploadedFile[]): APIAttachment[] {
    return files.map((file) => {
      const id = nextId()
      const url = `https://cdn.discordapp.com/attachments/${channelId}/${id}/${encodeURIComponent(file.name)}`
      return { id, filename: file.name, size: file.data.length, url, proxy_url: url, content_type: file.contentType }
    })
  }

  function validate(body: MessageBody): void {
    const issues = messageIssues(body)
    if (issues.length > 0) throw discordErrors.invalidForm(issues)
  }

  return {
    create(init: MessageInit): APIMessage {
      const { body } = init
      const hasEmbeds = (body.embeds?.length ?? 0) > 0
      const hasComponents = (body.components?.length ?? 0) > 0
      if (!init.loading && !body.content && !hasEmbeds && !hasComponents && init.files.length === 0) throw discordErrors.emptyMessage()
      validate(body)
      const message: APIMessage = {
        id: nextId(),
        channel_id: init.channelId,
        author: init.author,
        content: body.content ?? '',
        timestamp: new Date().toISOString(),
        edited_timestamp: null,
        tts: body.tts ?? false,
        mention_everyone: false,
        mentions: [],
        mention_roles: [],
        attachments: attachments(init.channelId, init.files),
        embeds: (body.embeds ?? []).map((e) => ({ type: EmbedType.Rich, ...e })),
        components: body.components ?? [],
        pinned: false,
        type: init.type,
        flags: (body.flags ?? 0) as MessageFlags,
        ...(body.nonce !== undefined ? { nonce: body.nonce } : {}),
        ...(init.interaction
          ? {
              webhook_id: init.interaction.applicationId,
              application_id: init.interaction.applicationId,
              interaction_metadata: {
                id: init.interaction.id,
                type: init.interaction.type,
                user: init.interaction.user,
                authorizing_integration_owners: {}
              } as APIMessage['interaction_metadata']
            }
          : {})
      }
      messages.set(message.id, message)
      return message
    },

    get(id: string): APIMessage | undefined {
      return messages.get(id)
    },

    /** Replaces the fields the body names, as Discord's PATCH does; `attachments` lists those to keep. */
    edit(id: string, body: MessageBody, files: UploadedFile[]): APIMessage {
      const message = messages.get(id)
      if (!message) throw discordErrors.unknownMessage()
      validate(body)
      if (body.content !== undefined) message.content = body.content ?? ''
      if (body.embeds !== undefined) message.embeds = (body.embeds ?? []).map((e) => ({ type: EmbedType.Rich, ...e }))
      if (body.components !== undefined) message.components = body.components ?? []
      if (body.flags !== undefined) message.flags = body.flags as MessageFlags
      message.flags = ((message.flags ?? 0) & ~MessageFlags.Loading) as MessageFlags
      if (body.attachments !== undefined) {
        const keep = new Set((body.attachments ?? []).map((a) => String(a.id)))
        message.attachments = message.attachments.filter((a) => keep.has(a.id))
      }
      message.attachments.push(...attachments(message.channel_id, files))
      message.edited_timestamp = new Date().toISOString()
      return message
    },

    remove(id: string): void {
      if (!messages.delete(id)) throw discordErrors.unknownMessage()
    },

    /** The channel's messages that still exist, oldest first. */
    inChannel(channelId: string): APIMessage[] {
      return [...messages.values()].filter((m) => m.channel_id === channelId)
    }
  }
}

export type MessageStore = ReturnType<typeof createMessageStore>
