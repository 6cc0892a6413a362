// The gateway's configuration: one YAML file (docs/gateway.md describes
// every key). Loading validates everything and reports every problem at
// once; a config that does not load never starts the gateway.
// Immutable once loaded; thread-compatible.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';

import { parse as parseYaml } from 'yaml';

/** How the gateway reaches the PDP: gRPC over mTLS. */
export interface PdpConfig {
  /** host:port of the PDP. */
  readonly address: string;
  /** PEM files: the CA that signed the PDP's certificate, and the gateway's own certificate and key. */
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** Deadline of one PDP call, milliseconds (default 2000). */
  readonly timeoutMs: number;
  /** The proto root holding pdp/v1/*.proto (default: the repository's proto/). */
  readonly protoDir: string;
}

interface UpstreamCommon {
  /** The MCP server id the policy's tool ids use ("<id>.<tool>"). */
  readonly id: string;
  /** Where the gateway serves this server (default /mcp/<id>). */
  readonly path: string;
  /** Prefix added to the upstream's tool names in tools/list (default none). */
  readonly toolPrefix: string;
  /** Deadline of one upstream request, milliseconds (default 30000). */
  readonly timeoutMs: number;
}

/** An upstream MCP server over Streamable HTTP, with its own static credential. */
export interface HttpUpstream extends UpstreamCommon {
  readonly kind: 'http';
  readonly url: URL;
  /** Headers sent with every upstream request (e.g. its own Authorization). */
  readonly headers: Readonly<Record<string, string>>;
}

/** An upstream MCP server over stdio, started by the gateway. */
export interface StdioUpstream extends UpstreamCommon {
  readonly kind: 'stdio';
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string | undefined;
}

export type UpstreamConfig = HttpUpstream | StdioUpstream;

/** TLS on the gateway's own listener; client certificates are requested for RFC 8705 binding. */
export interface ListenTlsConfig {
  readonly cert: string;
  readonly key: string;
  /**
   * CA bundle that client certificates must chain to; absent: any client
   * certificate is accepted as a binding key (RFC 8705 §2.2, self-signed),
   * which proves possession only, and the token's cnf decides.
   */
  readonly clientCa: string | undefined;
}

/** Bounds of the token-check cache (token_check.ts); ttlMs 0 disables it. */
export interface TokenCacheConfig {
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly maxBytes: number;
}

export interface GatewayConfig {
  /** host and port to listen on (port 0: any free port; see portFile). */
  readonly listenHost: string;
  readonly listenPort: number;
  /** TLS for the listener (https, with client certificates); absent: plain HTTP. */
  readonly tls: ListenTlsConfig | undefined;
  /** Written with the chosen port once listening, when set. */
  readonly portFile: string | undefined;
  /**
   * The public base URL clients use; each upstream's canonical URI (the
   * token audience and the RFC 9728 `resource`) is this plus its path.
   * Default: http://<listen host>:<port>.
   */
  readonly publicUrl: string | undefined;
  /** Authorization servers advertised in the protected-resource metadata. */
  readonly authorizationServers: readonly string[];
  /** Scopes advertised in the protected-resource metadata (optional). */
  readonly scopesSupported: readonly string[];
  /** Largest request body accepted, bytes (default 1 MiB). */
  readonly maxBodyBytes: number;
  /** Whether a human is in the loop of the gateway's clients (IdentityChain.autonomous is the negation). */
  readonly autonomous: boolean;
  /** Tolerated clock difference for the gateway's own token pre-checks (exp, DPoP iat), seconds. */
  readonly clockSkewSeconds: number;
  /** The cache of token checks for requests other than tools/call (token_check.ts). */
  readonly tokenCache: TokenCacheConfig;
  readonly pdp: PdpConfig;
  readonly upstreams: readonly UpstreamConfig[];
}

export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

export type ConfigResult = { ok: true; config: GatewayConfig } | { ok: false; issues: ConfigIssue[] };

const SERVER_ID = /^[A-Za-z0-9_-]{1,64}$/;
const TOOL_PREFIX = /^[A-Za-z0-9_.-]{0,32}$/;

/** Loads and validates the YAML file at `file`; relative paths in it are relative to its directory. */
export function loadConfigFile(file: string): ConfigResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { ok: false, issues: [{ path: file, message: `cannot read: ${(e as Error).message}` }] };
  }
  return parseConfig(text, dirname(resolve(file)));
}

