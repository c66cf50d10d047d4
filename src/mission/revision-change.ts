// The one line a revision carries about what changed, computed from the two plans so it is exact.
import type { Plan } from './plan.ts';

export function describeChange(previous: Plan | undefined, next: Plan): string {
  if (!previous) return `first plan: ${count(next.features.length, 'feature')}, ${count(next.assertions.length, 'assertion')}`;
  const parts = [
    ...diff('features', previous.features, next.features, (f) => JSON.stringify([f.title, f.description, f.milestone, f.assertion_ids])),
    ...diff('assertions', previous.assertions, next.assertions, (a) => a.statement),
  ];
  if (previous.title !== next.title) parts.unshift('retitled');
  return parts.length ? parts.join('; ') : 'no change to features or contract';
}

function diff<T extends { id: string }>(what: string, before: T[], after: T[], key: (x: T) => string): string[] {
  const old = new Map(before.map((x) => [x.id, key(x)]));
  const now = new Map(after.map((x) => [x.id, key(x)]));
  const added = after.filter((x) => !old.has(x.id)).map((x) => x.id);
  const removed = before.filter((x) => !now.has(x.id)).map((x) => x.id);
  const changed = after.filter((x) => old.has(x.id) && old.get(x.id) !== key(x)).map((x) => x.id);
  const bits = [
    added.length ? `added ${added.join(', ')}` : '',
    changed.length ? `changed ${changed.join(', ')}` : '',
    removed.length ? `removed ${removed.join(', ')}` : '',
  ].filter(Boolean);
  return bits.length ? [`${what}: ${bits.join(', ')}`] : [];
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
