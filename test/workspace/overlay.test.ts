// Overlays through the real sandbox (bubblewrap and util-linux `unshare`): a command writes only
// into its own layer, cannot take a mount down to reach the kept tree, never runs without its
// overlays, and commands of one checkout take turns on its layers.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { overlaysFor, overlaysWork, withOverlays } from '../../src/workspace/overlay.ts';
import { Sandbox } from '../../src/workspace/sandbox.ts';

const log = pino({ level: 'silent' });
const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A kept tree (`kept/node_modules/dep/index.js`) and a checkout whose sandbox sees it through an overlay. */
function overlaid() {
  const root = mkdtempSync(join(tmpdir(), 'missions-overlay-'));
  roots.push(root);
  const kept = join(root, 'kept');
  mkdirSync(join(kept, 'node_modules', 'dep'), { recursive: true });
  writeFileSync(join(kept, 'node_modules', 'dep', 'index.js'), 'kept\n');
  const checkout = join(root, 'work', 'checkout');
  const overlays = overlaysFor(kept, checkout, ['node_modules'])!;
  const sandbox = new Sandbox(checkout, { log });
  sandbox.mountForEachCommand(overlays);
  const run = (command: string) => sandbox.run(command, { timeoutMs: 20_000, network: false });
  return { root, kept: join(kept, 'node_modules', 'dep', 'index.js'), checkout, overlays, sandbox, run };
}

it('works on this machine (bubblewrap, unshare, overlayfs in user namespaces)', () => {
  expect(overlaysWork(join(tmpdir(), 'missions-overlay-probe'))).toBe(true);
});

it('lets no command take a mount down, or reach the kept tree with its capabilities', async () => {
  const o = overlaid();
  const attempts = await o.run(
    'umount node_modules 2>&1; umount -l node_modules 2>&1; unshare -Urm sh -c "umount -l $PWD/node_modules && echo unmounted" 2>&1; grep CapEff /proc/self/status',
  );
  expect(attempts.output).not.toContain('unmounted');
  expect(attempts.output).toMatch(/CapEff:\s+0+\n/);
  expect((await o.run('echo changed > node_modules/dep/index.js && cat node_modules/dep/index.js')).output).toBe('changed\n');
  expect(readFileSync(o.kept, 'utf8')).toBe('kept\n');
});

it('runs nothing when a mount fails: the command never sees the checkout without its overlays', async () => {
  const o = overlaid();
  rmSync(join(o.root, 'kept'), { recursive: true });
  const run = await o.run('touch ran');
  expect(run.exitCode).not.toBe(0);
  expect(() => readFileSync(join(o.checkout, 'ran'))).toThrow();
});

it('refuses paths the mount options cannot carry, and overlays without bubblewrap', () => {
  expect(overlaysFor('/tmp/kept', '/tmp/a,upperdir=/etc/checkout', ['node_modules'])).toBeNull();
  expect(() => withOverlays([{ lower: '/tmp/a:b', target: '/tmp/t', upper: '/tmp/u', work: '/tmp/w' }], ['--', 'true'])).toThrow(/cannot carry/);
  const unsandboxed = new Sandbox(mkdtempSync(join(tmpdir(), 'missions-overlay-')), { log, bubblewrap: false });
  roots.push(unsandboxed.checkout);
  expect(() => unsandboxed.mountForEachCommand([{ lower: '/tmp/k', target: '/tmp/t', upper: '/tmp/u', work: '/tmp/w' }])).toThrow(/bubblewrap/);
});

it("takes one command at a time on a checkout's layers: side by side, a second mount would break the first's writes", async () => {
  const o = overlaid();
  // The first writes after the second has started (and mounted); both writes must land.
  const [first, second] = await Promise.all([
    o.run('sleep 1 && echo first >> node_modules/dep/index.js && echo ok'),
    o.run('echo second >> node_modules/.second && echo ok'),
  ]);
  expect([first.output, second.output]).toEqual(['ok\n', 'ok\n']);
  expect((await o.run('cat node_modules/dep/index.js node_modules/.second')).output).toBe('kept\nfirst\nsecond\n');
  expect(readFileSync(o.kept, 'utf8')).toBe('kept\n');
});
