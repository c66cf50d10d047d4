// A local server that speaks the Anthropic Messages API (JSON and SSE streaming) and plays scripted
// turns. It behaves as the API does where real models differ from polite scripts:
// - prompt caching as the API reports it: prefixes written at cache_control breakpoints (at most
//   4, a 1-hour one never after a 5-minute one) for their TTL, refreshed when used, read back at the
//   longest block boundary already cached within 20 blocks before a breakpoint, writes reported per
//   TTL (PromptCache);
// - Opus 5.5 and Sonnet 5.5 think on every turn: each reply opens with a thinking block whose
//   signature binds it to the conversation before it; a request that sends one back changed, or
//   after changing the messages before it, gets the API's 400;
// - Opus 5.5 refuses a forced tool_choice (`tool` or `any`) with a 400;
// - a turn may be refused (stop_reason `refusal`) or cut off at max_tokens in the middle of a tool call;
// - a conversation of the wrong shape (an empty message, a tool call left unanswered) gets the API's 400;
// - the context-management edit `clear_tool_uses_20250919` clears old tool results as documented,
//   and the reply says what it cleared.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ScriptedBlock = { type: 'text'; text: string } | { type: 'tool_use'; name: string; input: unknown };

export type ScriptedTurn =
  /**
   * A reply. With stop_reason `max_tokens` and a tool call last, the call is cut off halfway
   * through its input, as the API does when the limit falls inside it.
   */
  | { content: ScriptedBlock[]; stop_reason?: 'end_turn' | 'tool_use' | 'max_tokens' | 'model_context_window_exceeded' }
  /** The model declines the turn: stop_reason `refusal`. */
  | { refusal: true }
  /** Never answer: the request hangs until the client goes away (a process killed mid-turn). */
  | { hang: true }
  /** Start streaming the reply, then drop the connection in the middle of it (a proxy's idle cut). */
  | { cut: true }
  | { status: number; error: { type: string; message: string }; retryAfterMs?: number };

/** A turn is given the request the SDK sent, so a script can react to it (and tests can inspect it). */
export type Script = (request: MessagesRequest, index: number) => ScriptedTurn;

export interface MessagesRequest {
  model: string;
  system?: string | { type: 'text'; text: string; cache_control?: unknown }[];
  tools?: { name: string; cache_control?: unknown }[];
  messages: { role: 'user' | 'assistant'; content: string | any[] }[];
  stream?: boolean;
  cache_control?: unknown;
  [key: string]: unknown;
}

export interface ModelServer {
  url: string;
  requests: MessagesRequest[];
  /** Assertions a script made that failed; the request got a 500 naming them. */
  scriptErrors: string[];
  /** Turns still to be played. */
  pending(): number;
  enqueue(...turns: (ScriptedTurn | Script)[]): void;
  /** Drops the turns still to be played and plays these instead (a killed worker's turns are moot). */
  replace(...turns: (ScriptedTurn | Script)[]): void;
  close(): Promise<void>;
}

/** The model ids this server knows; any other gets the API's 404. */
export const KNOWN_MODELS = ['claude-opus-5-5', 'claude-sonnet-5-5', 'claude-haiku-4-5', 'claude-fable-5-1'];
/** Models that think adaptively on every turn (their replies open with a signed thinking block). */
const THINKING_MODELS = ['claude-opus-5-5', 'claude-sonnet-5-5'];
/** Models that refuse a forced tool_choice. */
const NO_FORCED_TOOLS = ['claude-opus-5-5'];
const EFFORTS = ['low', 'medium', 'high', 'xhigh', 'max'];
const SIGNING_KEY = 'model-server-signing-key';

