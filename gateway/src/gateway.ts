// The gateway: an HTTP server that serves each upstream MCP server at its
// own path, as its own protected resource, through the official SDK's
// createMcpHandler (one handler, both protocol eras). Before the SDK sees a
// request, the gateway authenticates it, refuses malformed input, and for
// tools/call asks the PDP and answers 401/403 itself; the SDK's per-request
// server then lists (FilterTools), forwards allowed calls, and passes
// resources and prompts through. Every enforced call is logged with the
// gateway's request id and the PDP's decision id.
// Thread-safe in the Node sense: requests are served concurrently.
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

import { toWebRequest } from '@modelcontextprotocol/node';
import { ProtocolError, ProtocolErrorCode, Server, createMcpHandler, parseJSONRPCMessage } from '@modelcontextprotocol/server';
import type { AuthInfo, CallToolResult, JSONRPCMessage, McpHttpHandler, McpRequestContext, Progress, ServerContext } from '@modelcontextprotocol/server';

import type { Refusal } from './answers.js';
import { answer, quote } from './answers.js';
import { Authenticator, protectedResourceMetadata, resourceFor } from './auth.js';
import type { Presented, Resource } from './auth.js';
import type { CallOutcome } from './call_enforcement.js';
import { enforce } from './call_enforcement.js';
import type { GatewayConfig, UpstreamConfig } from './config.js';
import type { Logger } from './log.js';
import type { Chain, Decision, PdpClient, PolicyEvents } from './pdp_client.js';
import { NO_POLICY_EVENTS } from './pdp_client.js';
import { redactResult, withheldResult } from './redaction.js';
import { CachedTokenChecker, PdpTokenChecker } from './token_check.js';
import { TOOL_NAME, toolId, upstreamName, visibleTools } from './tool_list.js';
import type { UpstreamClient, UpstreamEvent } from './upstream.js';
import { Upstream } from './upstream.js';

const VERSION = '0.1.0';

/** One upstream as served: its config, connection, resource and SDK handler. */
interface Served {
  readonly config: UpstreamConfig;
  readonly upstream: Upstream;
  readonly resource: Resource;
  readonly handler: McpHttpHandler;
}

/** A tools/call decided before the SDK saw it. */
interface DecidedCall {
  readonly exposedName: string;
  readonly upstreamName: string;
  readonly args: Record<string, unknown> | undefined;
  /** Absent for a tool the upstream does not have: nothing to decide. */
  readonly decision: Decision | undefined;
  readonly outcome: Extract<CallOutcome, { kind: 'refuse' | 'forward' }>;
}

/** What the gateway knows of one HTTP request, handed to the SDK's server factory. */
class RequestState {
  call: DecidedCall | undefined;
  constructor(
    readonly requestId: string,
    readonly served: Served,
    readonly chain: Chain,
    readonly traceparent: string | undefined,
  ) {}
}

export interface GatewayOptions {
  readonly pdp: PdpClient;
  readonly log: Logger;
  readonly events?: PolicyEvents;
}

export class Gateway {
  private readonly byPath = new Map<string, Served>();
  private readonly authenticator: Authenticator;
  private readonly tokens: CachedTokenChecker;
  private publicUrl = '';

  private constructor(
    private readonly config: GatewayConfig,
    private readonly options: GatewayOptions,
    private readonly http: HttpServer,
  ) {
    this.authenticator = new Authenticator({ clockSkewSeconds: config.clockSkewSeconds });
    this.tokens = new CachedTokenChecker(new PdpTokenChecker(options.pdp), config.tokenCache);
  }

