// The agent runtime every role shares: the SDK's tool runner over the Messages API, streaming,
// prompt caching on the stable prefix, retries on overload and rate limits (the SDK's own, with
// backoff), a turn cap, usage and a USD estimate recorded per mission and role, and a transcript.
// Runs that end badly are recovered as PRODUCT.md §4 says: a turn without the finish tool is nudged,
// a turn cut off (at max_tokens or at the context window) runs none of its calls, the model hears when
// the turn cap nears, and a refused turn is asked once more.
import Anthropic from '@anthropic-ai/sdk';
import type { BetaContentBlockParam, BetaMessage, BetaMessageParam, BetaUsage } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type { BetaRunnableTool, BetaToolRunContext } from '@anthropic-ai/sdk/lib/tools/BetaRunnableTool';
import { ToolError } from '@anthropic-ai/sdk/lib/tools/ToolError';
import { DEFAULT_TIMEOUT_MS } from './bash-tool.ts';
import type { Logger } from 'pino';
import type { Finish, FinishTool } from './finish-tool.ts';
import { addUsage, estimateUsd, NO_USAGE, type TokenUsage } from './pricing.ts';
import { redactSecrets, secretRedactor, secretValues } from '../secrets.ts';
import { ROLES } from './roles.ts';

export type Role = 'planner' | 'worker' | 'scrutiny' | 'user-testing' | 'triage';

/** Where a run is kept: started (Mission Control shows it running), its usage per turn, its transcript at the end. */
export interface UsageRecorder {
  startRun(entry: { missionId: number; role: Role; model: string; subject: string | null }): Promise<number>;
  recordUsage(entry: { missionId: number; runId: number | null; role: Role; model: string; usage: TokenUsage; usd: number }): Promise<void>;
  saveTranscript(entry: { missionId: number; runId: number | null; role: Role; model: string; outcome: string; turns: number; messages: unknown }): Promise<void>;
}

export interface AgentRunOptions {
  client: Anthropic;
  recorder: UsageRecorder;
  log: Logger;
  missionId: number;
  role: Role;
  model: string;
  /** What the run works on, as Mission Control labels it: a feature (F2), a round (M1 round 1), a revision. */
  subject?: string;
  /** Role prompt and skills: the stable prefix, cached together with the tools. */
  system: string;
  /**
   * What every run of this role in the mission is told alike (the mission, its contract, the
   * repository's commands): sent before the task as its own cached block, so the role's later runs
   * in the mission read it from the cache instead of paying for it again.
   */
  context?: string;
  /** The task: what this run alone is asked (a feature, a round, a revision). */
  prompt: string;
  tools: BetaRunnableTool[];
  finishTools: FinishTool<any>[];
  maxTurns: number;
  /** max_tokens per turn; the role's own (roles.ts) when absent. */
  maxTokens?: number;
  /** The API's output_config.effort. */
  effort?: 'low' | 'medium' | 'high' | 'xhigh' | 'max';
  /** Clear old tool results in long runs (default on; off for servers that lack the beta). */
  contextManagement?: boolean;
  /** Prompt caching: on with the TTLs of CACHE_TTL, off (for measuring what it saves), or other TTLs (for measuring those). */
  caching?: boolean | CacheTtl;
  /**
   * Asked after each turn and every few seconds while a turn or a tool runs: a reason to stop now
   * (the mission was cancelled), or null to go on. A reason aborts the model call or tool at once.
   */
  interrupted?: () => Promise<string | null>;
  /** The clock turns are timed by (for the cache's TTL); a benchmark simulates hours with its own. */
  clock?: () => number;
  /** How long a file tool (read, glob, grep, write, edit) may take; bash has its own timeout_ms. */
  toolTimeoutMs?: number;
}

/** A file tool that takes longer is stopped (a grep on a FIFO once hung a worker for good). */
export const FILE_TOOL_TIMEOUT_MS = 60_000;
/** How often a running agent asks whether it should stop. */
const WATCH_MS = 2_000;
/** How many cut streams a run survives (each asks the broken turn again). */
const STREAM_CUT_RETRIES = 2;