/** Validates YAML `text`; relative paths resolve against `baseDir`. */
export function parseConfig(text: string, baseDir: string): ConfigResult {
  let doc: unknown;
  try {
    doc = parseYaml(text, { uniqueKeys: true });
  } catch (e) {
    return { ok: false, issues: [{ path: '', message: `not valid YAML: ${(e as Error).message}` }] };
  }
  const issues: ConfigIssue[] = [];
  const r = new Reader(issues, baseDir);
  const root = r.object(doc, '');
  r.knownKeys(root, '', [
    'listen', 'tls', 'port_file', 'public_url', 'authorization_servers', 'scopes_supported', 'max_body_bytes',
    'autonomous', 'clock_skew_seconds', 'token_cache', 'pdp', 'upstreams',
  ]);
  const cacheRaw = root.token_cache === undefined ? {} : r.object(root.token_cache, 'token_cache');
  r.knownKeys(cacheRaw, 'token_cache', ['ttl_seconds', 'max_entries', 'max_bytes']);
  const tokenCache: TokenCacheConfig = {
    ttlMs: r.int(cacheRaw.ttl_seconds, 'token_cache.ttl_seconds', 30, 0, 300) * 1000,
    maxEntries: r.int(cacheRaw.max_entries, 'token_cache.max_entries', 10000, 1, 1000000),
    maxBytes: r.int(cacheRaw.max_bytes, 'token_cache.max_bytes', 4 << 20, 4096, 256 << 20),
  };
  const listen = r.string(root.listen, 'listen') ?? '';
  const m = /^(.*):(\d+)$/.exec(listen);
  let listenHost = '127.0.0.1';
  let listenPort = 0;
  if (!m) issues.push({ path: 'listen', message: `want host:port, got "${listen}"` });
  else {
    listenHost = m[1]!.replace(/^\[(.*)\]$/, '$1');
    listenPort = Number(m[2]);
    if (listenPort > 65535) issues.push({ path: 'listen', message: 'port above 65535' });
  }
  const publicUrl = root.public_url === undefined ? undefined : r.url(root.public_url, 'public_url')?.href.replace(/\/$/, '');
  const pdpRaw = r.object(root.pdp, 'pdp');
  r.knownKeys(pdpRaw, 'pdp', ['address', 'ca', 'cert', 'key', 'timeout_ms', 'proto_dir']);
  const defaultProto = resolve(new URL('../../../proto', import.meta.url).pathname);
  const pdp: PdpConfig = {
    address: r.string(pdpRaw.address, 'pdp.address') ?? '',
    ca: r.file(pdpRaw.ca, 'pdp.ca') ?? '',
    cert: r.file(pdpRaw.cert, 'pdp.cert') ?? '',
    key: r.file(pdpRaw.key, 'pdp.key') ?? '',
    timeoutMs: r.int(pdpRaw.timeout_ms, 'pdp.timeout_ms', 2000, 1, 600000),
    protoDir: pdpRaw.proto_dir === undefined ? defaultProto : r.file(pdpRaw.proto_dir, 'pdp.proto_dir') ?? defaultProto,
  };
  const upstreams: UpstreamConfig[] = [];
  const list = root.upstreams;
  if (!Array.isArray(list) || list.length === 0) issues.push({ path: 'upstreams', message: 'want a non-empty list of upstream MCP servers' });
  else {
    const ids = new Set<string>();
    const paths = new Set<string>();
    list.forEach((item, i) => {
      const at = `upstreams[${i}]`;
      const u = r.object(item, at);
      r.knownKeys(u, at, ['id', 'path', 'url', 'headers', 'command', 'env', 'cwd', 'tool_prefix', 'timeout_ms']);
      const id = r.string(u.id, `${at}.id`) ?? '';
      if (id !== '' && !SERVER_ID.test(id)) issues.push({ path: `${at}.id`, message: `"${id}" is not a server id (letters, digits, "_" and "-", at most 64)` });
      if (ids.has(id)) issues.push({ path: `${at}.id`, message: `duplicate id "${id}"` });
      ids.add(id);
      const path = u.path === undefined ? `/mcp/${id}` : r.string(u.path, `${at}.path`) ?? '';
      if (!/^\/[A-Za-z0-9/_.-]*$/.test(path) || path.startsWith('/.well-known')) issues.push({ path: `${at}.path`, message: `"${path}" is not a usable path` });
      if (paths.has(path)) issues.push({ path: `${at}.path`, message: `duplicate path "${path}"` });
      paths.add(path);
      const toolPrefix = u.tool_prefix === undefined ? '' : r.string(u.tool_prefix, `${at}.tool_prefix`) ?? '';
      if (!TOOL_PREFIX.test(toolPrefix)) issues.push({ path: `${at}.tool_prefix`, message: 'letters, digits, "_", "." and "-", at most 32' });
      const timeoutMs = r.int(u.timeout_ms, `${at}.timeout_ms`, 30000, 1, 3600000);
      const common = { id, path, toolPrefix, timeoutMs };
      if ((u.url === undefined) === (u.command === undefined)) {
        issues.push({ path: at, message: 'give exactly one of url (Streamable HTTP) and command (stdio)' });
      } else if (u.url !== undefined) {
        const url = r.url(u.url, `${at}.url`);
        if (url) upstreams.push({ kind: 'http', ...common, url, headers: r.stringMap(u.headers, `${at}.headers`) });
      } else {
        const command = u.command;
        const argv = Array.isArray(command) ? command : [command];
        const strings = argv.filter((a): a is string => typeof a === 'string' && a !== '');
        if (strings.length !== argv.length || strings.length === 0) issues.push({ path: `${at}.command`, message: 'want a command line: a non-empty string or list of strings' });
        else
          upstreams.push({
            kind: 'stdio', ...common, command: strings[0]!, args: strings.slice(1),
            env: r.stringMap(u.env, `${at}.env`),
            cwd: u.cwd === undefined ? undefined : r.file(u.cwd, `${at}.cwd`),
          });
      }
    });
  }
  let tls: ListenTlsConfig | undefined;
  if (root.tls !== undefined) {
    const t = r.object(root.tls, 'tls');
    r.knownKeys(t, 'tls', ['cert', 'key', 'client_ca']);
    tls = {
      cert: r.file(t.cert, 'tls.cert') ?? '',
      key: r.file(t.key, 'tls.key') ?? '',
      clientCa: t.client_ca === undefined ? undefined : r.file(t.client_ca, 'tls.client_ca'),
    };
  }
  const config: GatewayConfig = {
    listenHost, listenPort, tls,
    portFile: root.port_file === undefined ? undefined : r.file(root.port_file, 'port_file'),
    publicUrl,
    authorizationServers: r.stringList(root.authorization_servers, 'authorization_servers'),
    scopesSupported: r.stringList(root.scopes_supported, 'scopes_supported'),
    maxBodyBytes: r.int(root.max_body_bytes, 'max_body_bytes', 1 << 20, 1024, 64 << 20),
    autonomous: r.bool(root.autonomous, 'autonomous', false),
    clockSkewSeconds: r.int(root.clock_skew_seconds, 'clock_skew_seconds', 60, 0, 3600),
    tokenCache,
    pdp, upstreams,
  };
  return issues.length > 0 ? { ok: false, issues } : { ok: true, config };
}

