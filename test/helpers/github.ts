// GitHub for tests: nock in front of api.github.com, where every interceptor must name an operation
// of GitHub's OpenAPI description and every request body must match that operation's schema.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import nock, { type Interceptor, type Scope } from './nock.ts';

const require = createRequire(import.meta.url);
const openapi = require('@octokit/openapi/generated/api.github.com.json') as {
  paths: Record<string, Record<string, { operationId: string; requestBody?: { content: Record<string, { schema: unknown }> } }>>;
  components: unknown;
};

const operations = Object.entries(openapi.paths).map(([template, methods]) => ({
  template,
  regex: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
  methods,
}));

const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
const validators = new Map<string, ValidateFunction>();

export function findOperation(method: string, path: string) {
  const bare = path.split('?')[0]!;
  const m = method.toLowerCase();
  // The most specific template wins (fewest parameters), as GitHub's router does.
  const matches = operations
    .filter((o) => o.regex.test(bare) && o.methods[m])
    .sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0));
  const found = matches[0];
  return found ? { template: found.template, operation: found.methods[m]! } : undefined;
}

function bodyValidator(method: string, template: string): ValidateFunction | undefined {
  const key = `${method} ${template}`;
  if (!validators.has(key)) {
    const op = openapi.paths[template]![method]!;
    const schema = op.requestBody?.content['application/json']?.schema;
    if (!schema) return undefined;
    validators.set(key, ajv.compile({ ...(schema as object), components: openapi.components }));
  }
  return validators.get(key);
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: any;
  headers: Record<string, string>;
}

export class GitHubMock {
  readonly scope: Scope;
  readonly requests: RecordedRequest[] = [];
  readonly violations: string[] = [];

  constructor(baseUrl = 'https://api.github.com') {
    this.scope = nock(baseUrl);
    // Checked on the request that matched, against the operation its method and path name.
    this.scope.on('request', (req: any, _interceptor: any, raw: string) => {
      const body = raw ? JSON.parse(raw) : undefined;
      const url = new URL(req.url ?? `https://x${req.path}`);
      const headers: Record<string, string> = req.headers instanceof Headers ? Object.fromEntries(req.headers.entries()) : {};
      req = { method: req.method, path: url.pathname + url.search };
      this.requests.push({ method: req.method, path: req.path, body, headers });
      // GraphQL is not part of the REST description; its mocks check the query themselves.
      if (req.path === '/graphql') return;
      const found = findOperation(req.method, req.path);
      if (!found) {
        this.violations.push(`${req.method} ${req.path}: no such operation in GitHub's OpenAPI description`);
        return;
      }
      const validate = bodyValidator(req.method.toLowerCase(), found.template);
      if (body === undefined) {
        if (found.operation.requestBody && (found.operation.requestBody as { required?: boolean }).required) {
          this.violations.push(`${req.method} ${req.path} (${found.operation.operationId}): a request body is required`);
        }
      } else if (validate && !validate(body)) {
        this.violations.push(`${req.method} ${req.path} (${found.operation.operationId}): ${ajv.errorsText(validate.errors)}`);
      }
    });
  }

  /**
   * An interceptor for one GitHub operation; throws at once if GitHub has no such operation. `match`
   * widens it to every path of the regex (`path` is then an example checked against OpenAPI).
   */
  intercept(method: string, path: string, match?: RegExp): Interceptor {
    const found = findOperation(method, path);
    if (!found) throw new Error(`${method} ${path} is not an operation in GitHub's OpenAPI description`);
    return this.scope.intercept(match ?? path, method);
  }

  get(path: string) {
    return this.intercept('GET', path);
  }
  post(path: string) {
    return this.intercept('POST', path);
  }
  patch(path: string) {
    return this.intercept('PATCH', path);
  }

  /** Answers served 304 Not Modified: conditional requests whose ETag was current. */
  notModified = 0;

  /** A reply that honours ETags as GitHub does: 304 when If-None-Match names the current answer. */
  conditional(answer: () => [number, unknown, Record<string, string>?]) {
    return (req: Request): [number, unknown, Record<string, string>] => {
      const [status, body, headers = {}] = answer();
      if (status !== 200) return [status, body, headers];
      const etag = `"${createHash('sha1').update(typeof body === 'string' ? body : JSON.stringify(body)).digest('hex')}"`;
      if (req.headers.get('if-none-match') === etag) {
        this.notModified++;
        return [304, '', { etag }];
      }
      return [200, body, { ...headers, etag }];
    };
  }

  /** Installation tokens for any installation, as often as asked. */
  installationTokens(installationId = 1, token = 'ghs_installation_token_for_tests') {
    this.post(`/app/installations/${installationId}/access_tokens`)
      .reply(201, { token, expires_at: new Date(Date.now() + 3_600_000).toISOString(), permissions: {} })
      .persist();
    return this;
  }

  /** The app itself (GET /app, for its slug) and its bot account, whose id makes the commit author's address. */
  appIdentity(slug = 'missions', botId = 41898282) {
    this.get('/app').reply(200, { id: 1, slug, name: 'Missions', owner: { login: 'Codertocat' } }).persist();
    this.get(`/users/${encodeURIComponent(`${slug}[bot]`)}`).reply(200, { login: `${slug}[bot]`, id: botId, type: 'Bot' }).persist();
    return this;
  }

  /** What was posted or patched with a body, in order. */
  bodies(method: string, pathPart: string): any[] {
    return this.requests.filter((r) => r.method === method && r.path.includes(pathPart)).map((r) => r.body);
  }
}

/** Every request a test makes must be intercepted; collects what was not. */
export function trackUnmatched(): string[] {
  const unmatched: string[] = [];
  nock.emitter.on('no match', (req: any) => {
    const url = new URL(req.url ?? req.href ?? `https://${req.host}${req.path}`);
    if (url.hostname === '127.0.0.1' || url.hostname === 'localhost') return;
    unmatched.push(`${req.method} ${url.pathname}${url.search}`);
  });
  return unmatched;
}
