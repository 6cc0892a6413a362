// tools/list: the upstream's tools that the PDP's FilterTools shows this
// chain, in a stable order (by the name the client sees), each annotated
// with what a call would still need (approval, step-up, redaction) in its
// description and in `_meta`, and with its outputSchema rewritten when the
// result will be redacted by field paths. Tools the policy does not show
// are absent: never listed only to be refused.
// Pure functions; thread-compatible.
import type { Tool } from '@modelcontextprotocol/server';

import type { AuthStrength, FilterResult, VisibleTool } from './pdp_client.js';
import { planRedaction, rewriteSchema } from './redaction.js';
import type { UpstreamTool } from './upstream.js';

/** The `_meta` key under which the gateway describes a tool's enforcement. */
export const ENFORCEMENT_META_KEY = 'io.github.pdp/enforcement';

/** Tool names the gateway accepts from clients and upstreams (MCP's recommended set). */
export const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export interface ServedServer {
  /** The MCP server id of the policy. */
  readonly id: string;
  /** Prefix of the names the client sees. */
  readonly toolPrefix: string;
}

/** The policy's id of an upstream tool. */
export function toolId(server: ServedServer, upstreamName: string): string {
  return `${server.id}.${upstreamName}`;
}

/** The upstream name behind a name the client sent, or undefined when it is none of ours. */
export function upstreamName(server: ServedServer, exposed: string): string | undefined {
  if (!exposed.startsWith(server.toolPrefix)) return undefined;
  const name = exposed.slice(server.toolPrefix.length);
  return TOOL_NAME.test(name) ? name : undefined;
}

const STRENGTH_WORDS: Record<AuthStrength, string> = {
  AUTH_STRENGTH_UNSPECIFIED: 'password',
  AUTH_STRENGTH_PASSWORD: 'password',
  AUTH_STRENGTH_MFA: 'multi-factor',
  AUTH_STRENGTH_PHISHING_RESISTANT: 'phishing-resistant (passkey or security key)',
};

export function strengthWords(s: AuthStrength): string {
  return STRENGTH_WORDS[s] ?? s;
}

/** The sentences added to a visible tool's description; empty when a call needs nothing more. */
export function needsSentences(v: VisibleTool): string[] {
  const out: string[] = [];
  if (v.requiresApproval) out.push('Calls need a human approver first.');
  if (v.stepUp !== 'AUTH_STRENGTH_UNSPECIFIED') out.push(`Calls need ${strengthWords(v.stepUp)} authentication first.`);
  if (v.redact.length > 0) {
    const plan = planRedaction(v.redact, v.redactFields);
    out.push(
      plan.kind === 'withhold'
        ? `Results carrying ${v.redact.join(', ')} data are withheld from you.`
        : `${v.redact.join(', ')} data is removed from results.`,
    );
  }
  return out;
}

/** The tools/list the client sees: visible upstream tools, annotated, sorted by name. */
export function visibleTools(server: ServedServer, upstream: readonly UpstreamTool[], filter: FilterResult): Tool[] {
  const visible = new Map(filter.tools.map((v) => [v.toolId, v]));
  const out: Tool[] = [];
  for (const { tool, sha256 } of upstream) {
    if (!TOOL_NAME.test(tool.name)) continue; // Cannot be called safely through the gateway.
    const v = visible.get(toolId(server, tool.name));
    if (!v) continue;
    const needs = needsSentences(v);
    const shown: Tool = { ...tool, name: `${server.toolPrefix}${tool.name}` };
    if (needs.length > 0) shown.description = [tool.description ?? '', `[Gateway: ${needs.join(' ')}]`].filter((s) => s !== '').join('\n\n');
    const plan = planRedaction(v.redact, v.redactFields);
    if (plan.kind === 'paths' && tool.outputSchema) {
      shown.outputSchema = rewriteSchema(tool.outputSchema, plan.patterns) as Tool['outputSchema'];
    }
    shown._meta = {
      ...tool._meta,
      [ENFORCEMENT_META_KEY]: {
        requires_approval: v.requiresApproval,
        step_up: v.stepUp === 'AUTH_STRENGTH_UNSPECIFIED' ? null : v.stepUp,
        redact: [...v.redact],
        redaction: plan.kind,
        definition_sha256: sha256,
      },
    };
    out.push(shown);
  }
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}
