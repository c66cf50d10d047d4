// Only the app's own posts are the app's. Every surface module finds its comments, reviews, pull
// requests and check runs by their author, the app's bot account, never by a marker: anyone who can
// comment can type a marker.

/** The login GitHub gives an app's bot account: `<slug>[bot]`. */
export const botLogin = (slug: string) => `${slug}[bot]`;

/** A filter for items (comments, reviews, pull requests) the bot `bot` wrote. */
export const writtenBy =
  (bot: string) =>
  (item: { user?: { login?: string } | null }): boolean =>
    item.user?.login === bot;
