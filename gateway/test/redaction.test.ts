import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { PointerPattern } from '../src/redaction.js';
import { compilePattern, isPatternError, planRedaction, redactResult, removeMatches, rewriteSchema, withheldResult } from '../src/redaction.js';

function p(s: string): PointerPattern {
  const c = compilePattern(s);
  if (isPatternError(c)) throw new Error(c.message);
  return c;
}

test('compilePattern: RFC 6901 tokens, * wildcard, errors', () => {
  assert.deepEqual(p('/employees/*/salary').tokens, ['employees', '*', 'salary']);
  assert.deepEqual(p('/a~1b/c~0d').tokens, ['a/b', 'c~d']);
  assert.ok(isPatternError(compilePattern('')));
  assert.ok(isPatternError(compilePattern('employees')));
  assert.ok(isPatternError(compilePattern('/a~2')));
});

test('planRedaction: nothing, paths, and withhold when a class has no fields', () => {
  assert.deepEqual(planRedaction([]), { kind: 'none' });
  assert.deepEqual(planRedaction(['salary', 'pii', 'salary']), { kind: 'withhold', classes: ['pii', 'salary'], unlocated: ['pii', 'salary'] });
  const fields = new Map([['salary', [p('/employees/*/salary')]]]);
  const plan = planRedaction(['salary'], fields);
  assert.equal(plan.kind, 'paths');
  const partial = planRedaction(['salary', 'pii'], fields);
  assert.deepEqual(partial.kind === 'withhold' && partial.unlocated, ['pii']);
});

test('removeMatches: wildcards over arrays and objects, absent paths ignored', () => {
  const doc = { employees: [{ name: 'a', salary: 1 }, { name: 'b', salary: 2 }, { name: 'c' }], total: 3 };
  const r = removeMatches(doc, [p('/employees/*/salary'), p('/nowhere/x')]);
  assert.deepEqual(r.value, { employees: [{ name: 'a' }, { name: 'b' }, { name: 'c' }], total: 3 });
  assert.equal(r.removed, 2);
  assert.deepEqual(doc.employees[0], { name: 'a', salary: 1 }, 'the input is not modified');
  assert.deepEqual(removeMatches({ m: { x: { s: 1, k: 2 }, y: { s: 3 } } }, [p('/m/*/s')]).value, { m: { x: { k: 2 }, y: {} } });
  assert.deepEqual(removeMatches({ list: [1, 2, 3] }, [p('/list/1')]).value, { list: [1, 3] });
});

test('redactResult: structuredContent and the text block that mirrors it; other text untouched', () => {
  const structured = { employees: [{ name: 'a', salary: 1 }] };
  const r = redactResult(
    {
      content: [
        { type: 'text', text: JSON.stringify(structured) },
        { type: 'text', text: 'salary is a word here, not JSON' },
        { type: 'text', text: JSON.stringify({ other: { salary: 5 } }) },
      ],
      structuredContent: structured,
    },
    [p('/employees/*/salary')],
  );
  assert.deepEqual(r.result.structuredContent, { employees: [{ name: 'a' }] });
  assert.deepEqual(JSON.parse((r.result.content[0] as { text: string }).text), { employees: [{ name: 'a' }] });
  assert.equal((r.result.content[1] as { text: string }).text, 'salary is a word here, not JSON');
  assert.deepEqual(JSON.parse((r.result.content[2] as { text: string }).text), { other: { salary: 5 } }, 'not the same JSON as structuredContent');
  assert.equal(r.removed, 2);
});

test('rewriteSchema: the redacted value still validates (properties and required)', () => {
  const schema = {
    type: 'object',
    properties: {
      employees: {
        type: 'array',
        minItems: 1,
        items: { type: 'object', properties: { name: { type: 'string' }, salary: { type: 'number' } }, required: ['name', 'salary'], additionalProperties: false },
      },
      byId: { type: 'object', additionalProperties: { type: 'object', properties: { salary: { type: 'number' } }, required: ['salary'] } },
    },
    required: ['employees'],
  };
  const out = rewriteSchema(schema, [p('/employees/*/salary'), p('/byId/*/salary')]) as typeof schema;
  assert.deepEqual(out.properties.employees.items.properties, { name: { type: 'string' } });
  assert.deepEqual(out.properties.employees.items.required, ['name']);
  assert.deepEqual(out.properties.byId.additionalProperties.required, []);
  assert.equal(schema.properties.employees.items.required.length, 2, 'the input is not modified');
  const dropped = rewriteSchema(schema, [p('/employees/0')]) as Record<string, Record<string, Record<string, unknown>>>;
  assert.equal(dropped.properties!.employees!.minItems, undefined);
});

test('withheldResult: an error result saying why, naming the classes', () => {
  const plan = planRedaction(['salary']);
  assert.equal(plan.kind, 'withhold');
  if (plan.kind !== 'withhold') return;
  const r = withheldResult('hr.report', plan);
  assert.equal(r.isError, true);
  assert.match((r.content[0] as { text: string }).text, /withheld.*salary.*no field paths/s);
});