/** Typed reads of untyped YAML, recording an issue for every bad value. */
class Reader {
  constructor(private readonly issues: ConfigIssue[], private readonly baseDir: string) {}

  object(v: unknown, path: string): Record<string, unknown> {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    this.issues.push({ path, message: v === undefined ? 'missing' : 'want a mapping' });
    return {};
  }
  knownKeys(o: Record<string, unknown>, path: string, keys: readonly string[]): void {
    for (const k of Object.keys(o)) if (!keys.includes(k)) this.issues.push({ path: path === '' ? k : `${path}.${k}`, message: 'unknown key' });
  }
  string(v: unknown, path: string): string | undefined {
    if (typeof v === 'string' && v !== '') return v;
    this.issues.push({ path, message: v === undefined ? 'missing' : 'want a non-empty string' });
    return undefined;
  }
  file(v: unknown, path: string): string | undefined {
    const s = this.string(v, path);
    return s === undefined ? undefined : isAbsolute(s) ? s : resolve(this.baseDir, s);
  }
  url(v: unknown, path: string): URL | undefined {
    const s = this.string(v, path);
    if (s === undefined) return undefined;
    try {
      const u = new URL(s);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
      return u;
    } catch {
      this.issues.push({ path, message: `"${s}" is not an http(s) URL` });
      return undefined;
    }
  }
  int(v: unknown, path: string, dflt: number, min: number, max: number): number {
    if (v === undefined) return dflt;
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
    this.issues.push({ path, message: `want an integer from ${min} to ${max}` });
    return dflt;
  }
  bool(v: unknown, path: string, dflt: boolean): boolean {
    if (v === undefined) return dflt;
    if (typeof v === 'boolean') return v;
    this.issues.push({ path, message: 'want true or false' });
    return dflt;
  }
  stringList(v: unknown, path: string): string[] {
    if (v === undefined) return [];
    if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
    this.issues.push({ path, message: 'want a list of strings' });
    return [];
  }
  stringMap(v: unknown, path: string): Record<string, string> {
    if (v === undefined) return {};
    const o = this.object(v, path);
    const out: Record<string, string> = {};
    for (const [k, s] of Object.entries(o)) {
      if (typeof s === 'string') out[k] = s;
      else this.issues.push({ path: `${path}.${k}`, message: 'want a string' });
    }
    return out;
  }
}