  /** Listens, connects to every upstream (one failing is logged, not fatal), and writes the port file. */
  static async start(config: GatewayConfig, options: GatewayOptions): Promise<Gateway> {
    const tls = config.tls;
    const http: HttpServer = tls
      ? createHttpsServer({
          cert: readFileSync(tls.cert),
          key: readFileSync(tls.key),
          requestCert: true,
          // Without a CA, any certificate is a binding key (RFC 8705 §2.2): the PDP
          // compares its thumbprint with the token's cnf.x5t#S256.
          rejectUnauthorized: tls.clientCa !== undefined,
          ...(tls.clientCa ? { ca: readFileSync(tls.clientCa) } : {}),
        })
      : createServer();
    const gw = new Gateway(config, options, http);
    http.on('request', (req: IncomingMessage, res: ServerResponse) => {
      gw.serve(req, res).catch((e: unknown) => {
        options.log.error('request failed', { error: e instanceof Error ? e.message : String(e) });
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32603, message: 'Internal error in the gateway' } }));
      });
    });
    await new Promise<void>((ok, fail) => {
      http.once('error', fail);
      http.listen(config.listenPort, config.listenHost, () => ok());
    });
    const port = (http.address() as AddressInfo).port;
    const host = config.listenHost.includes(':') ? `[${config.listenHost}]` : config.listenHost;
    gw.publicUrl = config.publicUrl ?? `${tls ? 'https' : 'http'}://${host}:${port}`;
    for (const u of config.upstreams) {
      const upstream = new Upstream(u, options.log);
      const handler = createMcpHandler((ctx) => gw.serverFor(ctx), {
        legacy: 'stateless',
        maxRequestBodySize: config.maxBodyBytes,
        onerror: (e) => options.log.warn('mcp handler', { upstream: u.id, error: e.message }),
      });
      const served: Served = { config: u, upstream, resource: resourceFor(gw.publicUrl, u.path), handler };
      upstream.onToolsChanged(() => served.handler.notify.toolsChanged());
      upstream.onEvent((event) => relay(served, event));
      gw.byPath.set(u.path, served);
    }
    await Promise.all(
      [...gw.byPath.values()].map(async ({ upstream, config: u }) => {
        const r = await upstream.start();
        if (!r.ok) options.log.error('upstream unavailable at start; will retry on demand', { upstream: u.id, error: r.error.message });
      }),
    );
    // Seam for Authorizer.Watch: re-list on policy or directory changes.
    (options.events ?? NO_POLICY_EVENTS).subscribe(() => {
      for (const s of gw.byPath.values()) s.handler.notify.toolsChanged();
    });
    if (config.portFile) writeFileSync(config.portFile, `${port}\n`);
    options.log.info('gateway listening', { port, public_url: gw.publicUrl, upstreams: config.upstreams.map((u) => `${u.id}=${u.path}`) });
    return gw;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  /** The canonical URI of the upstream served at `path` (the token audience). */
  resourceUri(path: string): string | undefined {
    return this.byPath.get(path)?.resource.uri;
  }

  async close(): Promise<void> {
    this.http.closeAllConnections();
    await new Promise<void>((ok) => this.http.close(() => ok()));
    for (const s of this.byPath.values()) {
      await s.handler.close();
      await s.upstream.close();
    }
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    const prm = '/.well-known/oauth-protected-resource';
    if (url.pathname === prm || url.pathname.startsWith(`${prm}/`)) {
      const served = this.byPath.get(url.pathname.slice(prm.length)) ?? (this.byPath.size === 1 ? [...this.byPath.values()][0] : undefined);
      if (!served || (req.method !== 'GET' && req.method !== 'HEAD')) return writeResponse(res, new Response('Not found\n', { status: 404 }));
      const doc = protectedResourceMetadata(served.resource, this.config.authorizationServers, this.config.scopesSupported);
      return writeResponse(res, Response.json(doc, { headers: { 'cache-control': 'max-age=300' } }));
    }
    const served = this.byPath.get(url.pathname);
    if (!served) return writeResponse(res, new Response('Not found\n', { status: 404 }));
    let request: Request;
    try {
      request = await toWebRequest(req, undefined, { maxRequestBodySize: this.config.maxBodyBytes });
    } catch (e) {
      const refusal: Refusal = (e as { status?: number }).status === 413 ? { kind: 'too_large', limit: this.config.maxBodyBytes } : { kind: 'unreadable' };
      return writeResponse(res, answer(refusal, served.resource));
    }
    const socket = req.socket as Partial<TLSSocket>;
    const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate(false) : undefined;
    const cert = peer && peer.raw && peer.raw.length > 0 ? peer.raw : undefined;
    const requestId = randomUUID();
    const outcome = await this.mcp(requestId, request, served, cert);
    writeResponse(res, outcome instanceof Response ? outcome : answer(outcome, served.resource), { 'x-request-id': requestId });
  }

  /** One MCP exchange at `served`'s endpoint: the SDK's response, or the gateway's refusal. */
  private async mcp(requestId: string, request: Request, served: Served, clientCertificate: Buffer | undefined): Promise<Response | Refusal> {
    const log = this.options.log;
    const auth = await this.authenticator.authenticate(request, served.resource, clientCertificate);
    if (!auth.ok) {
      log.info('unauthenticated', { request_id: requestId, upstream: served.config.id, why: auth.description });
      return { kind: 'unauthenticated', description: auth.description, dpop: /^DPoP /i.test(request.headers.get('authorization') ?? '') };
    }
    const presented = auth.presented;
    const chain: Chain = { accessToken: presented.token, binding: presented.binding, autonomous: this.config.autonomous };
    const traceparent = request.headers.get('traceparent') ?? undefined;
    const state = new RequestState(requestId, served, chain, traceparent);
    const authInfo = authInfoFor(presented, served.resource, state);
    if (request.method !== 'POST') return served.handler.fetch(request, { authInfo });

    // The body: JSON, one JSON-RPC message (the 2025-06-18 and later revisions have no batches).
    let body: unknown;
    try {
      body = JSON.parse(await request.text());
    } catch {
      return { kind: 'parse_error' };
    }
    if (Array.isArray(body)) return { kind: 'invalid_request', id: null, message: 'JSON-RPC batches are not supported' };
    let message: JSONRPCMessage;
    try {
      message = parseJSONRPCMessage(body);
    } catch {
      return { kind: 'invalid_request', id: idOf(body), message: 'Invalid Request: not a JSON-RPC 2.0 request or notification' };
    }
    if (!('method' in message)) return { kind: 'invalid_request', id: idOf(body), message: 'Invalid Request: this endpoint takes requests and notifications' };
    const mismatch = headerMismatch(request, message);
    if (mismatch) return { kind: 'invalid_request', id: idOf(body), message: mismatch };

    if ('id' in message) {
      if (message.method === 'tools/call') {
        const early = await this.decideCall(state, message.id, message.params);
        if (early) return early;
      } else {
        const ctx = { requestId, ...(traceparent ? { traceparent } : {}) };
        const verdict = await this.tokens.check(chain, served.config, ctx, presented.expiresAt);
        if (!verdict.ok) {
          log.error('PDP unavailable', { request_id: requestId, code: verdict.error.code, details: verdict.error.details });
          return { kind: 'pdp_unavailable', id: message.id, message: 'The policy decision point is unavailable; nothing was forwarded' };
        }
        if (!verdict.value.ok) {
          log.info('token refused by the PDP', { request_id: requestId, decision_id: verdict.value.decisionId, why: verdict.value.description });
          return { kind: 'unauthenticated', description: verdict.value.description, dpop: presented.binding.dpopJkt !== undefined };
        }
      }
    }
    return served.handler.fetch(request, { authInfo, parsedBody: body });
  }

  /** Checks a tools/call; returns the refusal when it ends here, else records the decided call in `state`. */
  private async decideCall(state: RequestState, id: string | number, params: unknown): Promise<Refusal | undefined> {
    const log = this.options.log;
    const served = state.served;
    const p = typeof params === 'object' && params !== null ? (params as Record<string, unknown>) : {};
    const name = p.name;
    if (typeof name !== 'string' || !TOOL_NAME.test(name)) {
      return { kind: 'invalid_params', id, message: 'Invalid params: a tool name is 1 to 128 of A-Z a-z 0-9 _ . -' };
    }
    const args = p.arguments;
    if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
      return { kind: 'invalid_params', id, message: 'Invalid params: arguments must be an object' };
    }
    const inner = upstreamName(served.config, name);
    const tools = await served.upstream.tools();
    if (!tools.ok) return { kind: 'upstream_unavailable', id, message: `Upstream "${served.config.id}" is unavailable: ${tools.error.message}` };
    const listed = inner === undefined ? undefined : tools.value.find((t) => t.tool.name === inner);
    if (inner === undefined || listed === undefined) {
      // As the SDK's own servers answer: a tool error result, not a protocol error.
      log.info('unknown tool', { request_id: state.requestId, upstream: served.config.id, tool: name });
      const result: CallToolResult = { isError: true, content: [{ type: 'text', text: `Unknown tool: ${name}` }] };
      state.call = { exposedName: name, upstreamName: name, args: undefined, decision: undefined, outcome: { kind: 'refuse', result } };
      return undefined;
    }
    const tid = toolId(served.config, inner);
    const r = await this.options.pdp.decide(state.chain, tid, 'call', { requestId: state.requestId, ...(state.traceparent ? { traceparent: state.traceparent } : {}) }, listed.sha256);
    if (!r.ok) {
      log.error('PDP unavailable', { request_id: state.requestId, tool: tid, code: r.error.code, details: r.error.details });
      return { kind: 'pdp_unavailable', id, message: 'The policy decision point is unavailable; the call was not made' };
    }
    const decision = r.value;
    const outcome = enforce(decision, name);
    log.info('decision', {
      request_id: state.requestId,
      decision_id: decision.decisionId,
      tool: tid,
      effect: decision.effect,
      outcome: outcome.kind,
      policy_version: decision.policyVersion,
      definition_sha256: listed.sha256,
      reasons: decision.reasons.map((x) => x.code),
      redact: [...decision.redact],
    });
    if (outcome.kind === 'unauthorized') return { kind: 'unauthenticated', description: outcome.description, dpop: state.chain.binding.dpopJkt !== undefined };
    if (outcome.kind === 'insufficient_scope') return { kind: 'insufficient_scope', scopes: outcome.scopes, description: outcome.description };
    state.call = { exposedName: name, upstreamName: inner, args: args as Record<string, unknown> | undefined, decision, outcome };
    return undefined;
  }

  /** The SDK's per-request server factory. */
  private serverFor(ctx: McpRequestContext): Server {
    const state = ctx.authInfo?.extra?.['gateway'];
    if (!(state instanceof RequestState)) throw new Error('request reached the MCP handler without the gateway state');
    const served = state.served;
    const caps = served.upstream.capabilities;
    const server = new Server(
      { name: `pdp-gateway/${served.config.id}`, version: VERSION },
      {
        capabilities: {
          tools: { listChanged: true },
          ...(caps.resources
            ? { resources: { ...(caps.resourceSubscriptions ? { subscribe: true } : {}), ...(caps.resourcesListChanged ? { listChanged: true } : {}) } }
            : {}),
          ...(caps.logging ? { logging: {} } : {}),
          ...(caps.prompts ? { prompts: caps.promptsListChanged ? { listChanged: true } : {} } : {}),
          ...(caps.completions ? { completions: {} } : {}),
        },
        cacheHints: { 'tools/list': { cacheScope: 'private', ttlMs: 0 } },
      },
    );
    server.setRequestHandler('tools/list', async () => this.listTools(state));
    server.setRequestHandler('tools/call', async (request, c) => this.callTool(state, request.params.name, c));
    const up = served.upstream;
    const pass = async <T>(fn: (c: UpstreamClient) => Promise<T>): Promise<T> => {
      const r = await up.with(fn);
      if (!r.ok) throw new ProtocolError(ProtocolErrorCode.InternalError, `Upstream "${served.config.id}" failed: ${r.error.message}`);
      return r.value;
    };
    // Resources, prompts and completions pass through unchanged (docs/gateway.md).
    if (caps.resources) {
      server.setRequestHandler('resources/list', (r) => pass((c) => c.listResources(r.params)));
      server.setRequestHandler('resources/templates/list', (r) => pass((c) => c.listResourceTemplates(r.params)));
      server.setRequestHandler('resources/read', (r) => pass((c) => c.readResource(r.params)));
    }
    if (caps.prompts) {
      server.setRequestHandler('prompts/list', (r) => pass((c) => c.listPrompts(r.params)));
      server.setRequestHandler('prompts/get', (r) => pass((c) => c.getPrompt(r.params)));
    }
    if (caps.resourceSubscriptions) {
      server.setRequestHandler('resources/subscribe', (r) => pass((c) => c.subscribeResource(r.params)));
      server.setRequestHandler('resources/unsubscribe', (r) => pass((c) => c.unsubscribeResource(r.params)));
    }
    if (caps.completions) server.setRequestHandler('completion/complete', (r) => pass((c) => c.complete(r.params)));
    if (caps.logging) server.setRequestHandler('logging/setLevel', (r) => pass((c) => c.setLoggingLevel(r.params.level)));
    return server;
  }

  private async listTools(state: RequestState): Promise<{ tools: ReturnType<typeof visibleTools> }> {
    const served = state.served;
    const ctx = { requestId: state.requestId, ...(state.traceparent ? { traceparent: state.traceparent } : {}) };
    const [filter, upstream] = await Promise.all([this.options.pdp.filterTools(state.chain, served.config.id, ctx), served.upstream.tools()]);
    if (!filter.ok) {
      this.options.log.error('PDP unavailable', { request_id: state.requestId, code: filter.error.code, details: filter.error.details });
      throw new ProtocolError(ProtocolErrorCode.InternalError, 'The policy decision point is unavailable; no tools can be listed');
    }
    if (!upstream.ok) throw new ProtocolError(ProtocolErrorCode.InternalError, `Upstream "${served.config.id}" is unavailable: ${upstream.error.message}`);
    const tools = visibleTools(served.config, upstream.value, filter.value);
    this.options.log.info('tools/list', {
      request_id: state.requestId, upstream: served.config.id, policy_version: filter.value.policyVersion,
      visible: tools.length, upstream_tools: upstream.value.length,
    });
    return { tools };
  }

  private async callTool(state: RequestState, name: string, ctx: ServerContext): Promise<CallToolResult> {
    const call = state.call;
    // The SDK parsed the same body the gateway decided on; anything else is a bug: refuse.
    if (!call || call.exposedName !== name) {
      return { isError: true, content: [{ type: 'text', text: 'The call was not decided by the gateway; refused.' }] };
    }
    if (call.outcome.kind === 'refuse') return call.outcome.result;
    const served = state.served;
    // The upstream's progress, relayed under the client's own progress token.
    const progressToken = ctx.mcpReq._meta?.progressToken;
    const onprogress =
      progressToken === undefined
        ? undefined
        : (p: Progress): void => {
            const params = { progressToken, progress: p.progress, ...(p.total === undefined ? {} : { total: p.total }), ...(p.message === undefined ? {} : { message: p.message }) };
            ctx.mcpReq.notify({ method: 'notifications/progress', params }).catch(() => {});
          };
    const r = await served.upstream.callTool(call.upstreamName, call.args, ctx.mcpReq.signal, onprogress);
    if (!r.ok) {
      this.options.log.warn('upstream call failed', { request_id: state.requestId, decision_id: call.decision?.decisionId, error: r.error.message });
      return { isError: true, content: [{ type: 'text', text: `The server "${served.config.id}" did not complete the call of "${name}": ${r.error.message}` }] };
    }
    const plan = call.outcome.plan;
    if (plan.kind === 'none') return r.value;
    if (plan.kind === 'withhold') {
      this.options.log.info('result withheld', { request_id: state.requestId, decision_id: call.decision?.decisionId, classes: [...plan.classes] });
      return withheldResult(name, plan);
    }
    return redactResult(r.value, plan.patterns).result;
  }
}

