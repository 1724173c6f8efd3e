// The bot's internal request contract (DESIGN section 6): another plugin (the Zapier pipeline's
// `discord_notification`) asks for a Discord post by publishing on this internal bus channel.
export const BOT_POSTS_CHANNEL = 'bot.posts'

/** The internal event type of a post request on BOT_POSTS_CHANNEL. */
export const BOT_POST_REQUESTED = 'bot.post_requested'

export interface BotPostRequest {
  message: string
  /** The channel to post in; the bot's alert channel when absent. */
  channelId?: string
  /** Who asked, e.g. `zapier:<source>`; shown under the post. */
  source: string
}
