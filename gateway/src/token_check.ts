// The token check for requests other than tools/call (initialize, ping,
// tools/list, resources, prompts): is this token, with this binding, good at
// this server? Today that is asked of the PDP as a `see` decision on a tool id
// no policy defines (`<server>.__gateway_token_check__`), whose reasons carry
// every problem the PDP finds with the token. `TokenChecker` is the seam for
// a token-only PDP RPC, which will replace `PdpTokenChecker` and nothing else.
//
// `CachedTokenChecker` remembers verdicts so a session does not pay one PDP
// call per request: keyed by SHA-256 of (server, autonomous, token, binding),
// bounded in entries and in bytes (least recently used evicted first), an
// acceptance kept until min(token exp, now + ttl), a refusal for at most ttl.
// A PDP that did not answer is never cached; concurrent checks of one key
// share one PDP call. The raw token is never stored, only its hash.
// Thread-compatible in the Node sense (one event loop).
import { createHash } from 'node:crypto';

import type { CallContext, Chain, PdpClient, PdpResult } from './pdp_client.js';
import { tokenProblems } from './pdp_client.js';
import { toolId } from './tool_list.js';
import type { UpstreamConfig } from './config.js';

/**
 * The tool id of the token check: a `see` decision on a tool no policy
 * defines, whose reasons carry every problem the PDP finds with the token
 * (signature, issuer, expiry, binding). Audience is checked by the gateway.
 */
export const TOKEN_PROBE_TOOL = '__gateway_token_check__';

/** The verdict on a token: good, or refused with the PDP's reasons. */
export type TokenVerdict =
  | { readonly ok: true; readonly decisionId: string }
  | { readonly ok: false; readonly description: string; readonly decisionId: string };

/** Checks a token at one server (the seam for a token-only PDP RPC). */
export interface TokenChecker {
  check(chain: Chain, server: UpstreamConfig, ctx: CallContext): Promise<PdpResult<TokenVerdict>>;
}

/** The token check as one PDP `see` decision on the reserved probe tool. */
export class PdpTokenChecker implements TokenChecker {
  constructor(private readonly pdp: Pick<PdpClient, 'decide'>) {}

  async check(chain: Chain, server: UpstreamConfig, ctx: CallContext): Promise<PdpResult<TokenVerdict>> {
    const r = await this.pdp.decide(chain, toolId(server, TOKEN_PROBE_TOOL), 'see', ctx);
    if (!r.ok) return r;
    const problems = tokenProblems(r.value);
    if (problems.length === 0) return { ok: true, value: { ok: true, decisionId: r.value.decisionId } };
    const description = problems.map((p) => `${p.code}: ${p.message}`).join('; ');
    return { ok: true, value: { ok: false, description, decisionId: r.value.decisionId } };
  }
}

export interface TokenCacheOptions {
  /** Longest a verdict is kept, milliseconds; 0 disables the cache. */
  readonly ttlMs: number;
  readonly maxEntries: number;
  /** Bound on the cache's estimated size (keys, descriptions, per-entry overhead). */
  readonly maxBytes: number;
  /** Milliseconds; injected by tests. */
  readonly now?: () => number;
}

export const DEFAULT_TOKEN_CACHE: TokenCacheOptions = { ttlMs: 30_000, maxEntries: 10_000, maxBytes: 4 << 20 };

interface Entry {
  readonly verdict: TokenVerdict;
  readonly until: number;
  readonly bytes: number;
}

/** What one entry costs beyond its key and description: the Map slot, the objects. */
const ENTRY_OVERHEAD_BYTES = 200;

export interface TokenCacheStats {
  readonly entries: number;
  readonly bytes: number;
  readonly hits: number;
  readonly misses: number;
}

/** A bounded, expiring cache in front of another TokenChecker. */
export class CachedTokenChecker implements TokenChecker {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<PdpResult<TokenVerdict>>>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;

  constructor(private readonly inner: TokenChecker, private readonly options: TokenCacheOptions = DEFAULT_TOKEN_CACHE) {}

  get stats(): TokenCacheStats {
    return { entries: this.entries.size, bytes: this.bytes, hits: this.hits, misses: this.misses };
  }

  /**
   * `tokenExpiresAt` is the token's `exp` in seconds (the gateway has read
   * it; the PDP verifies it): an acceptance is never kept past it.
   */
  check(chain: Chain, server: UpstreamConfig, ctx: CallContext, tokenExpiresAt?: number): Promise<PdpResult<TokenVerdict>> {
    if (this.options.ttlMs <= 0) return this.inner.check(chain, server, ctx);
    const key = cacheKey(chain, server.id);
    const now = this.now();
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      if (hit.until > now) {
        this.entries.delete(key); // Most recently used goes last.
        this.entries.set(key, hit);
        this.hits++;
        return Promise.resolve({ ok: true, value: hit.verdict });
      }
      this.remove(key, hit);
    }
    const pending = this.inFlight.get(key);
    if (pending !== undefined) {
      this.hits++;
      return pending;
    }
    this.misses++;
    const p = this.inner
      .check(chain, server, ctx)
      .then((r) => {
        if (r.ok) this.store(key, r.value, tokenExpiresAt);
        return r;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }

  private store(key: string, verdict: TokenVerdict, tokenExpiresAt: number | undefined): void {
    const now = this.now();
    let until = now + this.options.ttlMs;
    if (verdict.ok && tokenExpiresAt !== undefined) until = Math.min(until, tokenExpiresAt * 1000);
    if (until <= now) return;
    const bytes = key.length + verdict.decisionId.length * 2 + (verdict.ok ? 0 : verdict.description.length * 2) + ENTRY_OVERHEAD_BYTES;
    if (bytes > this.options.maxBytes || this.options.maxEntries <= 0) return;
    const old = this.entries.get(key);
    if (old !== undefined) this.remove(key, old);
    while (this.entries.size >= this.options.maxEntries || this.bytes + bytes > this.options.maxBytes) {
      const first = this.entries.entries().next();
      if (first.done) break;
      this.remove(first.value[0], first.value[1]);
    }
    this.entries.set(key, { verdict, until, bytes });
    this.bytes += bytes;
  }

  private remove(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }

  private now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }
}

/** SHA-256 over everything the verdict depends on, each part length-prefixed. */
export function cacheKey(chain: Chain, serverId: string): string {
  const h = createHash('sha256');
  const part = (tag: string, v: string | Buffer): void => {
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    h.update(`${tag}:${b.length}:`);
    h.update(b);
  };
  part('server', serverId);
  part('autonomous', chain.autonomous ? '1' : '0');
  part('token', chain.accessToken);
  part('cert', chain.binding.clientCertificate ?? Buffer.alloc(0));
  part('jkt', chain.binding.dpopJkt ?? '');
  return h.digest('base64url');
}
