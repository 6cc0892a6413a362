// Connections to the upstream MCP servers: one official SDK client per
// upstream, over Streamable HTTP (with the upstream's own static headers;
// the client's token is never forwarded) or over stdio (the gateway starts
// the process). A connection that closes (the process died, the server went
// away) is reopened on the next request; a request that does not finish
// within the upstream's timeout fails. Failures are values (UpstreamError).
// Thread-safe in the Node sense: requests may overlap; one connect at a time.
import { Client, SdkHttpError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { CallToolResult, Progress, Tool, Transport } from '@modelcontextprotocol/client';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';

import type { UpstreamConfig } from './config.js';
import type { Logger } from './log.js';
import { definitionSha256 } from './pinning.js';

/** An upstream tool as listed, with its definition pin. */
export interface UpstreamTool {
  readonly tool: Tool;
  readonly sha256: string;
}

/** The SDK client of one upstream connection. */
export type UpstreamClient = Client;

export interface UpstreamError {
  readonly upstreamError: true;
  readonly message: string;
}

export type UpstreamResult<T> = { ok: true; value: T } | { ok: false; error: UpstreamError };

/**
 * What the upstream says on its own about its resources and prompts, relayed
 * to the gateway's clients (gateway.ts). Log notifications and requests to
 * the client are not among them: see docs/gateway.md.
 */
export type UpstreamEvent =
  | { readonly kind: 'resources_list_changed' }
  | { readonly kind: 'prompts_list_changed' }
  | { readonly kind: 'resource_updated'; readonly uri: string };

/** What the upstream advertised at connect time. */
export interface UpstreamCapabilities {
  readonly resources: boolean;
  readonly prompts: boolean;
  readonly completions: boolean;
  readonly logging: boolean;
  readonly resourceSubscriptions: boolean;
  readonly resourcesListChanged: boolean;
  readonly promptsListChanged: boolean;
}

export class Upstream {
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private toolCache: Promise<UpstreamResult<UpstreamTool[]>> | undefined;
  private readonly pins = new Map<string, string>();
  private readonly toolListeners = new Set<() => void>();
  private readonly eventListeners = new Set<(event: UpstreamEvent) => void>();

  constructor(readonly config: UpstreamConfig, private readonly log: Logger) {}

  /** Registers `listener` for "the upstream's tool list changed"; returns its removal. */
  onToolsChanged(listener: () => void): () => void {
    this.toolListeners.add(listener);
    return () => this.toolListeners.delete(listener);
  }

  /** Registers `listener` for the upstream's resource and prompt notifications; returns its removal. */
  onEvent(listener: (event: UpstreamEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** What the upstream advertised when last connected (nothing before it first connects). */
  capabilities: UpstreamCapabilities = {
    resources: false, prompts: false, completions: false, logging: false, resourceSubscriptions: false,
    resourcesListChanged: false, promptsListChanged: false,
  };

  /** Connects now; returns the error instead of throwing. */
  async start(): Promise<UpstreamResult<UpstreamCapabilities>> {
    return this.with(async () => this.capabilities);
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await c.close().catch(() => {});
  }

  /** The upstream's tools (every page), cached until it says they changed or the connection is reopened. */
  tools(): Promise<UpstreamResult<UpstreamTool[]>> {
    if (!this.toolCache) {
      this.toolCache = this.with(async (c) => {
        const tools: Tool[] = [];
        let cursor: string | undefined;
        do {
          const page = await c.listTools(cursor === undefined ? {} : { cursor }, { timeout: this.config.timeoutMs });
          tools.push(...page.tools);
          cursor = page.nextCursor;
        } while (cursor !== undefined && tools.length < 100000);
        return tools.map((tool) => this.pin(tool));
      });
      this.toolCache.then((r) => {
        if (!r.ok) this.toolCache = undefined; // Do not cache a failure.
      });
    }
    return this.toolCache;
  }

  /** tools/call upstream with exactly `name` and `args`; `signal` aborts it; `onprogress` receives its progress. */
  callTool(
    name: string,
    args: Record<string, unknown> | undefined,
    signal: AbortSignal | undefined,
    onprogress?: (progress: Progress) => void,
  ): Promise<UpstreamResult<CallToolResult>> {
    return this.with((c) =>
      c.callTool(
        { name, ...(args === undefined ? {} : { arguments: args }) },
        { timeout: this.config.timeoutMs, ...(signal ? { signal } : {}), ...(onprogress ? { onprogress } : {}) },
      ),
    );
  }

  /** Runs `fn` with a connected client; any throw becomes an UpstreamError. */
  async with<T>(fn: (client: Client) => Promise<T>): Promise<UpstreamResult<T>> {
    try {
      const client = await this.connected();
      return { ok: true, value: await fn(client) };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.log.warn('upstream request failed', { upstream: this.config.id, error: message });
      // An HTTP-level failure (the session is gone, the server restarted): start a new session next time.
      if (SdkHttpError.isInstance(e)) await this.close();
      return { ok: false, error: { upstreamError: true, message } };
    }
  }

  private pin(tool: Tool): UpstreamTool {
    const sha256 = definitionSha256(tool);
    const before = this.pins.get(tool.name);
    if (before !== undefined && before !== sha256) {
      this.log.warn('upstream tool definition changed', { upstream: this.config.id, tool: tool.name, was: before, now: sha256 });
    }
    this.pins.set(tool.name, sha256);
    return { tool, sha256 };
  }

  private connected(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    if (!this.connecting) {
      this.connecting = this.connect().finally(() => {
        this.connecting = undefined;
      });
    }
    return this.connecting;
  }

  private async connect(): Promise<Client> {
    const client = new Client(
      { name: 'pdp-gateway', version: '0.1.0' },
      {
        capabilities: {},
        // Modern (2026-07-28) where the upstream offers it, else the 2025 handshake.
        versionNegotiation: { mode: 'auto', probe: { timeoutMs: 5000 } },
        listChanged: {
          tools: {
            onChanged: () => this.toolsChanged(),
          },
        },
      },
    );
    client.setNotificationHandler('notifications/resources/updated', (n) => this.emit({ kind: 'resource_updated', uri: n.params.uri }));
    client.setNotificationHandler('notifications/resources/list_changed', () => this.emit({ kind: 'resources_list_changed' }));
    client.setNotificationHandler('notifications/prompts/list_changed', () => this.emit({ kind: 'prompts_list_changed' }));
    const transport = this.transport();
    client.onclose = () => {
      if (this.client === client) {
        this.log.warn('upstream connection closed; it will be reopened on the next request', { upstream: this.config.id });
        this.client = undefined;
        this.toolsChanged();
      }
    };
    await client.connect(transport, { timeout: this.config.timeoutMs });
    const caps = client.getServerCapabilities() ?? {};
    this.capabilities = {
      resources: caps.resources !== undefined,
      prompts: caps.prompts !== undefined,
      completions: caps.completions !== undefined,
      logging: caps.logging !== undefined,
      resourceSubscriptions: caps.resources?.subscribe === true,
      resourcesListChanged: caps.resources?.listChanged === true,
      promptsListChanged: caps.prompts?.listChanged === true,
    };
    this.client = client;
    this.log.info('upstream connected', { upstream: this.config.id, kind: this.config.kind });
    return client;
  }

  private emit(event: UpstreamEvent): void {
    for (const l of this.eventListeners) l(event);
  }

  private toolsChanged(): void {
    this.toolCache = undefined;
    for (const l of this.toolListeners) l();
  }

  private transport(): Transport {
    const c = this.config;
    if (c.kind === 'http') {
      return new StreamableHTTPClientTransport(c.url, { requestInit: { headers: { ...c.headers } } });
    }
    const transport = new StdioClientTransport({
      command: c.command,
      args: [...c.args],
      env: { ...getDefaultEnvironment(), ...c.env },
      stderr: 'pipe',
      ...(c.cwd === undefined ? {} : { cwd: c.cwd }),
    });
    // The server's stderr, line by line, into the gateway's log (each line bounded).
    let pending = '';
    transport.stderr?.on('data', (d: Buffer) => {
      pending += d.toString('utf8');
      const lines = pending.split('\n');
      pending = (lines.pop() ?? '').slice(-4096);
      for (const line of lines) if (line.trim() !== '') this.log.info('upstream stderr', { upstream: c.id, line: line.slice(0, 1000) });
    });
    return transport;
  }
}
