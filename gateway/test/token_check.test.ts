import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { UpstreamConfig } from '../src/config.js';
import type { CallContext, Chain, Decision, PdpResult } from '../src/pdp_client.js';
import { CachedTokenChecker, PdpTokenChecker, TOKEN_PROBE_TOOL, cacheKey } from '../src/token_check.js';
import type { TokenChecker, TokenVerdict } from '../src/token_check.js';

const server: UpstreamConfig = { kind: 'http', id: 'crm', path: '/mcp/crm', toolPrefix: '', timeoutMs: 1000, url: new URL('http://x/mcp'), headers: {} };
const ctx: CallContext = { requestId: 'r' };
const chain = (token: string, binding: Chain['binding'] = {}): Chain => ({ accessToken: token, binding, autonomous: false });

/** Counts calls; answers what `verdict` says for the token. */
class Fake implements TokenChecker {
  calls = 0;
  constructor(private readonly answer: (c: Chain) => PdpResult<TokenVerdict>) {}
  async check(c: Chain): Promise<PdpResult<TokenVerdict>> {
    this.calls++;
    await new Promise((r) => setImmediate(r));
    return this.answer(c);
  }
}
const good = (): PdpResult<TokenVerdict> => ({ ok: true, value: { ok: true, decisionId: 'd' } });
const bad = (): PdpResult<TokenVerdict> => ({ ok: true, value: { ok: false, description: 'TOKEN_INVALID: bad signature', decisionId: 'd' } });
const down = (): PdpResult<TokenVerdict> => ({ ok: false, error: { pdpError: true, code: 'UNAVAILABLE', details: 'down' } });

test('token cache: one PDP call per token and binding while fresh; concurrent checks share it', async () => {
  let now = 1_000_000;
  const fake = new Fake(good);
  const cache = new CachedTokenChecker(fake, { ttlMs: 30_000, maxEntries: 100, maxBytes: 1 << 20, now: () => now });
  const exp = now / 1000 + 3600;
  await Promise.all([1, 2, 3].map(() => cache.check(chain('t1'), server, ctx, exp)));
  assert.equal(fake.calls, 1);
  assert.deepEqual(await cache.check(chain('t1'), server, ctx, exp), good());
  assert.equal(fake.calls, 1);
  await cache.check(chain('t2'), server, ctx, exp);
  await cache.check(chain('t1', { dpopJkt: 'k' }), server, ctx, exp);
  await cache.check(chain('t1'), { ...server, id: 'other' }, ctx, exp);
  assert.equal(fake.calls, 4, 'another token, binding or server is another key');
  now += 30_001;
  await cache.check(chain('t1'), server, ctx, exp);
  assert.equal(fake.calls, 5, 'the TTL bounds a verdict');
});

test('token cache: an acceptance never outlives the token exp; refusals last at most the TTL; PDP errors are not cached', async () => {
  let now = 1_000_000;
  const fake = new Fake((c) => (c.accessToken === 'bad' ? bad() : c.accessToken === 'down' ? down() : good()));
  const cache = new CachedTokenChecker(fake, { ttlMs: 30_000, maxEntries: 100, maxBytes: 1 << 20, now: () => now });
  await cache.check(chain('soon'), server, ctx, now / 1000 + 5);
  now += 5_000;
  await cache.check(chain('soon'), server, ctx, now / 1000);
  assert.equal(fake.calls, 2, 'kept until exp, not past it');
  const refused = await cache.check(chain('bad'), server, ctx, now / 1000 + 3600);
  assert.equal(refused.ok && !refused.value.ok && refused.value.description, 'TOKEN_INVALID: bad signature');
  await cache.check(chain('bad'), server, ctx, now / 1000 + 3600);
  assert.equal(fake.calls, 3);
  now += 30_000;
  await cache.check(chain('bad'), server, ctx, now / 1000 + 3600);
  assert.equal(fake.calls, 4);
  assert.equal((await cache.check(chain('down'), server, ctx)).ok, false);
  assert.equal((await cache.check(chain('down'), server, ctx)).ok, false);
  assert.equal(fake.calls, 6);
});

test('token cache: a check that throws is not remembered, nor shared with later checks', async () => {
  let calls = 0;
  const cache = new CachedTokenChecker({
    check: async () => {
      calls++;
      if (calls === 1) throw new Error('boom');
      return good();
    },
  });
  await assert.rejects(cache.check(chain('t'), server, ctx), /boom/);
  assert.deepEqual(await cache.check(chain('t'), server, ctx), good());
  assert.equal(calls, 2);
});

