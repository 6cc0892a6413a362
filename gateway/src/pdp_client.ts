// The PDP client: pdp.v1.Authorizer over gRPC with mTLS, the API loaded from
// the repository's proto/pdp/v1 (one source of truth). This is the one place
// where proto messages are translated to and from the gateway's types.
// Thread-safe in the Node sense: any number of calls may be in flight.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

import type { PdpConfig } from './config.js';
import type { PointerPattern } from './redaction.js';

export type Effect = 'EFFECT_UNSPECIFIED' | 'EFFECT_ALLOW' | 'EFFECT_DENY' | 'EFFECT_REQUIRE_APPROVAL' | 'EFFECT_STEP_UP';
export type AuthStrength =
  | 'AUTH_STRENGTH_UNSPECIFIED'
  | 'AUTH_STRENGTH_PASSWORD'
  | 'AUTH_STRENGTH_MFA'
  | 'AUTH_STRENGTH_PHISHING_RESISTANT';

/** What the gateway verified about the presenter of the token (pdp.v1.TokenBinding). */
export interface TokenBinding {
  /** DER of the mTLS client certificate of the connection to the gateway (RFC 8705). */
  readonly clientCertificate?: Buffer;
  /** RFC 7638 thumbprint of the DPoP key whose proof the gateway verified (RFC 9449). */
  readonly dpopJkt?: string;
}

/** The chain the gateway sends: the client's token and its binding, never asserted ids. */
export interface Chain {
  readonly accessToken: string;
  readonly binding: TokenBinding;
  readonly autonomous: boolean;
}

export interface Reason {
  readonly link: string;
  readonly code: string;
  readonly message: string;
  readonly missingScopes: readonly string[];
  readonly ruleId: string;
}

/**
 * Where each data class sits in a tool's result: class → JSON Pointer
 * patterns into structuredContent (DESIGN §3 `fields:`). The proto does not
 * carry them yet, so the PDP client always gives an empty map, and every
 * class to redact withholds the result (redaction.ts).
 */
export type RedactFields = ReadonlyMap<string, readonly PointerPattern[]>;

export interface Decision {
  readonly effect: Effect;
  readonly reasons: readonly Reason[];
  readonly redact: readonly string[];
  /** Field paths of the classes in `redact`, where known (empty until the proto has them). */
  readonly redactFields: RedactFields;
  readonly stepUp: AuthStrength;
  readonly policyVersion: string;
  readonly decisionId: string;
}

export interface VisibleTool {
  readonly toolId: string;
  readonly requiresApproval: boolean;
  readonly stepUp: AuthStrength;
  readonly redact: readonly string[];
  /** As Decision.redactFields. */
  readonly redactFields: RedactFields;
}

export interface FilterResult {
  readonly tools: readonly VisibleTool[];
  readonly policyVersion: string;
}

/** The PDP could not answer (a gRPC status other than OK). */
export interface PdpError {
  readonly pdpError: true;
  readonly code: string;
  readonly details: string;
}

export type PdpResult<T> = { ok: true; value: T } | { ok: false; error: PdpError };

/** Per-call context carried as gRPC metadata, for tracing across the two logs. */
export interface CallContext {
  readonly requestId: string;
  readonly traceparent?: string;
}

/**
 * Seam for DESIGN §4's Authorizer.Watch (not in the proto yet): a stream of
 * "the policy or the directory changed" events, on which the gateway tells
 * its clients notifications/tools/list_changed.
 */
export interface PolicyEvents {
  /** Registers `listener`; returns a function that unregisters it. */
  subscribe(listener: (event: { readonly kind: 'policy_changed' | 'users_changed' }) => void): () => void;
}

/** Until Authorizer.Watch exists: no events. */
export const NO_POLICY_EVENTS: PolicyEvents = { subscribe: () => () => {} };

interface MethodDef {
  path: string;
  requestSerialize: (v: object) => Buffer;
  responseDeserialize: (b: Buffer) => unknown;
}

export class PdpClient {
  private readonly client: grpc.Client;
  private readonly check: MethodDef;
  private readonly filter: MethodDef;

  private constructor(private readonly config: PdpConfig, client: grpc.Client, check: MethodDef, filter: MethodDef) {
    this.client = client;
    this.check = check;
    this.filter = filter;
  }

  /** Loads the proto and the certificates; throws if either cannot be read. */
  static create(config: PdpConfig): PdpClient {
    const def = protoLoader.loadSync(join(config.protoDir, 'pdp/v1/authorizer.proto'), {
      includeDirs: [config.protoDir],
      keepCase: true,
      enums: String,
      longs: String,
      defaults: true,
      arrays: true,
    });
    const service = def['pdp.v1.Authorizer'] as unknown as Record<string, MethodDef> | undefined;
    const check = service?.['Check'];
    const filter = service?.['FilterTools'];
    if (!check || !filter) throw new Error(`${config.protoDir}: pdp.v1.Authorizer lacks Check or FilterTools`);
    const creds = grpc.credentials.createSsl(
      readFileSync(config.ca),
      readFileSync(config.key),
      readFileSync(config.cert),
    );
    const client = new grpc.Client(config.address, creds, {
      'grpc.keepalive_time_ms': 30000,
      'grpc.max_receive_message_length': 16 << 20,
    });
    return new PdpClient(config, client, check, filter);
  }

