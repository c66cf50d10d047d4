// The configuration's three descriptions agree: the zod schema the app validates with, the
// missions.schema.json editors use, and the README's configuration block (keys, defaults, comments).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { configJsonSchema } from '../src/config.ts';

interface JsonSchema {
  type?: string;
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
}

/** Every key of the schema as a dotted path, objects before their keys, in declaration order. */
function schemaKeys(schema: JsonSchema, prefix = ''): { path: string; schema: JsonSchema }[] {
  return Object.entries(schema.properties ?? {}).flatMap(([key, value]) => [{ path: prefix + key, schema: value }, ...schemaKeys(value, `${prefix}${key}.`)]);
}

/** The README's configuration block: each key's path, value text and comment. */
function readmeKeys(): { path: string; value: string; comment: string }[] {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Configuration'));
  const block = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
  const parents: string[] = [];
  return block
    .trimEnd()
    .split('\n')
    .map((line) => {
      const [, indent, key, value, comment] = /^( *)([a-z_]+):\s*(.*?)\s*(?:#\s*(.*))?$/.exec(line) ?? [];
      if (key === undefined) throw new Error(`not a key line in the README's configuration block: ${line}`);
      parents.length = indent!.length / 2;
      const path = [...parents, key].join('.');
      parents.push(key);
      return { path, value: value!, comment: comment ?? '' };
    });
}

describe('the configuration schema', () => {
  it('is committed as missions.schema.json exactly as generated (npm run schema)', () => {
    const committed = JSON.parse(readFileSync(new URL('../missions.schema.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(configJsonSchema());
  });

  it('matches the README: every key, in order, with its default and its description', () => {
    const schema = schemaKeys(configJsonSchema() as JsonSchema);
    const readme = readmeKeys();
    expect(readme.map((k) => k.path)).toEqual(schema.map((k) => k.path));
    for (const [i, { path, schema: key }] of schema.entries()) {
      const line = readme[i]!;
      expect(key.description, `${path} has a description in the schema`).toBeTruthy();
      expect(line.comment, `${path}'s comment in the README`).toBe(key.description);
      if (key.type === 'object') expect(line.value, `${path} opens a section`).toBe('');
      else if (key.default !== undefined) expect(YAML.parse(line.value), `${path}'s default in the README`).toEqual(key.default);
      else expect(line.value, `${path} shows an example`).not.toBe('');
    }
  });
});
