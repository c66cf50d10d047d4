// What a webhook must be before a handler acts on it. The signature says GitHub (or whoever holds
// the secret) sent it, not that it has the shape the handler reads: a signed payload missing a field
// is refused with 400 and a line in the log, never a 500 echoing a TypeError. And a body is refused
// over GitHub's own 25 MB limit before it is read whole.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';

const account = z.object({ login: z.string(), type: z.string() });
const common = {
  sender: account,
  installation: z.object({ id: z.number() }).optional(),
  repository: z.object({ id: z.number(), name: z.string(), owner: z.object({ login: z.string() }) }),
  issue: z.object({ number: z.number() }),
};

export const issuesLabeled = z.object({ ...common, issue: z.object({ number: z.number(), title: z.string().optional() }), label: z.object({ name: z.string() }).optional() });
export const issueCommentCreated = z.object({
  ...common,
  comment: z.object({ id: z.number(), body: z.string(), created_at: z.string(), user: account.nullable() }),
});

/** The payload as `schema` reads it, or a 400 for the webhook middleware to answer with. */
export function expectPayload<T>(event: string, schema: z.ZodType<T>, payload: unknown): T {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const where = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ');
  throw Object.assign(new Error(`a ${event} payload of an unexpected shape (${where})`), { status: 400, name: 'UnexpectedPayload' });
}

/** GitHub caps webhook payloads at 25 MB; nothing larger is one of its deliveries. */
export const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;

/** How long the rest of a refused body is discarded before the connection is closed. */
const DRAIN_MS = 5_000;

type NodeMiddleware = (req: IncomingMessage, res: ServerResponse, next?: Function) => Promise<any>;

/**
 * Wraps Probot's webhook middleware: a POST to `path` is read here, at most MAX_WEBHOOK_BYTES (413
 * before reading when Content-Length says more, and as soon as more arrives otherwise), then handed
 * on as a string body, which the middleware takes instead of reading the stream.
 */
export function limitWebhookBody(middleware: NodeMiddleware, path: string): NodeMiddleware {
  return async (req, res, next) => {
    // Probot matches the path without trailing slashes, so this does too.
    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '') !== path) return middleware(req, res, next);
    // The answer, then the connection closed.
    const tooLarge = (drain: boolean) => {
      // Closing the connection while a sender still sends would reset it before the answer is read:
      // a body still arriving is discarded (never kept) for a few seconds first.
      res.writeHead(413, { 'content-type': 'application/json', ...(drain ? {} : { connection: 'close' }) });
      // Nothing of an announced body was read: the connection closes once the answer is out.
      res.end(JSON.stringify({ error: `payload over ${MAX_WEBHOOK_BYTES} bytes` }), drain ? undefined : () => req.destroy());
      if (!drain) return true;
      req.resume();
      setTimeout(() => req.destroy(), DRAIN_MS).unref();
      return true;
    };
    if (Number(req.headers['content-length'] ?? 0) > MAX_WEBHOOK_BYTES) return tooLarge(false);
    const body = await new Promise<string | null>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_WEBHOOK_BYTES) return void chunks.push(chunk);
        req.off('data', onData);
        resolve(null);
      };
      req.on('data', onData);
      req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.once('error', reject);
    });
    if (body === null) return tooLarge(true);
    (req as IncomingMessage & { body?: string }).body = body;
    return middleware(req, res, next);
  };
}
