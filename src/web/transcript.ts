// A stored run as a reader follows it: what each side said, each tool call with its input, each
// result (long ones folded), the finish call marked. Only the shapes the Messages API writes are
// read; anything else is shown as its JSON, never dropped and never interpreted.
import { z } from 'zod';

/** Results longer than this are folded (a <details> the reader opens). */
const FOLD_LINES = 12;
const FOLD_CHARS = 1_200;
/** Beyond this a single text is cut, saying how much was left out: a page stays readable. */
const MAX_CHARS = 60_000;

export type Item =
  | { kind: 'text'; who: 'app' | 'model'; text: string; folded: boolean }
  | { kind: 'thinking'; text: string }
  | { kind: 'call'; name: string; input: string; finish: boolean }
  | { kind: 'result'; text: string; error: boolean; folded: boolean; lines: number };

const block = z.looseObject({ type: z.string() });
const message = z.object({ role: z.enum(['user', 'assistant']), content: z.union([z.string(), z.array(block)]) });

/** `finish`: the tool the run finished with (its outcome `finished:<tool>`), marked as the finish call. */
export function transcriptItems(messages: unknown, redact: (text: string) => string, finish: string | null = null): Item[] {
  const parsed = z.array(message).safeParse(messages);
  if (!parsed.success) return [{ kind: 'result', text: cut(redact(JSON.stringify(messages, null, 2))), error: false, folded: true, lines: 0 }];
  const items: Item[] = [];
  for (const m of parsed.data) {
    const who = m.role === 'user' ? 'app' : 'model';
    const blocks = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
    for (const b of blocks) items.push(item(b as Record<string, unknown>, who, redact, finish));
  }
  return items;
}

function item(b: Record<string, unknown>, who: 'app' | 'model', redact: (text: string) => string, finish: string | null): Item {
  switch (b.type) {
    case 'text': {
      const text = cut(redact(String(b.text ?? '')));
      return { kind: 'text', who, text, folded: long(text) };
    }
    case 'thinking':
      return { kind: 'thinking', text: cut(redact(String(b.thinking ?? ''))) };
    case 'redacted_thinking':
      return { kind: 'thinking', text: '(thinking the API keeps encrypted)' };
    case 'tool_use': {
      const name = String(b.name ?? '?');
      return { kind: 'call', name, input: cut(redact(JSON.stringify(b.input ?? {}, null, 2))), finish: name === finish };
    }
    case 'tool_result': {
      const text = cut(redact(resultText(b.content)));
      return { kind: 'result', text, error: b.is_error === true, folded: long(text), lines: text.split('\n').length };
    }
    default:
      return { kind: 'result', text: cut(redact(JSON.stringify(b, null, 2))), error: false, folded: true, lines: 0 };
  }
}

function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((c) => (c && typeof c === 'object' && 'text' in c ? String((c as { text: unknown }).text) : JSON.stringify(c))).join('\n');
  return content === undefined ? '' : JSON.stringify(content);
}

const long = (text: string) => text.length > FOLD_CHARS || text.split('\n').length > FOLD_LINES;
const cut = (text: string) => (text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS)}\n… (${(text.length - MAX_CHARS).toLocaleString('en-US')} more characters not shown)` : text);
