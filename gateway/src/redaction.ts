// Redaction of tool results: what the gateway removes from a result before
// it enters the AI context, per the PDP's obligation (Decision.redact).
//
// A decision names data classes. Where the policy says where a class sits
// in the tool's result (the tool's `fields:`, JSON Pointer patterns into
// structuredContent with `*` for any array index or object key), exactly
// those places are removed; the removal is applied to structuredContent and
// to every text content block that is the same JSON (the SDK convention of
// mirroring structuredContent as text), and the tool's advertised
// outputSchema is rewritten so the redacted result still validates.
// Where a class to redact has no known fields, the whole result is withheld
// (fail closed). The PDP does not send field paths yet (the `fields:` key is
// not in the proto), so today every non-empty obligation withholds; the
// path machinery below is what the paths will feed.
// Pure functions over JSON values; thread-compatible.
import type { CallToolResult } from '@modelcontextprotocol/server';

/** One compiled JSON Pointer pattern: its reference tokens, `*` matching any. */
export interface PointerPattern {
  readonly source: string;
  readonly tokens: readonly string[];
}

/** What to do with a result, decided from an obligation and the known fields. */
export type RedactionPlan =
  | { readonly kind: 'none' }
  | { readonly kind: 'paths'; readonly classes: readonly string[]; readonly patterns: readonly PointerPattern[] }
  | { readonly kind: 'withhold'; readonly classes: readonly string[]; readonly unlocated: readonly string[] };

export type PatternError = { readonly pattern: string; readonly message: string };

/**
 * Compiles an RFC 6901 JSON Pointer where a whole reference token `*` matches
 * any array index or object key (`~0` and `~1` unescape as in RFC 6901; a
 * literal key "*" cannot be named). The empty pointer (the whole document)
 * is refused: withholding is the plan for that.
 */
export function compilePattern(source: string): PointerPattern | PatternError {
  if (source === '') return { pattern: source, message: 'the empty pointer names the whole result; withhold it instead' };
  if (!source.startsWith('/')) return { pattern: source, message: 'a JSON Pointer starts with "/"' };
  const tokens: string[] = [];
  for (const raw of source.slice(1).split('/')) {
    if (/~(?![01])/.test(raw)) return { pattern: source, message: `"~" must be followed by 0 or 1 in "${raw}"` };
    tokens.push(raw.replace(/~1/g, '/').replace(/~0/g, '~'));
  }
  return { source, tokens };
}

export function isPatternError(p: PointerPattern | PatternError): p is PatternError {
  return 'message' in p;
}

/**
 * The plan for an obligation `redact` (data classes) given where each class
 * is known to sit (`fields`, class → pointer patterns; absent or empty for
 * a class: unknown). Any class without fields withholds the whole result.
 */
