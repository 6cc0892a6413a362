// What the gateway answers itself, before the SDK serves a request: every
// refusal is a value, and this is the one place that turns it into HTTP and
// JSON-RPC. (Answers inside MCP, such as a denied call's error result, are
// CallToolResults built in call_enforcement.ts and served by the SDK.)
// Pure functions.
import type { Resource } from './auth.js';
import { DPOP_ALGORITHMS, insufficientScope, unauthorized } from './auth.js';

type Id = string | number | null;

export type Refusal =
  /** No usable token: 401 invalid_token with the resource metadata (and a DPoP challenge when DPoP was used, RFC 9449 §7.1). */
  | { readonly kind: 'unauthenticated'; readonly description: string; readonly dpop?: boolean }
  /** The call needs scopes the token lacks: 403 insufficient_scope naming them all. */
  | { readonly kind: 'insufficient_scope'; readonly scopes: readonly string[]; readonly description: string }
  /** The body is over the configured bound: 413. */
  | { readonly kind: 'too_large'; readonly limit: number }
  /** The body could not be read: 400. */
  | { readonly kind: 'unreadable' }
  /** The body is not JSON: 400, -32700. */
  | { readonly kind: 'parse_error' }
  /** Not one JSON-RPC request or notification, or headers that disagree with it: 400, -32600. */
  | { readonly kind: 'invalid_request'; readonly id: Id; readonly message: string }
  /** A tools/call whose parameters the gateway will not decide on: -32602. */
  | { readonly kind: 'invalid_params'; readonly id: Id; readonly message: string }
  /** The upstream could not list its tools: -32603. */
  | { readonly kind: 'upstream_unavailable'; readonly id: Id; readonly message: string }
  /** The PDP did not answer: 503, -32603; nothing forwarded (fail closed). */
  | { readonly kind: 'pdp_unavailable'; readonly id: Id; readonly message: string };

function jsonRpcError(status: number, id: Id, code: number, message: string): Response {
  return Response.json({ jsonrpc: '2.0', id, error: { code, message } }, { status });
}

/** The HTTP response for `refusal` at `resource`. */
export function answer(refusal: Refusal, resource: Resource): Response {
  switch (refusal.kind) {
    case 'unauthenticated': {
      const response = unauthorized(resource, refusal.description);
      if (refusal.dpop) response.headers.append('WWW-Authenticate', `DPoP error="invalid_token", algs="${DPOP_ALGORITHMS.join(' ')}"`);
      return response;
    }
    case 'insufficient_scope':
      return insufficientScope(resource, refusal.scopes, refusal.description);
    case 'too_large':
      return jsonRpcError(413, null, -32600, `Request body larger than ${refusal.limit} bytes`);
    case 'unreadable':
      return jsonRpcError(400, null, -32600, 'Unreadable request body');
    case 'parse_error':
      return jsonRpcError(400, null, -32700, 'Parse error: the body is not JSON');
    case 'invalid_request':
      return jsonRpcError(400, refusal.id, -32600, refusal.message);
    case 'invalid_params':
      return jsonRpcError(200, refusal.id, -32602, refusal.message);
    case 'upstream_unavailable':
      return jsonRpcError(200, refusal.id, -32603, refusal.message);
    case 'pdp_unavailable':
      return jsonRpcError(503, refusal.id, -32603, refusal.message);
  }
}

/** Caller-supplied text in a message: JSON-quoted (escaped) and cut at `max` characters. */
export function quote(text: string, max = 64): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}
