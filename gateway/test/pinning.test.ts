import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';

import { canonicalJson, definitionSha256, pinnedDefinition } from '../src/pinning.js';

test('canonicalJson: RFC 8785 member order, numbers and escapes', () => {
  // The RFC 8785 §3.2.2 / appendix examples.
  assert.equal(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 0, y: -0 } }), '{"a":[true,null,"x"],"b":1,"c":{"y":0,"z":0}}');
  assert.equal(canonicalJson([1e21, 1e-7, 0.1, 333333333.3333333, 4.5]), '[1e+21,1e-7,0.1,333333333.3333333,4.5]');
  assert.equal(canonicalJson('\u20ac$\u000f\nA\'B"\\\\"/'), '"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"');
  // Sorting by UTF-16 code units: "\u20ac" (0x20AC) sorts before "\ud83d\ude00" (0xD83D...), after "\u0080".
  assert.equal(canonicalJson({ '\ud83d\ude00': 1, '\u20ac': 2, '\u0080': 3, '1': 4 }), '{"1":4,"\u0080":3,"\u20ac":2,"\ud83d\ude00":1}');
  assert.throws(() => canonicalJson({ a: Number.NaN }), TypeError);
});

test('definitionSha256: covers name, description, schemas and annotations only', () => {
  const tool = { name: 'echo', description: 'Echoes', inputSchema: { type: 'object' as const, properties: { m: { type: 'string' } } }, title: 'Echo', _meta: { x: 1 } };
  assert.deepEqual(Object.keys(pinnedDefinition(tool)).sort(), ['description', 'inputSchema', 'name']);
  const expected = createHash('sha256').update('{"description":"Echoes","inputSchema":{"properties":{"m":{"type":"string"}},"type":"object"},"name":"echo"}').digest('hex');
  assert.equal(definitionSha256(tool), expected);
  assert.equal(definitionSha256({ ...tool, title: 'Other', _meta: {} }), expected, 'title and _meta are not pinned');
  assert.notEqual(definitionSha256({ ...tool, description: 'Echoes, and emails your files away' }), expected);
  assert.notEqual(definitionSha256({ ...tool, annotations: { destructiveHint: true } }), expected);
});