export function planRedaction(
  redact: readonly string[],
  fields: ReadonlyMap<string, readonly PointerPattern[]> = new Map(),
): RedactionPlan {
  if (redact.length === 0) return { kind: 'none' };
  const classes = [...new Set(redact)].sort();
  const unlocated = classes.filter((c) => (fields.get(c)?.length ?? 0) === 0);
  if (unlocated.length > 0) return { kind: 'withhold', classes, unlocated };
  return { kind: 'paths', classes, patterns: classes.flatMap((c) => fields.get(c) ?? []) };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A copy of `value` with every location matching a pattern removed (an
 * object member is deleted; an array element is deleted and the array
 * closes up). Locations that do not exist are ignored. Returns how many
 * locations were removed.
 */
export function removeMatches(value: unknown, patterns: readonly PointerPattern[]): { value: unknown; removed: number } {
  let removed = 0;
  const walk = (node: unknown, tokens: readonly string[]): unknown => {
    if (tokens.length === 0) return node;
    const [head, ...rest] = tokens as [string, ...string[]];
    const last = rest.length === 0;
    if (Array.isArray(node)) {
      const out: unknown[] = [];
      node.forEach((item, i) => {
        const hit = head === '*' || head === String(i);
        if (hit && last) {
          removed++;
          return;
        }
        out.push(hit ? walk(item, rest) : item);
      });
      return out;
    }
    if (isObject(node)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(node)) {
        const hit = head === '*' || head === k;
        if (hit && last) {
          removed++;
          continue;
        }
        out[k] = hit ? walk(v, rest) : v;
      }
      return out;
    }
    return node;
  };
  let out = value;
  for (const p of patterns) out = walk(out, p.tokens);
  return { value: out, removed };
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * `result` with the patterns removed from structuredContent and from every
 * text block that parses to the same JSON as structuredContent (or, without
 * structuredContent, from every text block that is a JSON object or array).
 * Text that is not JSON is left as it is.
 */
export function redactResult(result: CallToolResult, patterns: readonly PointerPattern[]): { result: CallToolResult; removed: number } {
  let removed = 0;
  const out: CallToolResult = { ...result };
  const structured = result.structuredContent;
  if (structured !== undefined) {
    const r = removeMatches(structured, patterns);
    removed += r.removed;
    out.structuredContent = r.value as Record<string, unknown>;
  }
  out.content = result.content.map((block) => {
    if (block.type !== 'text') return block;
    let parsed: unknown;
    try {
      parsed = JSON.parse(block.text);
    } catch {
      return block;
    }
    if (typeof parsed !== 'object' || parsed === null) return block;
    if (structured !== undefined && !sameJson(parsed, structured)) return block;
    const r = removeMatches(parsed, patterns);
    removed += r.removed;
    return { ...block, text: JSON.stringify(r.value) };
  });
  return { result: out, removed };
}

/**
 * `schema` (a JSON Schema object, as in a tool's outputSchema) rewritten so
 * a value with the patterns removed still validates: the matched properties
 * are removed from `properties` and `required`, and for `*` over objects
 * from `additionalProperties`/`patternProperties` schemas; array items are
 * followed through `items` (a removed array element needs no change, except
 * that `minItems` is dropped). Combinators (allOf, anyOf, oneOf) are
 * followed into each branch.
 */
export function rewriteSchema(schema: Record<string, unknown>, patterns: readonly PointerPattern[]): Record<string, unknown> {
  const clone = structuredClone(schema);
  for (const p of patterns) rewriteAt(clone, p.tokens);
  return clone;
}

function rewriteAt(schema: Record<string, unknown>, tokens: readonly string[]): void {
  if (tokens.length === 0) return;
  const [head, ...rest] = tokens as [string, ...string[]];
  const last = rest.length === 0;
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    const branches = schema[key];
    if (Array.isArray(branches)) for (const b of branches) if (isObject(b)) rewriteAt(b, tokens);
  }
  // Object members.
  const props = schema.properties;
  if (isObject(props)) {
    for (const name of Object.keys(props)) {
      if (head !== '*' && head !== name) continue;
      if (last) {
        delete props[name];
        if (Array.isArray(schema.required)) schema.required = schema.required.filter((r) => r !== name);
      } else {
        const sub = props[name];
        if (isObject(sub)) rewriteAt(sub, rest);
      }
    }
  }
  if (head === '*' || !isObject(props) || !(head in props)) {
    for (const key of ['additionalProperties'] as const) {
      const sub = schema[key];
      if (isObject(sub) && !last) rewriteAt(sub, rest);
    }
    const pp = schema.patternProperties;
    if (isObject(pp) && !last) for (const sub of Object.values(pp)) if (isObject(sub)) rewriteAt(sub, rest);
  }
  // Array elements.
  if (head === '*' || /^(0|[1-9][0-9]*)$/.test(head)) {
    if (last) {
      delete schema.minItems;
      if (Array.isArray(schema.prefixItems)) delete schema.prefixItems;
    } else {
      const items = schema.items;
      if (isObject(items)) rewriteAt(items, rest);
      if (Array.isArray(schema.prefixItems)) for (const b of schema.prefixItems) if (isObject(b)) rewriteAt(b, rest);
    }
  }
}

/**
 * The result that replaces a withheld one: an error result the model can
 * read, saying which classes could not be located and why nothing is shown.
 */
export function withheldResult(toolName: string, plan: Extract<RedactionPlan, { kind: 'withhold' }>): CallToolResult {
  return {
    isError: true,
    content: [
      {
        type: 'text',
        text:
          `The result of tool "${toolName}" was withheld: policy requires removing data of class ` +
          `${plan.classes.join(', ')} before it reaches you, and the gateway does not know where ` +
          `${plan.unlocated.join(', ')} sits in this tool's result (the policy gives no field paths), ` +
          `so it withholds the whole result rather than risk passing that data on.`,
      },
    ],
  };
}
