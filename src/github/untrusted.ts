// Text from users without write access reaches a model only as quoted data: hidden text removed (it
// hides instructions from the humans reading the thread), capped per comment and per thread (an
// outsider's flood must not become a megabyte of prompt), and wrapped so it cannot close its quote.

/**
 * Characters nobody sees: every Unicode format character (bidi controls, zero-width, tags), every
 * default-ignorable code point (soft hyphen, combining grapheme joiner, Hangul fillers, U+3164),
 * every variation selector (U+FE00–FE0F and U+E0100–E01EF, which can carry bytes), and the C0/C1
 * controls other than tab and newline.
 */
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}\p{Variation_Selector}\u0000-\u0008\u000B-\u001F\u007F-\u009F]/gu;
/** An HTML comment, or one left open to the end (GitHub hides both). */
const HTML_COMMENT = /<!--[\s\S]*?(?:-->|$)/g;
/** A Markdown link reference definition (`[//]: # (hidden)`): rendered as nothing. */
const LINK_DEFINITION = /^ {0,3}\[[^\]\n]*\]:[^\n]*(?:\n|$)/gm;

/**
 * `text` without anything GitHub would not show, to a fixed point: removing one piece can join the
 * halves of another (`<!-<!-- x -->- y -->`, `<!\u200B-- y -->`), so it repeats until nothing changes.
 */
export function sanitizeText(text: string): string {
  let current = text.replace(/\r\n?/g, '\n');
  for (;;) {
    const next = current.replace(INVISIBLE, '').replace(HTML_COMMENT, '').replace(LINK_DEFINITION, '');
    if (next === current) return next;
    current = next;
  }
}

/** Untrusted words as data: sanitised, and quoted in a tag the text itself cannot end. */
export function quoteUntrusted(author: string, text: string): string {
  const body = sanitizeText(text).replace(/<\/?untrusted[^>]*>/gi, '[tag removed]');
  return `<untrusted author="${author.replace(/[^\w.-]/g, '')}">\n${body}\n</untrusted>`;
}

/** At most this much of one untrusted comment (or issue body) reaches a model. */
export const UNTRUSTED_COMMENT_MAX = 4_000;
/** At most this much untrusted text in all, for one thread. */
export const UNTRUSTED_THREAD_MAX = 16_000;

/**
 * Hands out the thread's allowance of untrusted text, in thread order: each piece cut to the
 * per-comment cap, and nothing once the thread's allowance is spent. Every cut is said in words.
 */
export class UntrustedAllowance {
  #left = UNTRUSTED_THREAD_MAX;
  #dropped = { comments: 0, characters: 0, authors: new Set<string>() };

  /** The quoted text, or null when the thread's allowance is spent (counted for `leftOut`). */
  quote(author: string, text: string): string | null {
    const clean = sanitizeText(text);
    if (this.#left <= 0) {
      this.#dropped.comments++;
      this.#dropped.characters += clean.length;
      this.#dropped.authors.add(author);
      return null;
    }
    const room = Math.min(UNTRUSTED_COMMENT_MAX, this.#left);
    const kept = clean.length > room ? `${[...clean].slice(0, room).join('')}\n[cut: ${clean.length - room} more characters of this comment were left out]` : clean;
    this.#left -= Math.min(clean.length, room);
    return quoteUntrusted(author, kept);
  }

  /** A line saying what was left out, or null when nothing was. */
  leftOut(): string | null {
    const d = this.#dropped;
    if (!d.comments) return null;
    return `(${d.comments} more comment(s) by users without write access (${[...d.authors].map((a) => `@${a}`).join(', ')}; ${d.characters} characters) were left out: the limit of ${UNTRUSTED_THREAD_MAX} characters of such text per thread was reached.)`;
  }
}
