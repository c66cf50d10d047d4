// What a replayed command's output becomes as evidence. A maintainer reads the first lines of it
// (the board's reason, the summary's evidence block): those must be the test runner's own summary
// ("114 passing", "Tests: 3 passed"), which a run with failures prints far from the end, then the
// output's last lines for context.

/** Lines test runners sum a run up with: mocha, jest, vitest, node:test and TAP, pytest, unittest, go, cargo. */
const SUMMARY =
  /^(?:[✓✔√]?\s*\d+ (?:passing|failing|pending)\b|Tests?:\s|Test (?:Suites|Files):?\s|[#ℹ]\s*(?:tests|pass|fail|skipped|todo|cancelled)\s+\d+|=+ .*\b(?:passed|failed|errors?)\b|Ran \d+ tests?\b|OK(?: \(|$)|FAILED \(|(?:ok|FAIL)\s+\S+\s+[\d.]+s$|test result: )/;

const TAIL_LINES = 20;
const SUMMARY_LINES = 8;

export function replayEvidence(output: string): string {
  const text = output.trim();
  if (!text) return '(no output)';
  const lines = text.split(/\r\n?|\n/);
  const tail = lines.slice(-TAIL_LINES);
  // Tested trimmed, with no leading \s* in the pattern: two of them back to back took quadratic time on a line of spaces.
  const summary = lines.map((l) => l.trim()).filter((l) => SUMMARY.test(l)).slice(-SUMMARY_LINES);
  if (!summary.length) return tail.join('\n');
  return [...summary, `(the last ${tail.length} lines of its output:)`, ...tail].join('\n');
}