/**
 * A reply stream that broke after it started (the SDK's own retries cover one that never started):
 * a dropped connection, or an error event inside a 200 stream (`overloaded_error` mid-reply), which
 * the SDK raises as an APIError without a status.
 */
function isStreamCut(error: unknown): boolean {
  // A connection error is an APIError without a status too.
  return error instanceof Anthropic.AnthropicError && (!(error instanceof Anthropic.APIError) || error.status === undefined);
}

export interface AgentResult {
  finish: Finish<any>;
  usage: TokenUsage;
  usd: number;
  turns: number;
}

/** The run was stopped from outside (the mission was cancelled) before it finished. */
export class AgentStopped extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'AgentStopped';
  }
}

/** The agent stopped without a valid finish call: the message says why, in a maintainer's words. */
export class AgentGaveUp extends Error {
  readonly usage: TokenUsage;
  readonly role: Role;
  /** It used every turn it was allowed. */
  readonly turnCap: boolean;
  /** The last text the model wrote: what a second attempt is told of the first. */
  readonly lastWords: string;
  constructor(message: string, usage: TokenUsage, role: Role, turnCap: boolean, lastWords = '') {
    super(message);
    this.name = 'AgentGaveUp';
    this.usage = usage;
    this.role = role;
    this.turnCap = turnCap;
    this.lastWords = lastWords;
  }
}

/** The model refused a turn twice (stop_reason `refusal`): the role's refusal, never another role's failure. */
export class ModelRefused extends Error {
  readonly role: Role;
  readonly model: string;
  constructor(role: Role, model: string) {
    super(`${role} (${model}) refused the turn twice`);
    this.name = 'ModelRefused';
    this.role = role;
    this.model = model;
  }
}

/** The Messages API refused or failed a role's request (after the SDK's retries): the role, its model, and the API's own words. */
export class ModelCallFailed extends Error {
  readonly role: Role;
  readonly model: string;
  readonly status: number | undefined;
  readonly type: string;
  readonly apiMessage: string;
  readonly connection: boolean;
  constructor(role: Role, model: string, cause: InstanceType<typeof Anthropic.APIError>) {
    const body = cause.error as { error?: { type?: string; message?: string } } | undefined;
    const connection = cause instanceof Anthropic.APIConnectionError;
    const type = body?.error?.type ?? (connection ? 'connection_error' : 'error');
    // One line, short (a gateway may answer with a whole HTML page), and never one of our secrets.
    const said = [...redactSecrets(body?.error?.message ?? cause.message ?? '', secretValues(process.env)).replace(/\s+/g, ' ').trim()];
    const apiMessage = said.length > 300 ? `${said.slice(0, 300).join('')}…` : said.join('');
    super(`${role} (${model}): ${cause.status ?? 'no answer'} ${type}: ${apiMessage}`, { cause });
    this.name = 'ModelCallFailed';
    this.role = role;
    this.model = model;
    this.status = cause.status;
    this.type = type;
    this.apiMessage = apiMessage;
    this.connection = connection;
  }
}

/**
 * How long each kind of cached prefix lives after its last use: `shared` is the prefix every run of a
 * role shares (tools, role prompt and skills, the mission's context); `turns` the conversation so
 * far, which only the run's next turn reads (`auto`: 5 minutes until one of the run's turns, the
 * reply and its tool calls, takes SLOW_TURN_MS or longer, then an hour). The API refuses a 1-hour
 * breakpoint after a 5-minute one, so turns kept an hour need the shared prefix kept an hour too.
 */
export type CacheTtl = { shared: '1h'; turns: '5m' | '1h' | 'auto' } | { shared: '5m'; turns: '5m' };

/**
 * A run's turns follow each other within a minute or two unless a command runs long (a slow test
 * suite): the conversation written to the 5-minute cache before such a command has expired by the
 * time it ends, so a run with a turn that long writes its turns for an hour from then on. The shared
 * prefix is kept an hour (a 1-hour write costs 2x input against 1.25x): it then outlives a long
 * command too, and a validation round between two workers, though not a whole milestone between
 * two rounds. `npm run bench -- cache-ttl` measured the bill against
 * caching off on a simulated 6-feature mission at Opus 5.5 prices: with commands under a minute,
 * 0.186 with 5 minutes everywhere, 0.190 with this, 0.233 with an hour everywhere; with an 8-minute
 * suite every fifth turn, 0.367, 0.250 and 0.233.
 */