/**
 * The upstream's resource and prompt notifications, to every open 2026-era
 * `subscriptions/listen` stream of its endpoint that asked for them (the SDK
 * filters by each stream's subscription). Policy governs tools; anyone who
 * may read the upstream's resources may know that one changed.
 */
function relay(served: Served, event: UpstreamEvent): void {
  switch (event.kind) {
    case 'resources_list_changed':
      return served.handler.notify.resourcesChanged();
    case 'prompts_list_changed':
      return served.handler.notify.promptsChanged();
    case 'resource_updated':
      return served.handler.notify.resourceUpdated(event.uri);
  }
}

function authInfoFor(p: Presented, resource: Resource, state: RequestState): AuthInfo {
  return {
    token: p.token,
    clientId: p.clientId,
    scopes: [...p.scopes],
    expiresAt: p.expiresAt,
    resource: new URL(resource.uri),
    resourceMetadataUrl: resource.metadataUrl,
    extra: { gateway: state },
  };
}

function idOf(body: unknown): string | number | null {
  const id = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).id : undefined;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/** The 2026-07-28 routing headers must say what the body says; returns why not, if not. */
function headerMismatch(request: Request, message: JSONRPCMessage): string | undefined {
  if (!('method' in message)) return undefined;
  const method = request.headers.get('mcp-method');
  if (method !== null && method !== message.method) return `Mcp-Method header ${quote(method)} does not match the body's method`;
  const name = request.headers.get('mcp-name');
  if (name !== null) {
    const params = (message.params ?? {}) as Record<string, unknown>;
    const inBody = message.method === 'resources/read' ? params.uri : params.name;
    if (inBody !== name) return `Mcp-Name header does not match the body's ${message.method === 'resources/read' ? 'uri' : 'name'}`;
  }
  return undefined;
}

/**
 * Writes `response` to `res`: the headers, then the body chunk by chunk as the
 * SDK produces it (an SSE stream stays open until it ends or the client goes).
 */
function writeResponse(res: ServerResponse, response: Response, extra: Record<string, string> = {}): void {
  const headers: Record<string, string> = { ...extra };
  response.headers.forEach((v, k) => {
    headers[k] = v;
  });
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  let open = true;
  res.once('close', () => {
    open = false;
    reader.cancel().catch(() => {});
  });
  const pump = async (): Promise<void> => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || !open) break;
      if (!res.write(value)) await drained(res);
    }
    res.end();
  };
  pump().catch(() => res.destroy());
}

/** Resolves when `res` can take more, or is closed. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((ok) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      ok();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