test('token cache: bounded in entries and bytes, least recently used evicted first', async () => {
  const fake = new Fake(good);
  const byEntries = new CachedTokenChecker(fake, { ttlMs: 30_000, maxEntries: 2, maxBytes: 1 << 20 });
  for (const t of ['a', 'b', 'a', 'c']) await byEntries.check(chain(t), server, ctx);
  assert.equal(byEntries.stats.entries, 2);
  const calls = fake.calls;
  await byEntries.check(chain('a'), server, ctx); // Used recently: kept.
  assert.equal(fake.calls, calls);
  await byEntries.check(chain('b'), server, ctx); // Evicted.
  assert.equal(fake.calls, calls + 1);

  const byBytes = new CachedTokenChecker(new Fake(good), { ttlMs: 30_000, maxEntries: 1000, maxBytes: 1000 });
  for (let i = 0; i < 50; i++) await byBytes.check(chain(`t${i}`), server, ctx);
  assert.ok(byBytes.stats.bytes <= 1000, `${byBytes.stats.bytes} bytes`);
  assert.ok(byBytes.stats.entries > 0 && byBytes.stats.entries < 50);
});

test('token cache: ttl 0 disables it; keys are hashes, never the token', async () => {
  const fake = new Fake(good);
  const off = new CachedTokenChecker(fake, { ttlMs: 0, maxEntries: 10, maxBytes: 1 << 20 });
  await off.check(chain('t'), server, ctx);
  await off.check(chain('t'), server, ctx);
  assert.equal(fake.calls, 2);
  const key = cacheKey(chain('secret-token'), 'crm');
  assert.match(key, /^[A-Za-z0-9_-]{43}$/);
  assert.ok(!key.includes('secret'));
  assert.notEqual(cacheKey(chain('t', { clientCertificate: Buffer.from('a') }), 'crm'), cacheKey(chain('t'), 'crm'));
});

test('PdpTokenChecker: a see decision on the reserved probe tool; token problems refuse, other reasons do not', async () => {
  const decision = (codes: string[]): Decision => ({
    effect: 'EFFECT_DENY', reasons: codes.map((code) => ({ link: 'LINK_TOOL', code, message: code.toLowerCase(), missingScopes: [], ruleId: '' })),
    redact: [], redactFields: new Map(), stepUp: 'AUTH_STRENGTH_UNSPECIFIED', policyVersion: 'v', decisionId: 'dec',
  });
  const asked: string[] = [];
  let codes = ['TOOL_UNKNOWN'];
  const checker = new PdpTokenChecker({
    decide: async (_c, toolId, action) => {
      asked.push(`${toolId} ${action}`);
      return { ok: true, value: decision(codes) };
    },
  });
  assert.deepEqual(await checker.check(chain('t'), server, ctx), { ok: true, value: { ok: true, decisionId: 'dec' } });
  assert.deepEqual(asked, [`crm.${TOKEN_PROBE_TOOL} see`]);
  codes = ['TOOL_UNKNOWN', 'TOKEN_EXPIRED'];
  assert.deepEqual(await checker.check(chain('t'), server, ctx), { ok: true, value: { ok: false, description: 'TOKEN_EXPIRED: token_expired', decisionId: 'dec' } });
});

test('config: token_cache defaults, values and bad values', async () => {
  const { parseConfig } = await import('../src/config.js');
  const base = 'listen: 127.0.0.1:0\npdp: {address: "localhost:1", ca: a, cert: b, key: c}\nupstreams:\n  - {id: crm, url: "http://127.0.0.1:1/mcp"}\n';
  const dflt = parseConfig(base, '/etc');
  assert.ok(dflt.ok);
  if (dflt.ok) assert.deepEqual(dflt.config.tokenCache, { ttlMs: 30_000, maxEntries: 10_000, maxBytes: 4 << 20 });
  const set = parseConfig(`${base}token_cache: {ttl_seconds: 0, max_entries: 5, max_bytes: 8192}\n`, '/etc');
  assert.ok(set.ok);
  if (set.ok) assert.deepEqual(set.config.tokenCache, { ttlMs: 0, maxEntries: 5, maxBytes: 8192 });
  const bad = parseConfig(`${base}token_cache: {ttl_seconds: 3600, other: 1}\n`, '/etc');
  assert.deepEqual(bad.ok ? [] : bad.issues.map((i) => i.path).sort(), ['token_cache.other', 'token_cache.ttl_seconds']);
});