export const CACHE_TTL: CacheTtl = { shared: '1h', turns: 'auto' };
/** A turn this long (a reply and its tool calls) means the next may come after the 5-minute cache expired. */
export const SLOW_TURN_MS = 3 * 60_000;

export async function runAgent(options: AgentRunOptions): Promise<AgentResult> {
  const { client, recorder, missionId, role, model } = options;
  const ttl = options.caching === false ? undefined : options.caching === true || options.caching === undefined ? CACHE_TTL : options.caching;
  let finish: Finish<any> | undefined;
  const finishNames = options.finishTools.map((f) => f.name);
  const finishTools = options.finishTools.map((f) =>
    f.build((accepted) => {
      finish ??= accepted;
    }),
  );
  const clock = options.clock ?? Date.now;
  let slowTurns = false;
  let turnStarted: number | undefined;
  const ttlOf = (kind: 'shared' | 'turns') => (kind === 'turns' && ttl?.turns === 'auto' ? (slowTurns ? '1h' : '5m') : (ttl?.[kind] as '5m' | '1h'));
  const marker = (kind: 'shared' | 'turns') => (ttl ? { cache_control: { type: 'ephemeral' as const, ttl: ttlOf(kind) } } : {});
  // The watchdog: a stop reason (a /cancel, from any process) aborts the model call or the tool now,
  // not after a tool that may run for half an hour.
  const stop = new AbortController();
  const watch = options.interrupted ?
      setInterval(() => {
        options.interrupted!().then(
          (reason) => reason && !stop.signal.aborted && stop.abort(new AgentStopped(reason)),
          () => {},
        );
      }, WATCH_MS)
    : undefined;
  const tools = [...options.tools, ...finishTools].map(guarded(stop.signal, options.toolTimeoutMs ?? FILE_TOOL_TIMEOUT_MS, () => finish !== undefined));
  const maxTokens = options.maxTokens ?? ROLES[role].maxTokens;
  // One turn per runner: the SDK sends the request and runs the reply's tool calls; the loop below
  // decides what the next request holds (a nudge, an answer to a cut-off call, a turn-cap warning),
  // which the runner's own loop cannot. No assistant message sent once is ever changed, nor any
  // message before it (thinking blocks are bound to the messages before them), and no request forces a tool (Opus 5.5 refuses tool_choice).
  const turn = (messages: BetaMessageParam[]) =>
    client.beta.messages.toolRunner(
      {
        model,
        max_tokens: maxTokens,
        // Breakpoints: the system block (tools + system, shared by every run of the role), the
        // context block (shared by the role's runs in this mission), and the top-level one, which
        // moves with the conversation so each turn reads the previous turn's prefix.
        system: [{ type: 'text', text: options.system, ...marker('shared') }],
        ...marker('turns'),
        ...(options.effort ? { output_config: { effort: options.effort } } : {}),
        // Old tool results are cleared by the API once a run grows long (see CONTEXT_EDIT).
        ...(options.contextManagement === false ? {} : { betas: ['context-management-2025-06-27'], context_management: { edits: [{ ...CONTEXT_EDIT, exclude_tools: finishNames }] } }),
        tools,
        messages,
        stream: true,
        // The full history each turn: what the Messages API and our local test server both speak.
        thread: false,
        max_iterations: 1,
      },
      { signal: stop.signal },
    );

  let history: BetaMessageParam[] = [
    {
      role: 'user',
      content: options.context ? [{ type: 'text', text: options.context, ...marker('shared') }, { type: 'text', text: options.prompt }] : options.prompt,
    },
  ];
  /** The conversation as it stands, the last reply included: what the transcript keeps (a refused reply, asked again, is not in it). */
  let transcript = history;
  let warned = false;
  let usage = NO_USAGE;
  let turns = 0;
  let outcome = 'error';
  let nudges = 0;
  let refusals = 0;
  let cutsLeft = STREAM_CUT_RETRIES;
  let lastWords = '';
  const warnAt = options.maxTurns - Math.max(2, Math.ceil(options.maxTurns / 10));
  // A run that cannot be recorded still runs (its usage is kept without it).
  const runId = await recorder.startRun({ missionId, role, model, subject: options.subject ?? null }).catch((error: unknown) => {
    options.log.warn({ err: error }, 'could not record the run’s start');
    return null;
  });
  const record = async (turnUsage: TokenUsage) => {
    usage = addUsage(usage, turnUsage);
    await recorder.recordUsage({ missionId, runId, role, model, usage: turnUsage, usd: estimateUsd(model, turnUsage) });
  };
  const stopped = () => stop.signal.reason as AgentStopped;
  try {
    conversation: while (!finish && turns < options.maxTurns) {
      const at = clock();
      if (turnStarted !== undefined && at - turnStarted >= SLOW_TURN_MS) slowTurns = true;
      turnStarted = at;
      const runner = turn(history);
      let message: BetaMessage | undefined;
      try {
        for await (const stream of runner) {
          message = await stream.finalMessage();
          turns++;
          await record(tokenUsage(message.usage));
          const cleared = (message as { context_management?: { applied_edits?: unknown[] } }).context_management?.applied_edits;
          if (cleared?.length) options.log.info({ role, turns, cleared }, 'the API cleared old tool results');
          // Only a reply that ended on its calls runs them: one cut off may hold an incomplete last call.
          if (message.stop_reason === 'tool_use') await runner.generateToolResponse();
        }
      } catch (error) {
        // A stream cut mid-reply (a proxy, a reset): the SDK retries a request that failed to start,
        // not one that broke halfway. The turn is asked again from the same history.
        if (!isStreamCut(error) || stop.signal.aborted || cutsLeft-- <= 0) throw error;
        options.log.warn({ role, turns, err: error }, 'the model stream was cut mid-turn; asking again');
        continue;
      }
      // What the runner holds now: the history, the reply, and the results of its calls.
      const reply = message!;
      const after = withReply(history, [...runner.params.messages], reply);
      transcript = after;
      if (finish) break;
      const reason = stop.signal.aborted ? stopped().message : await options.interrupted?.();
      if (reason) {
        outcome = 'stopped';
        throw new AgentStopped(reason);
      }
      const said = textOf(reply);
      if (said) lastWords = said;
      if (reply.stop_reason === 'refusal') {
        // Asked once more from the same history; a turn refused twice is the role's refusal, reported as such.
        if (refusals++ >= 1) {
          outcome = 'refused';
          throw new ModelRefused(role, model);
        }
        options.log.warn({ role, turns }, 'the model refused the turn; asking once more');
        continue;
      }
      refusals = 0;
      switch (reply.stop_reason) {
        case 'tool_use':
        case 'pause_turn':
          history = after;
          break;
        case 'max_tokens':
        case 'model_context_window_exceeded':
          // Either way the reply stopped mid-way, possibly inside a call: none runs, each is answered.
          options.log.warn({ role, turns, stop: reply.stop_reason }, 'agent turn was cut off; its tool calls were not run');
          history = answered(after, cutOffAnswer(reply, maxTokens));
          break;
        default:
          // The turn ended without the finish tool: the app only acts on that call, so the model is
          // told so, twice at most, before the run counts as failed.
          if (nudges++ >= MAX_NUDGES) break conversation;
          options.log.info({ role, turns, nudge: nudges }, 'agent ended its turn without its finish tool; asking it to finish');
          history = answered(after, [{ type: 'text', text: nudge(finishNames, nudges) }]);
      }
      // Told once, with the turns it has left, whichever way its turn ended (a refused turn is asked again first).
      if (!warned && turns >= warnAt && turns < options.maxTurns) {
        warned = true;
        history = answered(history, [{ type: 'text', text: turnCapWarning(options.maxTurns - turns, finishNames) }]);
      }
    }
    if (finish) {
      outcome = `finished:${finish.tool}`;
      return { finish, usage, usd: estimateUsd(model, usage), turns };
    }
    const turnCap = turns >= options.maxTurns;
    outcome = turnCap ? 'turn-cap' : 'no-finish';
    const names = finishNames.join(' or ');
    throw new AgentGaveUp(
      turnCap ? `it used all ${options.maxTurns} turns without a valid ${names}` : `it ended without calling ${names}, even after being asked ${MAX_NUDGES} times`,
      usage,
      role,
      turnCap,
      lastWords,
    );
  } catch (error) {
    if (stop.signal.aborted && !(error instanceof AgentStopped)) {
      outcome = 'stopped';
      throw stopped();
    }
    // An API failure names the role and its model, so the message can point at the key that fixes it.
    throw error instanceof Anthropic.APIError ? new ModelCallFailed(role, model, error) : error;
  } finally {
    clearInterval(watch);
    await recorder
      .saveTranscript({ missionId, runId, role, model, outcome, turns, messages: transcriptOf(transcript) })
      .catch((error: unknown) => options.log.warn({ err: error }, 'could not save transcript'));
  }
}

