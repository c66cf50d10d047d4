// Text from users without write access reaches a model only as quoted data: HTML comments and
// invisible characters removed (they hide instructions from the humans reading the thread), and
// wrapped so it cannot close its own quote.
const HTML_COMMENT = /<!--[\s\S]*?(-->|$)/g;
// Zero-width and joiners, bidi controls, BOM, soft hyphen, word joiner family, Unicode tag characters.
const INVISIBLE = /[\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF]|[\u{E0000}-\u{E007F}]/gu;

export function sanitizeText(text: string): string {
  return text.replace(HTML_COMMENT, '').replace(INVISIBLE, '');
}

/** Untrusted words as data: sanitised, and quoted in a tag the text itself cannot end. */
export function quoteUntrusted(author: string, text: string): string {
  const body = sanitizeText(text).replace(/<\/?untrusted[^>]*>/gi, '[tag removed]');
  return `<untrusted author="${author.replace(/[^\w.-]/g, '')}">\n${body}\n</untrusted>`;
}