export async function startModelServer(turns: (ScriptedTurn | Script)[] = [], options: { cache?: PromptCache } = {}): Promise<ModelServer> {
  const queue = [...turns];
  const requests: MessagesRequest[] = [];
  const scriptErrors: string[] = [];
  const cached = options.cache ?? new PromptCache();
  let toolIds = 0;
  const server: Server = createServer(async (req, res) => {
    if (req.method !== 'POST' || !req.url?.startsWith('/v1/messages')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: req.url } }));
      return;
    }
    let raw: string;
    try {
      raw = await readBody(req);
    } catch {
      return; // the client went away (a process killed mid-request)
    }
    const request = JSON.parse(raw) as MessagesRequest;
    const index = requests.push(request) - 1;
    // As the API does: an unknown model id is refused before anything else.
    if (!KNOWN_MODELS.includes(request.model)) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: `model: ${request.model}` } }));
      return;
    }
    const refused = invalidRequest(request);
    if (refused) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: refused } }));
      return;
    }
    const next = queue.shift();
    let turn: ScriptedTurn;
    try {
      turn =
        !next ? { status: 500, error: { type: 'api_error', message: 'the script has no more turns' } }
        : typeof next === 'function' ? next(request, index)
        : next;
    } catch (error) {
      // A script's failed expectation answers at once, so the test fails fast and says why.
      scriptErrors.push(String(error));
      turn = { status: 400, error: { type: 'invalid_request_error', message: `script assertion failed: ${String(error)}` } };
    }
    if ('hang' in turn) return;
    if ('cut' in turn) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const start = { id: `msg_${index}`, type: 'message', role: 'assistant', model: request.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } };
      res.write(`event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: start })}\n\n`);
      res.write(`event: content_block_start\ndata: ${JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })}\n\n`);
      res.write(`event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'I will now' } })}\n\n`);
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    if ('status' in turn) {
      res.writeHead(turn.status, {
        'content-type': 'application/json',
        ...(turn.retryAfterMs !== undefined ? { 'retry-after-ms': String(turn.retryAfterMs) } : {}),
        'x-should-retry': turn.status === 529 || turn.status === 429 || turn.status >= 500 ? 'true' : 'false',
      });
      res.end(JSON.stringify({ type: 'error', error: turn.error }));
      return;
    }
    const played: { content: ScriptedBlock[]; stop_reason?: string } = 'refusal' in turn ? { content: [{ type: 'text', text: 'I can’t help with that.' }], stop_reason: 'refusal' } : turn;
    const content: any[] = played.content.map((block) =>
      block.type === 'tool_use' ? { type: 'tool_use', id: `toolu_${++toolIds}`, name: block.name, input: block.input } : block,
    );
    if (THINKING_MODELS.includes(request.model)) {
      const thinking = `Turn ${index}: deciding what to do next.`;
      content.unshift({ type: 'thinking', thinking, signature: sign(thinking, request.messages) });
    }
    const stop_reason = played.stop_reason ?? (content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn');
    // At max_tokens inside a tool call, the call's input stops halfway.
    const cutLast = (stop_reason === 'max_tokens' || stop_reason === 'model_context_window_exceeded') && content.at(-1)?.type === 'tool_use';
    const { messages: seen, applied } = clearToolUses(request);
    const usage = { ...cacheUsage({ ...request, messages: seen }, cached), output_tokens: tokens(JSON.stringify(content)) };
    const message = {
      id: `msg_${index}`,
      type: 'message',
      role: 'assistant',
      model: request.model,
      content,
      stop_reason,
      stop_sequence: null,
      usage,
      ...(applied ? { context_management: { applied_edits: [applied] } } : {}),
    };
    if (!request.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(message));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('message_start', { type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } });
    content.forEach((block: any, i) => {
      if (block.type === 'thinking') {
        send('content_block_start', { type: 'content_block_start', index: i, content_block: { type: 'thinking', thinking: '', signature: '' } });
        send('content_block_delta', { type: 'content_block_delta', index: i, delta: { type: 'thinking_delta', thinking: block.thinking } });
        send('content_block_delta', { type: 'content_block_delta', index: i, delta: { type: 'signature_delta', signature: block.signature } });
      } else if (block.type === 'text') {
        send('content_block_start', { type: 'content_block_start', index: i, content_block: { type: 'text', text: '' } });
        for (const piece of chunks(block.text)) {
          send('content_block_delta', { type: 'content_block_delta', index: i, delta: { type: 'text_delta', text: piece } });
        }
      } else {
        send('content_block_start', { type: 'content_block_start', index: i, content_block: { ...block, input: {} } });
        const json = JSON.stringify(block.input);
        for (const piece of chunks(cutLast && i === content.length - 1 ? json.slice(0, Math.floor(json.length / 2)) : json)) {
          send('content_block_delta', { type: 'content_block_delta', index: i, delta: { type: 'input_json_delta', partial_json: piece } });
        }
      }
      send('content_block_stop', { type: 'content_block_stop', index: i });
    });
    send('message_delta', { type: 'message_delta', delta: { stop_reason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
    send('message_stop', { type: 'message_stop' });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    scriptErrors,
    pending: () => queue.length,
    enqueue: (...more) => queue.push(...more),
    replace: (...more) => void queue.splice(0, queue.length, ...more),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** What the API refuses before playing a turn, in its words; null when the request is acceptable. */
function invalidRequest(request: MessagesRequest): string | null {
  const choice = (request.tool_choice as { type?: string } | undefined)?.type;
  if (NO_FORCED_TOOLS.includes(request.model) && (choice === 'tool' || choice === 'any')) {
    return `tool_choice: forced tool use is not supported with ${request.model}; use "auto"`;
  }
  const breakpoints = prefixBlocks(request).filter((b) => b.ttl);
  if (breakpoints.length > 4) return `A maximum of 4 blocks with cache_control may be provided. Found ${breakpoints.length}.`;
  const firstShort = breakpoints.findIndex((b) => b.ttl === '5m');
  if (firstShort >= 0 && breakpoints.slice(firstShort).some((b) => b.ttl === '1h')) {
    return 'a ttl=\'1h\' cache_control block must not come after a ttl=\'5m\' cache_control block';
  }
  const effort = (request.output_config as { effort?: unknown } | undefined)?.effort;
  if (effort !== undefined && effort !== null && !EFFORTS.includes(effort as string)) return `output_config.effort: must be one of ${EFFORTS.join(', ')}`;
  const structure = structureProblem(request.messages);
  if (structure) return structure;
  // Every thinking block comes back exactly as it was given, after exactly the messages it followed.
  for (const [i, m] of request.messages.entries()) {
    if (m.role !== 'assistant' || !Array.isArray(m.content)) continue;
    for (const [j, block] of m.content.entries()) {
      if (block?.type !== 'thinking') continue;
      if (block.signature !== sign(block.thinking, request.messages.slice(0, i))) {
        return `messages.${i}.content.${j}: the thinking block failed the conversation check (it was changed, or the messages before it changed since)`;
      }
    }
  }
  return null;
}

/**
 * The conversation's shape, as the API checks it: it opens with the user; only a final assistant
 * message may be empty; every tool_use is answered by a tool_result in the very next message, whose
 * tool results come before any text, and no tool_result answers a call that was not made just before.
 */
function structureProblem(messages: MessagesRequest['messages']): string | null {
  if (messages[0]?.role !== 'user') return 'messages.0: the first message must use the "user" role';
  for (const [i, m] of messages.entries()) {
    const blocks = typeof m.content === 'string' ? (m.content ? [{ type: 'text', text: m.content }] : []) : m.content;
    const last = i === messages.length - 1;
    if (!blocks.length && !(last && m.role === 'assistant')) return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
    if (!last && blocks.some((b: any) => b?.type === 'text' && !String(b.text).trim())) return `messages.${i}: text content blocks must contain non-whitespace text`;
    if (m.role === 'assistant') {
      const calls = blocks.filter((b: any) => b?.type === 'tool_use').map((b: any) => b.id as string);
      if (!calls.length) continue;
      const next = messages[i + 1];
      const answers = next && Array.isArray(next.content) && next.role === 'user' ? next.content : [];
      const answered = new Set(answers.filter((b: any) => b?.type === 'tool_result').map((b: any) => b.tool_use_id));
      const unanswered = calls.filter((id) => !answered.has(id));
      if (next && unanswered.length) return `messages.${i + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${unanswered.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
    } else {
      const firstOther = blocks.findIndex((b: any) => b?.type !== 'tool_result');
      const lastResult = blocks.findLastIndex((b: any) => b?.type === 'tool_result');
      if (firstOther >= 0 && lastResult > firstOther) return `messages.${i}: tool_result blocks must come first in the content, before any text`;
      const previous = messages[i - 1];
      const made = new Set(previous && Array.isArray(previous.content) ? previous.content.filter((b: any) => b?.type === 'tool_use').map((b: any) => b.id) : []);
      const stray = blocks.filter((b: any) => b?.type === 'tool_result' && !made.has(b.tool_use_id)).map((b: any) => b.tool_use_id);
      if (stray.length) return `messages.${i}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${stray.join(', ')}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
    }
  }
  return null;
}

/** A thinking block's signature: its text bound to the conversation before it. */
function sign(thinking: string, before: MessagesRequest['messages']): string {
  return createHash('sha256').update(SIGNING_KEY).update(thinking).update(JSON.stringify(before.map(stripCacheControl))).digest('base64');
}

/**
 * The `clear_tool_uses_20250919` edit as the API documents it: once the input passes the trigger,
 * the oldest tool results (beyond the `keep` most recent, and not of excluded tools) are replaced by
 * a placeholder until at least `clear_at_least` tokens are gone.
 */
function clearToolUses(request: MessagesRequest): { messages: MessagesRequest['messages']; applied: object | null } {
  const edit = ((request.context_management as { edits?: any[] } | undefined)?.edits ?? []).find((e) => e.type === 'clear_tool_uses_20250919');
  const total = tokens(JSON.stringify(request.messages));
  if (!edit || total <= (edit.trigger?.value ?? 100_000)) return { messages: request.messages, applied: null };
  const messages = structuredClone(request.messages);
  const names = new Map<string, string>();
  for (const m of messages) if (Array.isArray(m.content)) for (const b of m.content) if (b?.type === 'tool_use') names.set(b.id, b.name);
  const results = messages.flatMap((m) => (Array.isArray(m.content) ? m.content.filter((b: any) => b?.type === 'tool_result') : []));
  const keep = edit.keep?.value ?? 3;
  const excluded = new Set<string>(edit.exclude_tools ?? []);
  const candidates = results.slice(0, Math.max(0, results.length - keep)).filter((b: any) => !excluded.has(names.get(b.tool_use_id) ?? ''));
  let cleared = 0;
  let uses = 0;
  const placeholder = '[cleared to save context]';
  for (const block of candidates) {
    const before = tokens(JSON.stringify(block.content ?? ''));
    if (before <= tokens(placeholder)) continue;
    block.content = placeholder;
    cleared += before - tokens(placeholder);
    uses++;
  }
  if (cleared < (edit.clear_at_least?.value ?? 0)) return { messages: request.messages, applied: null };
  return { messages, applied: { type: 'clear_tool_uses_20250919', cleared_tool_uses: uses, cleared_input_tokens: cleared } };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function chunks(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += 40) out.push(text.slice(i, i + 40));
  return out.length ? out : [''];
}

const tokens = (text: string) => Math.ceil(text.length / 4);

type Ttl = '5m' | '1h';
const TTL_MS: Record<Ttl, number> = { '5m': 5 * 60_000, '1h': 60 * 60_000 };
/** How far back from a breakpoint the API looks for a boundary already cached. */
const LOOKBACK_BLOCKS = 20;

/**
 * The API's prompt cache: a prefix written at a breakpoint lives for its TTL from its last use.
 * One cache may serve several servers (an organisation's cache outlives one app process); `now` lets
 * a benchmark stand for hours of tool time without waiting them.
 */
export class PromptCache {
  readonly #entries = new Map<string, { expires: number; ttl: Ttl }>();
  readonly now: () => number;
  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  has(key: string): boolean {
    return (this.#entries.get(key)?.expires ?? 0) > this.now();
  }

  /** Written or used now: it lives its TTL (the longer one, if both were asked) from now. */
  touch(key: string, ttl: Ttl): void {
    const held = this.has(key) ? this.#entries.get(key) : undefined;
    const longer = held && TTL_MS[held.ttl] > TTL_MS[ttl] ? held.ttl : ttl;
    this.#entries.set(key, { expires: this.now() + TTL_MS[longer], ttl: longer });
  }

  /** Used now: read back, which refreshes it for its own TTL. */
  refresh(key: string): void {
    const held = this.#entries.get(key);
    if (held) this.touch(key, held.ttl);
  }
}

/**
 * The prompt as the cache sees it, in the API's order (tools, system, messages), one entry per block
 * boundary: the prefix up to it, and its breakpoint's TTL when it has one. The top-level cache_control
 * marks the last block of the last message.
 */
export function prefixBlocks(request: MessagesRequest): { prefix: string; ttl?: Ttl }[] {
  const ttlOf = (marker: unknown): Ttl | undefined => (marker ? ((marker as { ttl?: Ttl }).ttl ?? '5m') : undefined);
  const system = typeof request.system === 'string' ? [{ type: 'text' as const, text: request.system }] : (request.system ?? []);
  const blocks: { text: string; ttl?: Ttl }[] = [
    ...(request.tools ?? []).map((t) => ({ text: JSON.stringify(stripCacheControl(t)), ttl: ttlOf(t.cache_control) })),
    ...system.map((b) => ({ text: JSON.stringify(b.text), ttl: ttlOf((b as { cache_control?: unknown }).cache_control) })),
  ];
  request.messages.forEach((m, i) => {
    const content = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
    content.forEach((block: any, j: number) => {
      const last = i === request.messages.length - 1 && j === content.length - 1;
      blocks.push({ text: `${j === 0 ? m.role : ''}${JSON.stringify(stripCacheControl(block))}`, ttl: ttlOf(block?.cache_control) ?? (last ? ttlOf(request.cache_control) : undefined) });
    });
  });
  let running = '';
  return blocks.map((b) => ({ prefix: (running += b.text), ...(b.ttl ? { ttl: b.ttl } : {}) }));
}

/** Tokens read from the cache, written to it (per TTL), and the rest, for one request. */
function cacheUsage(request: MessagesRequest, cache: PromptCache) {
  const blocks = prefixBlocks(request);
  const hash = (t: string) => createHash('sha256').update(t).digest('hex');
  const keys = blocks.map((b) => hash(b.prefix));
  const total = tokens(blocks.at(-1)?.prefix ?? '');
  const breakpoints = blocks.flatMap((b, i) => (b.ttl ? [{ at: i, ttl: b.ttl }] : []));
  // The longest boundary already cached within reach of a breakpoint is read (and so refreshed).
  let readAt = -1;
  for (const { at } of breakpoints) {
    for (let i = at; i >= Math.max(0, at - LOOKBACK_BLOCKS + 1); i--) {
      if (i > readAt && cache.has(keys[i]!)) {
        readAt = i;
        break;
      }
    }
  }
  if (readAt >= 0) cache.refresh(keys[readAt]!);
  const read = readAt >= 0 ? tokens(blocks[readAt]!.prefix) : 0;
  // Each breakpoint is written (or refreshed); what lies past the read part is billed to the TTL of the breakpoint that first covers it.
  const written: Record<Ttl, number> = { '5m': 0, '1h': 0 };
  let covered = read;
  for (const { at, ttl } of breakpoints) {
    cache.touch(keys[at]!, ttl);
    const size = tokens(blocks[at]!.prefix);
    if (size > covered) {
      written[ttl] += size - covered;
      covered = size;
    }
  }
  const creation = written['5m'] + written['1h'];
  return {
    input_tokens: total - read - creation,
    cache_read_input_tokens: read,
    cache_creation_input_tokens: creation,
    cache_creation: { ephemeral_5m_input_tokens: written['5m'], ephemeral_1h_input_tokens: written['1h'] },
  };
}

function stripCacheControl(message: unknown): unknown {
  return JSON.parse(JSON.stringify(message, (key, value) => (key === 'cache_control' ? undefined : value)));
}