/** How many times a run that ends without its finish tool is asked to call it. */
export const MAX_NUDGES = 2;

/**
 * The API's tool-result clearing (context management): once a run's input passes 120k tokens, the
 * tool results older than the 8 most recent are replaced by a placeholder (when that frees 40k
 * tokens or more). It keeps a long run inside the model's context window, but it is not free: each
 * clearing changes the prompt before the cache's breakpoint, so a cleared turn is written to the
 * cache again instead of read from it. `npm run bench -- context-clearing` measured a trigger at 80k
 * costing 2.7x the run without clearing, at 120k 1.8x for a run peaking at 155k: runs under 120k
 * are never cleared. 120k leaves room for the 64k max_tokens of a worker's turn in a 200k window.
 * Done by the API rather than by editing the history here, because a thinking block is bound
 * to the messages before it: an edited history is a 400.
 */
const CONTEXT_EDIT = {
  type: 'clear_tool_uses_20250919',
  trigger: { type: 'input_tokens', value: 120_000 },
  keep: { type: 'tool_uses', value: 8 },
  clear_at_least: { type: 'input_tokens', value: 40_000 },
} as const;

/**
 * The history the runner holds after a turn: the one it was given, the reply, and the results of
 * the reply's calls. A runner that did not add the reply gets it here. Text blocks of whitespace
 * alone ("\n\n", which models do send) are left out, and a reply left empty with them: the API
 * refuses both anywhere but in the last message.
 */
