// A Discord-like HTML picture (dark theme) of a message the bot sent, for previews of its embeds in the
// README: content, embeds with their colour bar, author, title, description, fields and footer.
import type { APIEmbed } from 'discord.js'

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => escapes[c])
}

/** The Markdown the bot's embeds use: code blocks, inline code, bold, italics and line breaks. */
function markdown(text: string): string {
  return escape(text)
    .replace(/```(?:\w*\n)?([\s\S]*?)```/g, (_, code: string) => `<pre>${code.replace(/\n/g, '&#10;')}</pre>`)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/\*([^*]+)\*/g, '<em>$1</em>')
    .replace(/\n/g, '<br>')
}

function embedHtml(embed: APIEmbed): string {
  const color = `#${(embed.color ?? 0x1e1f22).toString(16).padStart(6, '0')}`
  const parts: string[] = []
  if (embed.author?.name) parts.push(`<div class="author">${escape(embed.author.name)}</div>`)
  if (embed.title) parts.push(`<div class="title">${markdown(embed.title)}</div>`)
  if (embed.description) parts.push(`<div class="description">${markdown(embed.description)}</div>`)
  if (embed.fields?.length) {
    const fields = embed.fields.map((f) =>
      `<div class="field${f.inline ? ' inline' : ''}"><div class="name">${markdown(f.name)}</div><div class="value">${markdown(f.value)}</div></div>`)
    parts.push(`<div class="fields">${fields.join('')}</div>`)
  }
  const footer = [embed.footer?.text, embed.timestamp && new Date(embed.timestamp).toUTCString()].filter(Boolean).map((s) => escape(String(s)))
  if (footer.length) parts.push(`<div class="footer">${footer.join(' • ')}</div>`)
  return `<div class="embed" style="border-left-color:${color}">${parts.join('')}</div>`
}

const style = `
body{margin:0;background:#313338;color:#dbdee1;font:16px/1.375 "gg sans","Noto Sans","Helvetica Neue",Helvetica,Arial,sans-serif}
.message{display:flex;gap:16px;padding:16px}
.avatar{width:40px;height:40px;border-radius:50%;background:#5865f2;flex:none}
.header{display:flex;align-items:center;gap:6px}.username{color:#f2f3f5;font-weight:500}
.bot{background:#5865f2;color:#fff;font-size:10px;font-weight:600;border-radius:3px;padding:1px 4px}
.embed{max-width:520px;margin-top:4px;background:#2b2d31;border-left:4px solid;border-radius:4px;padding:8px 16px 16px 12px}
.author{font-size:14px;font-weight:600;color:#f2f3f5;margin-top:8px}.title{font-weight:600;color:#f2f3f5;margin-top:8px}
.description{font-size:14px;margin-top:8px}.fields{display:grid;grid-template-columns:repeat(3,1fr);gap:8px;margin-top:8px}
.field{grid-column:1/-1;font-size:14px}.field.inline{grid-column:auto}.name{font-weight:600;color:#f2f3f5}
.footer{font-size:12px;margin-top:8px;color:#b5bac1}
code,pre{font-family:Consolas,"Andale Mono",monospace;background:#1e1f22;border-radius:4px;font-size:85%;padding:0 3px}
pre{padding:6px;white-space:pre;margin:4px 0}`

/** A standalone HTML page showing one message as Discord shows it. */
export function renderMessageHtml(message: { content?: string; embeds?: APIEmbed[] }, author = 'Helix'): string {
  const content = message.content ? `<div class="content">${markdown(message.content)}</div>` : ''
  const embeds = (message.embeds ?? []).map(embedHtml).join('')
  return `<!doctype html><html><head><meta charset="utf-8"><style>${style}</style></head><body>` +
    `<div class="message"><div class="avatar"></div><div><div class="header"><span class="username">${escape(author)}</span>` +
    `<span class="bot">APP</span></div>${content}${embeds}</div></div></body></html>`
}
