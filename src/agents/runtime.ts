// The agent runtime every role shares: the SDK's tool runner over the Messages API, streaming,
// prompt caching on the stable prefix, retries on overload and rate limits (the SDK's own, with
// backoff), a turn cap, usage and a USD estimate recorded per mission and role, and a transcript.
import Anthropic from '@anthropic-ai/sdk';
import type { BetaMessageParam, BetaUsage } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type { BetaRunnableTool, BetaToolRunContext } from '@anthropic-ai/sdk/lib/tools/BetaRunnableTool';
import { ToolError } from '@anthropic-ai/sdk/lib/tools/ToolError';
import { DEFAULT_TIMEOUT_MS } from './bash-tool.ts';
import type { Logger } from 'pino';
import type { Finish, FinishTool } from './finish-tool.ts';
import { addUsage, estimateUsd, NO_USAGE, type TokenUsage } from './pricing.ts';
import { redactSecrets, secretValues } from '../secrets.ts';

export type Role = 'planner' | 'worker' | 'scrutiny' | 'user-testing' | 'triage';

export interface UsageRecorder {
  recordUsage(entry: { missionId: number; role: Role; model: string; usage: TokenUsage; usd: number }): Promise<void>;
  saveTranscript(entry: { missionId: number; role: Role; model: string; outcome: string; messages: unknown }): Promise<void>;
}

export interface AgentRunOptions {
  client: Anthropic;
  recorder: UsageRecorder;
  log: Logger;
  missionId: number;
  role: Role;
  model: string;
  /** Role prompt and skills: the stable prefix, cached together with the tools. */
  system: string;
  /** The task: issue, thread and repository context. */
  prompt: string;
  tools: BetaRunnableTool[];
  finishTools: FinishTool<any>[];
  maxTurns: number;
  maxTokens?: number;
  /** Turn prompt caching off (for measuring what it saves). */
  caching?: boolean;
  /**
   * Asked after each turn and every few seconds while a turn or a tool runs: a reason to stop now
   * (the mission was cancelled), or null to go on. A reason aborts the model call or tool at once.
   */
  interrupted?: () => Promise<string | null>;
  /** How long a file tool (read, glob, grep, write, edit) may take; bash has its own timeout_ms. */
  toolTimeoutMs?: number;
}

/** A file tool that takes longer is stopped (a grep on a FIFO once hung a worker for good). */
export const FILE_TOOL_TIMEOUT_MS = 60_000;
/** How often a running agent asks whether it should stop. */
const WATCH_MS = 2_000;
/** How many cut streams a run survives (each asks the broken turn again). */
const STREAM_CUT_RETRIES = 2;