function withReply(given: BetaMessageParam[], held: BetaMessageParam[], reply: BetaMessage): BetaMessageParam[] {
  const added = held.length > given.length ? held.slice(given.length) : [{ role: 'assistant' as const, content: reply.content as never }];
  return [...given, ...added.map((m) => (m.role === 'assistant' ? withoutBlankText(m) : m)).filter((m) => !isEmpty(m))];
}

const isEmpty = (m: BetaMessageParam) => (typeof m.content === 'string' ? !m.content.trim() : !m.content?.length);

function withoutBlankText(m: BetaMessageParam): BetaMessageParam {
  if (typeof m.content === 'string') return m;
  return { ...m, content: (m.content as { type: string; text?: string }[]).filter((b) => b.type !== 'text' || b.text?.trim()) } as BetaMessageParam;
}

/** The history followed by a user message of `content`; merged into the last one when it is the user's (an empty reply was left out). */
function answered(messages: BetaMessageParam[], content: BetaContentBlockParam[]): BetaMessageParam[] {
  const last = messages.at(-1)!;
  if (last.role === 'assistant') return [...messages, { role: 'user', content }];
  const had = typeof last.content === 'string' ? [{ type: 'text' as const, text: last.content }] : (last.content ?? []);
  return [...messages.slice(0, -1), { ...last, content: [...had, ...content] } as BetaMessageParam];
}

function textOf(message: BetaMessage): string {
  return message.content
    .flatMap((b) => (b.type === 'text' ? [b.text] : []))
    .join('\n')
    .trim();
}