  close(): void {
    this.client.close();
  }

  /**
   * Authorizer.Check for one tool id, action call or see. `definitionSha256`
   * is the pin of the upstream's definition of the tool (pinning.ts); it is
   * not sent until CheckRequest has its field (then: `definition_sha256`).
   */
  async decide(chain: Chain, toolId: string, action: 'call' | 'see', ctx: CallContext, definitionSha256?: string): Promise<PdpResult<Decision>> {
    void definitionSha256; // Waits for CheckRequest.definition_sha256.
    const request = {
      chain: chainMessage(chain),
      tool_id: toolId,
      action: action === 'call' ? 'ACTION_CALL' : 'ACTION_SEE',
    };
    const r = await this.unary(this.check, request, ctx);
    if (!r.ok) return r;
    const decision = field(r.value, 'decision');
    return { ok: true, value: toDecision(decision) };
  }

  /** Authorizer.FilterTools over every tool of `serverId`. */
  async filterTools(chain: Chain, serverId: string, ctx: CallContext): Promise<PdpResult<FilterResult>> {
    const r = await this.unary(this.filter, { chain: chainMessage(chain), server_id: serverId }, ctx);
    if (!r.ok) return r;
    const tools = list(field(r.value, 'tools')).map((t) => ({
      toolId: str(field(t, 'tool_id')),
      requiresApproval: field(t, 'requires_approval') === true,
      stepUp: str(field(t, 'step_up')) as AuthStrength,
      redact: list(field(t, 'redact')).map(str),
      redactFields: NO_FIELDS,
    }));
    return { ok: true, value: { tools, policyVersion: str(field(r.value, 'policy_version')) } };
  }

  private unary(method: MethodDef, request: object, ctx: CallContext): Promise<PdpResult<unknown>> {
    const metadata = new grpc.Metadata();
    metadata.set('x-request-id', ctx.requestId);
    if (ctx.traceparent) metadata.set('traceparent', ctx.traceparent);
    return new Promise((resolvePromise) => {
      this.client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        metadata,
        { deadline: Date.now() + this.config.timeoutMs },
        (err: grpc.ServiceError | null, value?: unknown) => {
          if (err) resolvePromise({ ok: false, error: { pdpError: true, code: grpc.status[err.code] ?? String(err.code), details: err.details } });
          else resolvePromise({ ok: true, value });
        },
      );
    });
  }
}

function chainMessage(chain: Chain): object {
  const binding: Record<string, unknown> = {};
  if (chain.binding.clientCertificate) binding.client_certificate = chain.binding.clientCertificate;
  if (chain.binding.dpopJkt) binding.dpop_jkt = chain.binding.dpopJkt;
  return { access_token: chain.accessToken, autonomous: chain.autonomous, binding };
}

function field(v: unknown, name: string): unknown {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[name] : undefined;
}
function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

const NO_FIELDS: RedactFields = new Map();

function toDecision(d: unknown): Decision {
  return {
    effect: (str(field(d, 'effect')) || 'EFFECT_UNSPECIFIED') as Effect,
    reasons: list(field(d, 'reasons')).map((r) => ({
      link: str(field(r, 'link')),
      code: str(field(r, 'code')),
      message: str(field(r, 'message')),
      missingScopes: list(field(r, 'missing_scopes')).map(str),
      ruleId: str(field(r, 'rule_id')),
    })),
    redact: list(field(d, 'redact')).map(str),
    redactFields: NO_FIELDS,
    stepUp: (str(field(d, 'step_up')) || 'AUTH_STRENGTH_UNSPECIFIED') as AuthStrength,
    policyVersion: str(field(d, 'policy_version')),
    decisionId: str(field(d, 'decision_id')),
  };
}

/** Reason codes that mean "this token is no good": the answer is 401, not a denial. */
export const TOKEN_PROBLEMS: ReadonlySet<string> = new Set([
  'TOKEN_INVALID',
  'TOKEN_EXPIRED',
  'TOKEN_LIFETIME_TOO_LONG',
  'TOKEN_AUDIENCE_MISMATCH',
  'TOKEN_BINDING_MISMATCH',
  'ISSUER_UNTRUSTED',
]);

/** The token problems among `decision`'s reasons (empty when the token is good). */
export function tokenProblems(decision: Decision): Reason[] {
  return decision.reasons.filter((r) => TOKEN_PROBLEMS.has(r.code));
}
