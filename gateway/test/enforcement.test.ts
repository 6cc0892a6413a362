import assert from 'node:assert/strict';
import { test } from 'node:test';

import { enforce } from '../src/call_enforcement.js';
import { loadConfigFile, parseConfig } from '../src/config.js';
import { GATEWAY_DIR } from './harness.js';
import type { Decision, Reason } from '../src/pdp_client.js';
import { compilePattern, isPatternError } from '../src/redaction.js';
import { upstreamName, visibleTools } from '../src/tool_list.js';

function reason(code: string, extra: Partial<Reason> = {}): Reason {
  return { link: 'LINK_USER', code, message: `${code} happened`, missingScopes: [], ruleId: '', ...extra };
}
function decision(effect: Decision['effect'], reasons: Reason[] = [], more: Partial<Decision> = {}): Decision {
  return { effect, reasons, redact: [], redactFields: new Map(), stepUp: 'AUTH_STRENGTH_UNSPECIFIED', policyVersion: 'v1', decisionId: 'd-1', ...more };
}

test('enforce: each effect to its outcome', () => {
  assert.deepEqual(enforce(decision('EFFECT_ALLOW'), 't'), { kind: 'forward', plan: { kind: 'none' } });
  assert.equal(enforce(decision('EFFECT_ALLOW', [], { redact: ['salary'] }), 't').kind, 'forward');
  const scope = enforce(decision('EFFECT_DENY', [reason('MISSING_SCOPE', { link: 'LINK_CLIENT', missingScopes: ['b', 'a'] })]), 't');
  assert.deepEqual(scope.kind === 'insufficient_scope' && scope.scopes, ['a', 'b']);
  const mixed = enforce(decision('EFFECT_DENY', [reason('MISSING_SCOPE', { missingScopes: ['a'] }), reason('USER_NOT_PERMITTED')]), 't');
  assert.equal(mixed.kind, 'refuse', 'scopes alone would not help: a refusal, not a challenge');
  assert.match(mixed.kind === 'refuse' ? JSON.stringify(mixed.result) : '', /user: USER_NOT_PERMITTED/);
  assert.equal(enforce(decision('EFFECT_DENY', [reason('TOKEN_EXPIRED', { link: 'LINK_CLIENT' }), reason('USER_UNKNOWN')]), 't').kind, 'unauthorized');
  const stepUp = enforce(decision('EFFECT_STEP_UP', [reason('STEP_UP_REQUIRED')], { stepUp: 'AUTH_STRENGTH_PHISHING_RESISTANT' }), 't');
  assert.match(stepUp.kind === 'refuse' ? JSON.stringify(stepUp.result) : '', /phishing-resistant/);
  const approval = enforce(decision('EFFECT_REQUIRE_APPROVAL', [reason('APPROVAL_REQUIRED')]), 't');
  assert.match(approval.kind === 'refuse' ? JSON.stringify(approval.result) : '', /^\{"isError":true.*Approval required/);
  assert.equal(enforce(decision('EFFECT_UNSPECIFIED'), 't').kind, 'refuse', 'fail closed');
});

test('tool list: visible only, prefixed, sorted, annotated', () => {
  const server = { id: 'crm', toolPrefix: 'crm_' };
  const upstream = ['zeta', 'alpha', 'hidden', 'bad name'].map((name) => ({ tool: { name, inputSchema: { type: 'object' as const } }, sha256: 'x'.repeat(64) }));
  const tools = visibleTools(server, upstream, {
    policyVersion: 'v',
    tools: [
      { toolId: 'crm.zeta', requiresApproval: true, stepUp: 'AUTH_STRENGTH_MFA', redact: [], redactFields: new Map() },
      { toolId: 'crm.alpha', requiresApproval: false, stepUp: 'AUTH_STRENGTH_UNSPECIFIED', redact: [], redactFields: new Map() },
      { toolId: 'crm.bad name', requiresApproval: false, stepUp: 'AUTH_STRENGTH_UNSPECIFIED', redact: [], redactFields: new Map() },
    ],
  });
  assert.deepEqual(tools.map((t) => t.name), ['crm_alpha', 'crm_zeta']);
  assert.match(tools[1]?.description ?? '', /human approver.*multi-factor/s);
  assert.equal(upstreamName(server, 'crm_alpha'), 'alpha');
  assert.equal(upstreamName(server, 'alpha'), undefined);
});

test('config: every problem at once', () => {
  const r = parseConfig('listen: nowhere\nbogus: 1\npdp: {address: x}\nupstreams:\n  - {id: "a b", url: "ftp://x", command: y}\n', '/tmp');
  assert.equal(r.ok, false);
  const paths = r.ok ? [] : r.issues.map((i) => i.path);
  for (const want of ['listen', 'bogus', 'pdp.ca', 'upstreams[0].id', 'upstreams[0]']) assert.ok(paths.includes(want), `${want} in ${paths.join(', ')}`);
  const good = parseConfig('listen: 127.0.0.1:0\npdp: {address: "localhost:1", ca: a, cert: b, key: c}\nupstreams:\n  - {id: crm, url: "http://127.0.0.1:1/mcp"}\n  - {id: mem, command: [node, x.js], tool_prefix: m_}\n', '/etc');
  assert.ok(good.ok);
  if (good.ok) {
    assert.equal(good.config.pdp.ca, '/etc/a');
    assert.equal(good.config.upstreams[0]?.path, '/mcp/crm');
    assert.equal(good.config.upstreams[1]?.kind, 'stdio');
  }
});

test('config: the shipped example loads', () => {
  const r = loadConfigFile(`${GATEWAY_DIR}/gateway.example.yaml`);
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.issues));
  if (r.ok) assert.deepEqual(r.config.upstreams.map((u) => `${u.id}:${u.kind}:${u.path}`), ['crm:http:/mcp/crm', 'memory:stdio:/mcp/memory']);
});

test('with field paths (as the PDP will send them): redact by path, list a rewritten schema', () => {
  const salary = compilePattern('/employees/*/salary');
  assert.ok(!isPatternError(salary));
  if (isPatternError(salary)) return;
  const fields = new Map([['salary', [salary]]]);
  const outcome = enforce(decision('EFFECT_ALLOW', [], { redact: ['salary'], redactFields: fields }), 'hr.report');
  assert.equal(outcome.kind === 'forward' && outcome.plan.kind, 'paths');
  const outputSchema = {
    type: 'object' as const,
    properties: { employees: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, salary: { type: 'number' } }, required: ['name', 'salary'] } } },
  };
  const [tool] = visibleTools({ id: 'hr', toolPrefix: '' }, [{ tool: { name: 'report', inputSchema: { type: 'object' }, outputSchema }, sha256: 'x' }], {
    policyVersion: 'v',
    tools: [{ toolId: 'hr.report', requiresApproval: false, stepUp: 'AUTH_STRENGTH_UNSPECIFIED', redact: ['salary'], redactFields: fields }],
  });
  assert.match(tool?.description ?? '', /salary data is removed from results/);
  assert.deepEqual((tool?.outputSchema?.properties as Record<string, unknown> | undefined)?.['employees'], { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } });
});