function nudge(finishNames: string[], count: number): string {
  const names = finishNames.map((n) => `\`${n}\``).join(' or ');
  return (
    `You ended your turn without calling ${names}. The app acts only on that call: text you write is not read. ` +
    `Call ${names} now, with what you have${count >= MAX_NUDGES ? ' (this is the last time you are asked)' : ''}.`
  );
}

function turnCapWarning(left: number, finishNames: string[]): string {
  return `You have ${left} turn(s) left in this run. Finish within them: call ${finishNames.map((n) => `\`${n}\``).join(' or ')} with what you have, saying honestly what is left.`;
}

/** What follows a reply cut off (at max_tokens, or at the context window): none of its calls ran, and the model goes on. */
function cutOffAnswer(reply: BetaMessage, maxTokens: number): BetaContentBlockParam[] {
  const said =
    reply.stop_reason === 'max_tokens' ?
      `Your reply reached max_tokens (${maxTokens}) and was cut off, so none of its tool calls ran. Go on in smaller steps (write a large file in parts, with edit).`
    : 'Your reply reached the end of the context window and was cut off, so none of its tool calls ran. Go on in smaller steps, reading less at a time (old tool results are cleared as the run grows).';
  const calls = reply.content.filter((b) => b.type === 'tool_use');
  return [
    ...calls.map((b) => ({ type: 'tool_result' as const, tool_use_id: (b as { id: string }).id, is_error: true, content: `Not run: the reply was cut off (${reply.stop_reason}), possibly inside this call.` })),
    { type: 'text' as const, text: said },
  ];
}

/**
 * Every tool call, guarded. The runner runs a turn's calls concurrently; ours take turns, so a file
 * tool never checks a path while a bash command swaps it for a link, and none runs after the finish call. Each call has a deadline (a
 * file tool's own, bash's timeout_ms plus a margin) and ends when the run is stopped: its signal
 * kills what it spawned, and the call answers the model with an error instead of hanging the step.
 */
function guarded(stopSignal: AbortSignal, fileToolMs: number, finished: () => boolean) {
  let tail: Promise<unknown> = Promise.resolve();
  return (tool: BetaRunnableTool): BetaRunnableTool => ({
    ...tool,
    run: (input: any, context?: BetaToolRunContext) => {
      const result = tail.catch(() => {}).then(() => {
        // A call after an accepted finish call in the same turn would change what the handoff describes.
        if (finished()) throw new ToolError(`Not run: the run already finished with its finish call.`);
        const ms = tool.name === 'bash' ? (input?.timeout_ms ?? DEFAULT_TIMEOUT_MS) + 30_000 : fileToolMs;
        const signal = AbortSignal.any([stopSignal, AbortSignal.timeout(ms)]);
        let ended!: (error: unknown) => void;
        const end = new Promise<never>((_, reject) => (ended = reject));
        const onAbort = () =>
          ended(stopSignal.aborted ? stopSignal.reason : new ToolError(`${tool.name} did not finish within ${Math.round(ms / 1000)} s and was stopped.`));
        signal.addEventListener('abort', onAbort, { once: true });
        return Promise.race([Promise.resolve().then(() => tool.run(input, { ...context!, signal })), end]).finally(() => signal.removeEventListener('abort', onAbort));
      });
      tail = result;
      return result;
    },
  }) as BetaRunnableTool;
}

function tokenUsage(usage: BetaUsage): TokenUsage {
  return {
    input_tokens: usage.input_tokens ?? 0,
    output_tokens: usage.output_tokens ?? 0,
    cache_read_tokens: usage.cache_read_input_tokens ?? 0,
    cache_write_tokens: usage.cache_creation_input_tokens ?? 0,
    cache_write_1h_tokens: usage.cache_creation?.ephemeral_1h_input_tokens ?? 0,
  };
}

/** The conversation as stored: every string redacted of the app's secrets (PRODUCT.md §6: when stored and again when shown). */
function transcriptOf(messages: BetaMessageParam[]): unknown {
  const redact = secretRedactor(secretValues(process.env));
  return JSON.parse(JSON.stringify(messages, (_key, value: unknown) => (typeof value === 'string' ? redact(value) : value)));
}
