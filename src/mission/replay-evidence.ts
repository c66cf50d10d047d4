// What a replayed command's output becomes as evidence. A maintainer reads the first lines of it
// (the board's reason, the summary's evidence block): those must be the test runner's own summary
// ("114 passing", "Tests: 3 passed"), which a run with failures prints far from the end, then the
// output's last lines for context.

/** Lines test runners sum a run up with: mocha, jest, vitest, node:test and TAP, pytest, unittest, go, cargo. */
const SUMMARY =
  /^\s*(?:[✓✔√]?\s*\d+ (?:passing|failing|pending)\b|Tests?:\s|Test (?:Suites|Files):?\s|[#ℹ]\s*(?:tests|pass|fail|skipped|todo|cancelled)\s+\d+|=+ .*\b(?:passed|failed|errors?)\b|Ran \d+ tests?\b|OK(?: \(|$)|FAILED \(|(?:ok|FAIL)\s+\S+\s+[\d.]+s$|test result: )/;

const TAIL_LINES = 20;
const SUMMARY_LINES = 8;

export function replayEvidence(output: string): string {
  const lines = output.trim().split(/\r\n?|\n/);
  if (!output.trim()) return '(no output)';
  const tail = lines.slice(-TAIL_LINES);
  const summary = lines.filter((l) => SUMMARY.test(l)).slice(-SUMMARY_LINES).map((l) => l.trim());
  if (!summary.length) return tail.join('\n');
  return [...summary, `(the last ${tail.length} lines of its output:)`, ...tail].join('\n');
}
