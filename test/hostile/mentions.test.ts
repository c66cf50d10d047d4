// Model text in the app's comments pings nobody (PRODUCT.md: untrusted text is data): a mention in
// prose gets a word joiner after its `@`, however it is spelled, while code stays as written.
import { describe, expect, it } from 'vitest';
import { unmention } from '../../src/github/untrusted.ts';
import { renderSummary } from '../../src/github/summary.ts';
import { buildStatus } from '../../src/mission/lifecycle.ts';
import type { FeatureRow, Mission } from '../../src/store/missions.ts';
import { firstFeatures } from '../helpers/plans.ts';

const J = '\u2060';

describe('mentions in model text', () => {
  it('pings nobody, however the mention is spelled', () => {
    expect(unmention('ask @octocat now')).toBe(`ask @${J}octocat now`);
    expect(unmention('needs @acme/security')).toBe(`needs @${J}acme/security`);
    expect(unmention('cc &#64;admins and &#x40;ops')).toBe(`cc @${J}admins and @${J}ops`);
    expect(unmention('@&#97;lice')).toBe(`@${J}&#97;lice`);
    expect(unmention('`npm test`@alice')).toBe(`\`npm test\`@${J}alice`);
    expect(unmention('> @dave')).toBe(`> @${J}dave`);
    expect(unmention('unclosed `@erin')).toBe(`unclosed \`@${J}erin`);
    // Look-alikes of code that Markdown does not read as code: the mention in each is live there.
    expect(unmention('see ``@alice` now')).toBe(`see \`\`@${J}alice\` now`);
    expect(unmention('\\`@alice\\`')).toBe(`\\\`@${J}alice\\\``);
    expect(unmention('a `x\n\n@alice\n\ny`')).toBe(`a \`x\n\n@${J}alice\n\ny\``);
    expect(unmention('note ```\n@alice')).toBe(`note \`\`\`\n@${J}alice`);
    // A bare carriage return is a line end to Markdown.
    expect(unmention('x\r\r@carol')).toBe(`x\n\n@${J}carol`);
  });

  it('leaves inline code, e-mail addresses and URLs as written; a fenced block is prose to it', () => {
    for (const text of ['`npm i @types/node`', 'mail a@b.com', 'https://github.com/@alice']) expect(unmention(text)).toBe(text);
    expect(unmention('```py\n@pytest.fixture\n```')).toBe(`\`\`\`py\n@${J}pytest.fixture\n\`\`\``);
  });

  it('keeps evidence that holds a fence inside its own block in the finish summary', () => {
    const summary = renderSummary({
      plan: firstFeatures(1),
      features: [{ id: 'F1', title: 'hello command', commit: 'abcdef0', fix: false }],
      evidence: [{ id: 'VAL-001', statement: 'greets', evidence: 'It printed:\n```\nHello @alice\n```\nand exited 0' }],
      rounds: 1,
      findings: [],
      elapsed: '1m',
      costs: [],
    });
    // The evidence's own ``` cannot close the block: a longer fence holds it.
    expect(summary).toContain('  ````\n  It printed:\n  ```\n  Hello @alice\n  ```\n  and exited 0\n  ````');
  });

  it('shows a fix feature titled with a mention in the status line (board, pull request, /status) pinging nobody', () => {
    const fix = { id: 'F4', title: 'Ask @alice for the token', state: 'pending' } as FeatureRow;
    const done = { id: 'F1', title: 'hello command', state: 'committed' } as FeatureRow;
    expect(buildStatus({ state: 'building', activity: null } as unknown as Mission, [done, fix])).toBe(`🔨 building **F4** Ask @${J}alice for the token (2 of 2)`);
    expect(buildStatus({ state: 'paused', pause_reason: 'worker', stop_note: 'held' } as unknown as Mission, [done, fix])).toContain(`before **F4** Ask @${J}alice for the token`);
  });
});
