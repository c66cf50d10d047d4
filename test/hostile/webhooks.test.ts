// Attack 10 of issue 9, at the door: a correctly signed payload of an unexpected shape, and a body
// larger than anything GitHub sends, delivered to `npm start` over HTTP.
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { waitFor } from '../helpers/waiting.ts';
import { killed, startApp } from '../helpers/processes.ts';

// Not through the harness: it loads nock, which would stand between this test's raw sockets and the app.
const examples = createRequire(import.meta.url)('@octokit/webhooks-examples/api.github.com/index.json') as { name: string; examples: any[] }[];
const labeledPayload = () => structuredClone(examples.find((e) => e.name === 'issues')!.examples.find((e) => e.action === 'labeled'));
const SECRET = 'whsec-webhook-door-tests';
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });

let app: { child: ChildProcess; url: string; output: () => string } | undefined;
afterEach(async () => {
  if (app) await killed(app.child);
  app = undefined;
});

async function start() {
  const cwd = mkdtempSync(join(tmpdir(), 'missions-door-'));
  app = await startApp(cwd, { APP_ID: '1', PRIVATE_KEY: privateKey, WEBHOOK_SECRET: SECRET, ANTHROPIC_API_KEY: 'test-key', MISSIONS_DATA_DIR: join(cwd, 'data') });
  return app;
}

const signed = (body: string, event = 'issues') => ({
  'content-type': 'application/json',
  'x-github-event': event,
  'x-github-delivery': `delivery-${Math.random()}`,
  'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
});

describe('the webhook door', () => {
  it('answers a signed payload of an unexpected shape with 400 and logs why, without echoing a TypeError', async () => {
    const { url, output } = await start();
    const payload = labeledPayload();
    delete payload.repository;
    const body = JSON.stringify(payload);
    const response = await fetch(`${url}/api/github/webhooks`, { method: 'POST', headers: signed(body), body });
    const text = await response.text();
    expect(response.status).toBe(400);
    expect(text).not.toContain('TypeError');
    expect(text).toContain('a issues.labeled payload of an unexpected shape (repository');
    await waitFor(() => output().includes('unexpected shape'), 'the log line');
    // Still serving: a well-formed but irrelevant event is taken.
    const ping = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
    expect((await fetch(`${url}/api/github/webhooks`, { method: 'POST', headers: signed(ping, 'ping'), body: ping })).status).toBe(200);
  });

  it('refuses a body over 25 MB before reading it whole, announced or not', async () => {
    const { url } = await start();
    const { port } = new URL(url);
    /** Sends a request by hand and resolves with the status line GitHub's sender would see. */
    const statusOf = (headers: string, body: (socket: Socket) => void, path = '/api/github/webhooks') =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), 'localhost');
        const timer = setTimeout(() => reject(new Error(`no answer within 20 s to ${headers.trim()}: ${answer}`)), 20_000);
        let answer = '';
        socket.on('data', (d) => {
          answer += d;
          if (answer.includes('\r\n')) {
            clearTimeout(timer);
            socket.destroy();
            resolve(answer.split('\r\n')[0]!);
          }
        });
        socket.on('error', () => {});
        socket.write(`POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-GitHub-Event: issues\r\nX-GitHub-Delivery: d-${Math.random()}\r\n${headers}\r\n`);
        body(socket);
      });
    // Claims 64 MiB and sends a little: the answer comes without waiting for the rest.
    expect(await statusOf(`Content-Length: ${64 * 1024 * 1024}\r\n`, (socket) => socket.write('{"a":"'))).toBe('HTTP/1.1 413 Payload Too Large');
    // Probot takes the path with a trailing slash too; so does the limit.
    expect(await statusOf(`Content-Length: ${64 * 1024 * 1024}\r\n`, (socket) => socket.write('{"a":"'), '/api/github/webhooks//')).toBe('HTTP/1.1 413 Payload Too Large');
    // Says nothing of its length and keeps sending: the answer comes once 25 MB have arrived.
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    const sent = await statusOf('Transfer-Encoding: chunked\r\n', (socket) => {
      let n = 0;
      const pump = () => {
        while (n < 27 && !socket.destroyed && socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`)) n++;
        if (n < 27 && !socket.destroyed) socket.once('drain', pump);
      };
      pump();
    });
    expect(sent).toBe('HTTP/1.1 413 Payload Too Large');
  });
});
