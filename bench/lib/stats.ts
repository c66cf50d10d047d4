// Percentiles for the benchmarks' figures (nearest rank). bench/run.ts runs only files directly in bench/.

/** The p-th percentile of `xs` (nearest rank): with 100 samples or fewer, p99 is the largest. */
export function percentile(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const median = (xs: number[]): number => percentile(xs, 50);
