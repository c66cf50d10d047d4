// Only the app's own posts are the app's. Every surface module finds its comments, reviews and pull
// requests by their author, the app's bot account, and only then by the marker at their start (check
// runs: by the app that posted them and their external_id). A marker alone proves nothing: anyone
// who can comment can type one.

/** The login GitHub gives an app's bot account: `<slug>[bot]`. */
export const botLogin = (slug: string) => `${slug}[bot]`;

/** A filter for items (comments, reviews, pull requests) the bot `bot` wrote. */
export const writtenBy =
  (bot: string) =>
  (item: { user?: { login?: string } | null }): boolean =>
    item.user?.login === bot;