/** A reply stream that broke after it started (the SDK's own retries cover one that never started). */
function isStreamCut(error: unknown): boolean {
  return error instanceof Anthropic.APIConnectionError || (error instanceof Anthropic.AnthropicError && !(error instanceof Anthropic.APIError));
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
  constructor(message: string, usage: TokenUsage, role: Role, turnCap: boolean) {
    super(message);
    this.name = 'AgentGaveUp';
    this.usage = usage;
    this.role = role;
    this.turnCap = turnCap;
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

export async function runAgent(options: AgentRunOptions): Promise<AgentResult> {
  const { client, recorder, missionId, role, model } = options;
  const caching = options.caching ?? true;
  let finish: Finish<any> | undefined;
  const finishTools = options.finishTools.map((f) =>
    f.build((accepted) => {
      finish ??= accepted;
    }),
  );
  const cache = caching ? ({ type: 'ephemeral' } as const) : undefined;
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
  const tools = [...options.tools, ...finishTools].map(guarded(stop.signal, options.toolTimeoutMs ?? FILE_TOOL_TIMEOUT_MS));
  // A runner over `messages`; a turn whose stream was cut starts a new one from the history so far.
  const startRunner = (messages: BetaMessageParam[], turnsLeft: number) => client.beta.messages.toolRunner({
    model,
    max_tokens: options.maxTokens ?? 16_000,
    // The breakpoint on the system block caches tools + system; the top-level one moves with the
    // conversation so each turn reads the previous turn's prefix.
    system: [{ type: 'text', text: options.system, ...(cache ? { cache_control: cache } : {}) }],
    ...(cache ? { cache_control: cache } : {}),
    tools,
    messages,
    stream: true,
    // The full history each turn: what the Messages API and our local test server both speak.
    thread: false,
    max_iterations: turnsLeft,
  }, { signal: stop.signal });
  let runner = startRunner([{ role: 'user', content: options.prompt }], options.maxTurns);
  let cutsLeft = STREAM_CUT_RETRIES;

  let usage = NO_USAGE;
  let turns = 0;
  let outcome = 'error';
  const record = async (turnUsage: TokenUsage) => {
    usage = addUsage(usage, turnUsage);
    await recorder.recordUsage({ missionId, role, model, usage: turnUsage, usd: estimateUsd(model, turnUsage) });
  };
  const stopped = () => stop.signal.reason as AgentStopped;
  try {
    for (;;) {
      try {
        for await (const stream of runner) {
          const message = await stream.finalMessage();
          turns++;
          await record(tokenUsage(message.usage));
          // Runs this turn's tool calls now (the runner reuses the result), so a finish call ends the
          // loop without another request.
          await runner.generateToolResponse();
          if (finish) break;
          const reason = stop.signal.aborted ? stopped().message : await options.interrupted?.();
          if (reason) {
            outcome = 'stopped';
            throw new AgentStopped(reason);
          }
          if (message.stop_reason === 'max_tokens') {
            options.log.warn({ role, turns }, 'agent turn hit max_tokens');
          }
        }
        break;
      } catch (error) {
        // A stream cut mid-reply (a proxy, a reset): the SDK retries a request that failed to start,
        // not one that broke halfway. The turn is asked again from the history before it.
        if (!isStreamCut(error) || stop.signal.aborted || cutsLeft-- <= 0) throw error;
        options.log.warn({ role, turns, err: error }, 'the model stream was cut mid-turn; asking again');
        const history = [...runner.params.messages];
        if (history.at(-1)?.role === 'assistant') history.pop();
        runner = startRunner(history, options.maxTurns - turns);
      }
    }
    if (finish) {
      outcome = `finished:${finish.tool}`;
      return { finish, usage, usd: estimateUsd(model, usage), turns };
    }
    const turnCap = turns >= options.maxTurns;
    outcome = turnCap ? 'turn-cap' : 'no-finish';
    const names = options.finishTools.map((f) => f.name).join(' or ');
    throw new AgentGaveUp(
      turnCap ? `it used all ${options.maxTurns} turns without a valid ${names}` : `it ended without calling ${names}`,
      usage,
      role,
      turnCap,
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
      .saveTranscript({ missionId, role, model, outcome, messages: transcriptOf(runner.params.messages) })
      .catch((error: unknown) => options.log.warn({ err: error }, 'could not save transcript'));
  }
}

/**
 * Every tool call, guarded. The runner runs a turn's calls concurrently; ours take turns, so a file
 * tool never checks a path while a bash command swaps it for a link. Each call has a deadline (a
 * file tool's own, bash's timeout_ms plus a margin) and ends when the run is stopped: its signal
 * kills what it spawned, and the call answers the model with an error instead of hanging the step.
 */
function guarded(stopSignal: AbortSignal, fileToolMs: number) {
  let tail: Promise<unknown> = Promise.resolve();
  return (tool: BetaRunnableTool): BetaRunnableTool => ({
    ...tool,
    run: (input: any, context?: BetaToolRunContext) => {
      const result = tail.catch(() => {}).then(() => {
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
  };
}

function transcriptOf(messages: BetaMessageParam[]): unknown {
  return JSON.parse(JSON.stringify(messages));
}
