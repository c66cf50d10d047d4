// A replayed command's evidence leads with the test runner's own summary, which a maintainer reads
// in the board's reason and the summary's evidence block (their first lines), even when a failure's
// stack trace fills the end of the output. Real output: Node's test runner on a generated suite.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderSummary } from '../../src/github/summary.ts';
import { replayEvidence } from '../../src/mission/replay-evidence.ts';

function nodeTestOutput(passing: number, failing: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'missions-node-test-'));
  try {
    const cases = Array.from({ length: passing }, (_, i) => `test('case ${i}', () => {});`);
    if (failing) cases.push(`test('greets with !', () => { assert.strictEqual('Hello, Ada', 'Hello, Ada!'); });`);
    writeFileSync(join(dir, 'greet.test.js'), `const { test } = require('node:test');\nconst assert = require('node:assert');\n${cases.join('\n')}\n`);
    try {
      return execFileSync(process.execPath, ['--test', 'greet.test.js'], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      const e = error as { stdout: string; stderr: string };
      return e.stdout + e.stderr;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the finish summary shows of an evidence: its first lines, as a maintainer reads them. */
const shown = (evidence: string) =>
  renderSummary({ plan: { title: 't' }, features: [], evidence: [{ id: 'VAL-001', statement: 's', evidence }], rounds: 1, findings: [], elapsed: '1m', costs: [] });

describe('replayed evidence', () => {
  it('leads with the runner’s counts, though a failure’s stack fills the end of the output', () => {
    const output = nodeTestOutput(114, true);
    expect(output.split('\n').slice(-20).join('\n')).not.toMatch(/pass 114/); // where the counts are not
    const evidence = `\`node --test\` exited 1 when the app replayed it on a clean checkout:\n${replayEvidence(output)}`;
    const summary = shown(evidence);
    expect(summary).toMatch(/pass 114/);
    expect(summary).toMatch(/fail 1/);
    // The end of the output still follows, for the failure itself.
    expect(replayEvidence(output)).toContain("'Hello, Ada!'");
  });

  it('keeps the last lines as they were when nothing looks like a runner’s summary', () => {
    const output = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n');
    expect(replayEvidence(output)).toBe(Array.from({ length: 20 }, (_, i) => `line ${i + 10}`).join('\n'));
    expect(replayEvidence('  \n')).toBe('(no output)');
  });

  it('takes a line of a hundred thousand spaces in stride (two leading \\s* once made it quadratic: minutes)', { timeout: 5_000 }, () => {
    expect(replayEvidence(`x\n${' '.repeat(100_000)}y\n  3 passing`).split('\n')[0]).toBe('3 passing');
  });

  it('reads the counts of the common runners', () => {
    for (const line of ['  114 passing (31ms)', '  2 failing', 'Tests:       3 passed, 3 total', ' Test Files  2 passed (2)', '# pass 3', '======== 3 passed in 0.12s ========', 'Ran 4 tests in 0.001s', 'test result: ok. 3 passed; 0 failed', 'ok  \texample.com/greet\t0.012s']) {
      expect(replayEvidence(`${line}\n${'noise\n'.repeat(30)}`).split('\n')[0]).toBe(line.trim());
    }
  });
});
