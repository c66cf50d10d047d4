// The sandbox agent commands run in: no app secret in its environment, nothing writable but the
// checkout, no network unless allowed, and a timeout that kills the whole process tree.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasBubblewrap, Sandbox } from '../../src/workspace/sandbox.ts';

const log = pino({ level: 'silent' });
const secrets = {
  WEBHOOK_SECRET: 'webhook-secret-for-sandbox-test',
  ANTHROPIC_API_KEY: 'sk-ant-api-key-for-sandbox-test',
  DATABASE_URL: 'postgres://user:db-password-for-sandbox-test@db/missions',
  PRIVATE_KEY: '-----BEGIN RSA PRIVATE KEY-----\nprivate-key-body-for-sandbox-test\n-----END RSA PRIVATE KEY-----',
};

let root: string;
let dataDir: string;
let checkout: string;
let listener: Server;
let port: number;

beforeAll(async () => {
  Object.assign(process.env, secrets);
  root = mkdtempSync(join(tmpdir(), 'missions-sandbox-'));
  dataDir = join(root, 'data');
  checkout = join(dataDir, 'workspaces', 'missions', '1', 'checkout');
  mkdirSync(checkout, { recursive: true });
  writeFileSync(join(dataDir, 'db-file'), 'the embedded database');
  listener = createServer((socket) => socket.end('hello from the host\n'));
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  port = (listener.address() as { port: number }).port;
});

afterAll(async () => {
  for (const key of Object.keys(secrets)) delete process.env[key];
  await new Promise((resolve) => listener.close(resolve));
  rmSync(root, { recursive: true, force: true });
});

const sandbox = (bubblewrap?: boolean) => new Sandbox(checkout, { hide: [dataDir], log, ...(bubblewrap === undefined ? {} : { bubblewrap }) });

