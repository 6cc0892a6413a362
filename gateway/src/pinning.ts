// Tool-definition pinning: the SHA-256 of an upstream tool's canonical
// definition, so that a server that silently rewrites a tool (its
// description, its schemas, its annotations) cannot ride on the approval of
// the old one (DESIGN §3, `definition_sha256`).
//
// The canonical definition is the JSON object
//   {name, description, inputSchema, outputSchema, annotations}
// with the members the upstream's tools/list gave (absent members are left
// out; nothing else of the tool counts: not title, icons, _meta or execution),
// serialised with the JSON Canonicalization Scheme (RFC 8785, JCS): object
// members sorted by the UTF-16 code units of their names, no whitespace,
// strings escaped as ECMAScript's JSON.stringify does, numbers in the
// ECMAScript shortest round-trip form. The digest is the lowercase hex
// SHA-256 of the UTF-8 bytes of that text.
//
// Sending the digest to the PDP waits for the proto field
// (CheckRequest.definition_sha256, with reason TOOL_DEFINITION_CHANGED);
// until then the gateway computes, logs and compares digests across lists.
// Immutable functions; thread-compatible.
import { createHash } from 'node:crypto';

import type { Tool } from '@modelcontextprotocol/server';

/** The members of a tool that its pin covers, in no particular order. */
export const PINNED_MEMBERS = ['name', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const;

/**
 * RFC 8785 canonical JSON of `value`. Throws a TypeError for values JSON
 * cannot represent (a non-finite number, a function, a bigint): a tool
 * definition that arrived as JSON never holds one.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('JCS: a number must be finite');
      // ECMAScript's Number.prototype.toString is the JCS number form; -0 is 0.
      return Object.is(value, -0) ? '0' : String(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
      const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
      // Default sort compares UTF-16 code units, as JCS requires.
      entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`JCS: cannot canonicalise a ${typeof value}`);
  }
}

/** The canonical definition object of `tool` (see the module comment). */
export function pinnedDefinition(tool: Tool): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const member of PINNED_MEMBERS) {
    const v = (tool as Record<string, unknown>)[member];
    if (v !== undefined) out[member] = v;
  }
  return out;
}

/** Lowercase hex SHA-256 of the canonical definition of `tool`. */
export function definitionSha256(tool: Tool): string {
  return createHash('sha256').update(canonicalJson(pinnedDefinition(tool)), 'utf8').digest('hex');
}
