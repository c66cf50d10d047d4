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
/**
 * HTML that renders as nothing or only on hover: comments, CDATA, processing instructions and
 * declarations (an HTML parser turns the last three into comments), script and style with their
 * contents; each also when left open to the end (a Markdown HTML block runs on to the end). Tags
 * themselves go too, attributes with them (`title`, `alt`); the text between them stays.
 */
const HTML_COMMENT = /<!--[\s\S]*?(?:-->|$)/g;
const HIDDEN_HTML = [
  HTML_COMMENT,
  /<!\[CDATA\[[\s\S]*?(?:\]\]>|$)/g,
  /<\?[\s\S]*?(?:>|$)/g,
  /<![\s\S]*?(?:>|$)/g,
  /<(script|style|template|noscript)\b[\s\S]*?(?:<\/\1\s*>|$)/gi,
  // A tag is raw HTML only when complete; `a <b` stays text.
  // Quoted attribute values may hold `>` (`title="a>b"` is still one tag). Each alternative starts
  // with a different character, so the repetition cannot backtrack.
  /<\/?[A-Za-z][A-Za-z0-9-]*(?:\s(?:[^<>"']|"[^"]*"|'[^']*')*)?\/?>/g,
];
/**
 * A Markdown link reference definition (`[//]: # (hidden)`), rendered as nothing: its label may
 * span lines, it may sit in a quote or a list item, and its title may run on over later lines, so
 * everything up to the next blank line goes with it (what that also removes was visible, never hidden).
 */
// The prefix is one flat character class and the label is bounded (CommonMark: at most 999
// characters): no nested quantifier, so no input makes this backtrack beyond linear-times-999 (a
// nested `(?:[ \t]*…)*` once took minutes on a line indented 32 spaces).
const LINK_DEFINITION = /^[ \t>*+\-0-9.)]*\[[^\]]{0,999}\]:[\s\S]*?(?:\n[ \t>]*\n|(?![\s\S]))/gm;
/** A link's title (`[a](url "hidden")`), shown only on hover. */
// The destination stops at the next `(` and is bounded: `](` repeated once made each try scan to the end.
const LINK_TITLE = /(\]\([^()\s]{0,2000})\s+(?:"[^"]*"|'[^']*'|\([^)]*\))\s*\)/g;

/**
 * Inline code that Markdown reads as code however it is surrounded: one backtick, not escaped nor
 * beside another, closed on the same line by one that is not beside another either. Everything else
 * (fences, double-backtick spans) counts as prose: a pattern that took more for code would let a
 * look-alike keep a live mention, and one that parsed more would cost time on hostile input. Linear:
 * no nested quantifier.
 */
const INLINE_CODE = /(?<![`\\])`(?!`)[^`\n]+(?<!`)`(?!`)/g;

/**
 * A model's words in one of the app's comments, unable to ping anyone: a word joiner after the `@`
 * of anything GitHub would take for a mention (`@user`, `@org/team`, `&#64;user` and `@&#97;lice`,
 * which render as one), except in simple inline code, which stays as written (a mention in a fenced
 * block gets the joiner too). Bare carriage returns, which Markdown takes for line ends, become
 * newlines. Applied after secrets are redacted, since it changes the text a secret would match.
 */
export function unmention(raw: string): string {
  const text = raw.replace(/\r\n?/g, '\n');
  let out = '';
  let at = 0;
  for (const code of text.matchAll(INLINE_CODE)) {
    out += unmentionProse(text.slice(at, code.index)) + code[0];
    at = code.index + code[0].length;
  }
  return out + unmentionProse(text.slice(at));
}

// A `/` before the `@` is a URL's path (`github.com/@user`), not a mention.
const unmentionProse = (text: string) => text.replace(/&(?:#0*64|#x0*40|commat);/gi, '@').replace(/(^|[^\w/])@(?=[\w&-])/g, '$1@\u2060');

/** A model's words inside a table cell: no mention, and `<` `>` show as themselves instead of opening HTML that could hide the rest. */
export const inert = (text: string) => unmention(text).replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The backticks that fence `text` as code with no run of its own able to close it: one more than its longest run, `min` at least. */
export const fenceFor = (text: string, min: number) => '`'.repeat((text.match(/`+/g) ?? []).reduce((most, run) => Math.max(most, run.length + 1), min));

/** `text` without its HTML comments (one left open runs to the end), as GitHub shows it. */
export const withoutHtmlComments = (text: string) => text.replace(HTML_COMMENT, '');

/** What in a model's text (a plan) would hide what follows it, or characters, from a reader; null when nothing does. */
export function hidingConstruct(text: string): string | null {
  const invisible = new RegExp(INVISIBLE.source, 'u').exec(text);
  if (invisible) return `U+${invisible[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  const html = /<!--|<\?|<![A-Za-z[]|<(?:script|style|textarea|pre|template|noscript)\b/i.exec(text);
  if (html) return html[0];
  const definition = /^ {0,3}\[[^\]\n]{1,999}\]:/m.exec(text);
  return definition ? definition[0].trim() : null;
}

/**
 * `text` without anything GitHub would not show, to a fixed point: removing one piece can join the
 * halves of another (`<!-<!-- x -->- y -->`, `<!\u200B-- y -->`), so it repeats until nothing changes.
 */
export function sanitizeText(text: string): string {
  let current = text.replace(/\r\n?/g, '\n');
  for (let pass = 0; ; pass++) {
    // Text built to need a pass per layer (`<<<<b>!>!>!>…`) would cost passes × length: past a few
    // passes every angle bracket goes, which leaves no HTML to hide anything in, and one more pass ends it.
    if (pass === MAX_PASSES) current = current.replace(/[<>]/g, '');
    let next = current.replace(INVISIBLE, '');
    for (const pattern of HIDDEN_HTML) next = next.replace(pattern, '');
    next = next.replace(LINK_DEFINITION, '\n').replace(LINK_TITLE, '$1)');
    if (next === current) return next;
    current = next;
  }
}

/** Passes of sanitizeText before it flattens what is left. */
const MAX_PASSES = 8;

/** Untrusted words as data: sanitised, and quoted in a tag the text itself cannot end. */
export function quoteUntrusted(author: string, text: string): string {
  const body = sanitizeText(text).replace(/<\/?untrusted[^>]*>/gi, '[tag removed]');
  return `<untrusted author="${author.replace(/[^\w.-]/g, '')}">\n${body}\n</untrusted>`;
}

/** At most this many characters (code points) of one untrusted comment reach a model. */
export const UNTRUSTED_COMMENT_MAX = 4_000;
/** At most this many of an untrusted issue's title and body (the request itself; not part of the thread's allowance). */
export const UNTRUSTED_ISSUE_MAX = 8_000;
/** At most this much untrusted text in all, for one thread, wrappers included. */
export const UNTRUSTED_THREAD_MAX = 16_000;
/** Only the newest this many untrusted comments are read at all: a flood costs nothing past it. */
const UNTRUSTED_COMMENTS_READ = 100;
/** What quoting a comment costs besides its text (its header and tags): empty comments count too. */
const QUOTE_COST = 100;

/** An untrusted issue's words, quoted and capped. */
export function quoteIssue(author: string, text: string): string {
  return quoteUntrusted(author, capped(text, UNTRUSTED_ISSUE_MAX).text);
}

/**
 * The thread's untrusted comments, quoted, within the thread's allowance: shared fairly between
 * their authors (each gets what they need up to an equal share of what is left, so one flood cannot
 * crowd out someone else's answer), each comment cut to the per-comment cap, the newest
 * ${UNTRUSTED_COMMENTS_READ} read at most. Null for a comment left out; `leftOut` says what was.
 */
export function quoteThread(comments: { author: string; text: string }[]): { quoted: (string | null)[]; leftOut: string | null } {
  const readFrom = Math.max(0, comments.length - UNTRUSTED_COMMENTS_READ);
  const pieces = comments.map((c, i) => (i < readFrom ? null : { author: c.author, ...capped(c.text, UNTRUSTED_COMMENT_MAX) }));
  // Water-filling: authors by what they ask for, smallest first; each gets at most an equal share.
  const demand = new Map<string, number>();
  for (const p of pieces) if (p) demand.set(p.author, (demand.get(p.author) ?? 0) + QUOTE_COST + p.length);
  const grant = new Map<string, number>();
  let left = UNTRUSTED_THREAD_MAX;
  const byDemand = [...demand].sort((a, b) => a[1] - b[1]);
  byDemand.forEach(([author, wants], i) => {
    const share = Math.min(wants, Math.floor(left / (byDemand.length - i)));
    grant.set(author, share);
    left -= share;
  });
  const dropped = new Set<string>();
  let droppedCount = 0;
  const quoted = pieces.map((p, i) => {
    if (!p) {
      droppedCount++;
      dropped.add(comments[i]!.author);
      return null;
    }
    const room = (grant.get(p.author) ?? 0) - QUOTE_COST;
    if (room <= 0) {
      droppedCount++;
      dropped.add(p.author);
      return null;
    }
    const fits = p.length <= room;
    const text = fits ? p.text : `${[...p.text].slice(0, room).join('')}\n[cut here: the rest of this comment was left out]`;
    grant.set(p.author, room - Math.min(p.length, room));
    return quoteUntrusted(p.author, text);
  });
  if (!droppedCount) return { quoted, leftOut: null };
  const names = [...dropped].slice(0, 5).map((a) => `@${a}`);
  const who = dropped.size > 5 ? `${names.join(', ')} and ${dropped.size - 5} others` : names.join(', ');
  return {
    quoted,
    leftOut: `(${droppedCount} comment(s) by users without write access (${who}) were left out: at most ${UNTRUSTED_THREAD_MAX} characters of such text reach you per thread, shared between their authors.)`,
  };
}

/** `text` sanitised and cut to `max` code points, saying so; only a bounded prefix is sanitised (the fixed point costs more the longer the text). */
function capped(text: string, max: number): { text: string; length: number } {
  const prefix = text.length > max * 4 ? text.slice(0, max * 4) : text;
  const clean = [...sanitizeText(prefix)];
  if (clean.length <= max && prefix === text) return { text: clean.join(''), length: clean.length };
  const kept = clean.slice(0, max).join('');
  return { text: `${kept}\n[cut here: the rest was left out (at most ${max} characters)]`, length: Math.min(clean.length, max) };
}