describe('the sandbox', () => {
  it('is bubblewrap on this machine (CI installs it)', () => {
    expect(hasBubblewrap()).toBe(true);
  });

  for (const bubblewrap of [true, false]) {
    it(`shows none of the app's secrets in the environment (${bubblewrap ? 'bubblewrap' : 'without bubblewrap'})`, async () => {
      const result = await sandbox(bubblewrap).run('env', { timeoutMs: 10_000, network: false });
      expect(result.exitCode).toBe(0);
      expect(result.output).toContain('PATH=');
      for (const value of Object.values(secrets)) expect(result.output).not.toContain(value.split('\n')[0]);
      expect(result.output).not.toMatch(/WEBHOOK_SECRET|ANTHROPIC|DATABASE_URL|PRIVATE_KEY|GIT_CONFIG/);
    });
  }

  it('lets a command write the checkout and nothing else, and hides the data directory', async () => {
    const result = await sandbox().run(
      [
        'echo built > result.txt && echo checkout-ok',
        `touch /etc/missions-escape 2>/dev/null && echo etc-writable || echo etc-refused`,
        `touch ${dataDir}/escape 2>/dev/null && echo data-writable || echo data-refused`,
        `cat ${dataDir}/db-file 2>/dev/null || echo db-hidden`,
        `ls ${process.cwd()}/package.json 2>/dev/null || echo app-hidden`,
        'touch /tmp/private && echo tmp-ok',
      ].join('; '),
      { timeoutMs: 10_000, network: false },
    );
    expect(result.output.trim().split('\n')).toEqual(['checkout-ok', 'etc-refused', 'data-refused', 'db-hidden', 'app-hidden', 'tmp-ok']);
    expect(readFileSync(join(checkout, 'result.txt'), 'utf8')).toBe('built\n');
    expect(existsSync('/etc/missions-escape')).toBe(false);
    expect(existsSync(join(dataDir, 'escape'))).toBe(false);
    expect(existsSync('/tmp/private')).toBe(false);
  });

  it('gives a command no capability (as root too, where bubblewrap would keep root’s): it cannot take down what hides the data directory', async () => {
    const result = await sandbox().run(`grep CapEff /proc/self/status; umount ${dataDir} 2>/dev/null && echo unmounted; cat ${dataDir}/db-file 2>/dev/null || echo db-hidden`, {
      timeoutMs: 10_000,
      network: false,
    });
    expect(result.output).toMatch(/^CapEff:\s+0+\ndb-hidden\n$/);
  });

  it('cannot reach a loopback listener without network, and can with it', async () => {
    const probe = `exec 3<>/dev/tcp/127.0.0.1/${port} && head -n1 <&3`;
    const closed = await sandbox().run(probe, { timeoutMs: 10_000, network: false });
    expect(closed.exitCode).not.toBe(0);
    expect(closed.output).not.toContain('hello from the host');
    const open = await sandbox().run(probe, { timeoutMs: 10_000, network: true });
    expect(open.output).toContain('hello from the host');
  });

  for (const bubblewrap of [true, false]) {
    it(`kills a command past its timeout together with its children (${bubblewrap ? 'bubblewrap' : 'without bubblewrap'})`, async () => {
      const beat = join(checkout, `beat-${bubblewrap}`);
      const started = Date.now();
      const result = await sandbox(bubblewrap).run(`(while true; do date +%s%N > ${beat}; sleep 0.05; done) & sleep 60`, { timeoutMs: 3_000, network: false });
      expect(result.timedOut).toBe(true);
      // Long before the command's own 60 s, however busy the machine.
      expect(Date.now() - started).toBeLessThan(30_000);
      await new Promise((r) => setTimeout(r, 300));
      const last = statSync(beat).mtimeMs;
      await new Promise((r) => setTimeout(r, 600));
      // The background loop died with the command: its file stopped changing.
      expect(statSync(beat).mtimeMs).toBe(last);
    });
  }

  it('caps the output it keeps', async () => {
    const result = await sandbox().run('head -c 300000 /dev/zero | tr "\\0" x', { timeoutMs: 10_000, network: false });
    expect(result.truncated).toBe(true);
    expect(result.output.length).toBeLessThan(110 * 1024);
  });

  for (const bubblewrap of [true, false]) {
    it(`holds a command to its memory and file-size limits, which it cannot raise (${bubblewrap ? 'bubblewrap' : 'without bubblewrap'})`, async () => {
      const limited = new Sandbox(checkout, { hide: [dataDir], log, bubblewrap, limits: { memoryMb: 64, fileMb: 1 } });
      const memory = await limited.run('x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo "kept ${#x}"', { timeoutMs: 30_000, network: false });
      expect(memory.output).toContain('cannot allocate');
      expect(memory.output).not.toContain('kept 200000000');
      const file = await limited.run('ulimit -f unlimited 2>/dev/null; head -c 3000000 /dev/zero > big.bin; echo "exit $?"; stat -c %s big.bin', { timeoutMs: 30_000, network: false });
      expect(file.output).toContain('exit 153');
      // (The shell's own complaint may come after on the shared output: stdout and stderr interleave.)
      expect(file.output.split('\n').map((l) => l.trim())).toContain(String(1024 * 1024));
      rmSync(join(checkout, 'big.bin'), { force: true });
      if (bubblewrap) {
        // /tmp is memory: it is sized like a file, so many files there cannot fill the host.
        const tmp = await limited.run('head -c 700000 /dev/zero > /tmp/a; head -c 700000 /dev/zero > /tmp/b; echo "tmp $?"', { timeoutMs: 30_000, network: false });
        expect(tmp.output).toContain('tmp 1');
      }
    });
  }

  it('runs no command without bubblewrap unless the operator opted in (MISSIONS_UNSANDBOXED=1) or the caller chose it', async () => {
    const { Sandbox: Fresh } = await import('../../src/workspace/sandbox.ts?unsandboxed' as string);
    const { spawnSync } = await import('node:child_process');
    // A process without bwrap on its PATH, as on a machine without bubblewrap.
    const probe = `import { Sandbox } from ${JSON.stringify(new URL('../../src/workspace/sandbox.ts', import.meta.url).pathname)}; import pino from 'pino';
try { new Sandbox(process.cwd(), { log: pino({ level: 'silent' }) }); console.log('constructed'); } catch (e) { console.log(e.message); }`;
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: join(import.meta.dirname, '../..'), env: { PATH: '/nonexistent-bin', ...env }, encoding: 'utf8' }).stdout.trim();
    expect(run({})).toContain('agent commands are not run');
    expect(run({ MISSIONS_UNSANDBOXED: '1' })).toBe('constructed');
    expect(new Fresh(checkout, { log, bubblewrap: false })).toBeInstanceOf(Fresh);
  });

  it('says once in the log when bubblewrap is missing', async () => {
    const { Sandbox: Fresh } = await import('../../src/workspace/sandbox.ts?missing' as string);
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    new Fresh(checkout, { log: logger, bubblewrap: false });
    new Fresh(checkout, { log: logger, bubblewrap: false });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!).msg).toContain('bubblewrap (bwrap) is not available');
  });
});
