// tools/call: what the gateway does with the PDP's decision on a call.
//   token problems          → 401 invalid_token (the token is no good here)
//   DENY, only MISSING_SCOPE → 403 insufficient_scope naming every missing scope
//   other DENY              → an error result naming the failing links
//   STEP_UP                 → an error result naming the strength needed
//   REQUIRE_APPROVAL        → an "approval required" error result
//   ALLOW                   → forwarded; the result redacted per the plan
// Nothing is forwarded unless the decision is ALLOW. Pure functions.
import type { CallToolResult } from '@modelcontextprotocol/server';

import type { Decision } from './pdp_client.js';
import { tokenProblems } from './pdp_client.js';
import type { RedactionPlan } from './redaction.js';
import { planRedaction } from './redaction.js';
import { strengthWords } from './tool_list.js';

export type CallOutcome =
  | { readonly kind: 'unauthorized'; readonly description: string }
  | { readonly kind: 'insufficient_scope'; readonly scopes: readonly string[]; readonly description: string }
  | { readonly kind: 'refuse'; readonly result: CallToolResult }
  | { readonly kind: 'forward'; readonly plan: RedactionPlan };

const LINK_WORDS: Record<string, string> = {
  LINK_USER: 'user',
  LINK_CLIENT: 'client',
  LINK_AGENT: 'agent',
  LINK_SERVICE: 'service',
  LINK_TOOL: 'tool',
  LINK_RULE: 'rule',
  LINK_UNSPECIFIED: 'chain',
};

function refusal(text: string): CallOutcome {
  return { kind: 'refuse', result: { isError: true, content: [{ type: 'text', text }] } };
}

/** The outcome of `decision` for a call of `toolName` (the name the client used). */
export function enforce(decision: Decision, toolName: string): CallOutcome {
  const tokens = tokenProblems(decision);
  if (tokens.length > 0) {
    return { kind: 'unauthorized', description: tokens.map((r) => `${r.code}: ${r.message}`).join('; ') };
  }
  const ref = decision.decisionId === '' ? '' : ` (decision ${decision.decisionId})`;
  switch (decision.effect) {
    case 'EFFECT_ALLOW':
      return { kind: 'forward', plan: planRedaction(decision.redact, decision.redactFields) };
    case 'EFFECT_DENY': {
      if (decision.reasons.length > 0 && decision.reasons.every((r) => r.code === 'MISSING_SCOPE')) {
        const scopes = [...new Set(decision.reasons.flatMap((r) => r.missingScopes))].sort();
        if (scopes.length > 0) {
          return { kind: 'insufficient_scope', scopes, description: `The call of "${toolName}" needs scope(s) ${scopes.join(' ')}` };
        }
      }
      const lines = decision.reasons.map((r) => `- ${LINK_WORDS[r.link] ?? r.link}: ${r.code}: ${r.message}`);
      return refusal(
        `The call of tool "${toolName}" was refused by policy${ref}; nothing was sent to the server. ` +
          `Failing links:\n${lines.join('\n') || '- (no reason given)'}`,
      );
    }
    case 'EFFECT_STEP_UP': {
      const why = decision.reasons.map((r) => r.message).filter((m) => m !== '').join('; ');
      return refusal(
        `Step-up authentication required: tool "${toolName}" needs ${strengthWords(decision.stepUp)} authentication` +
          `${why ? ` (${why})` : ''}. Ask the user to sign in again with a stronger method, then retry. ` +
          `Nothing was sent to the server${ref}.`,
      );
    }
    case 'EFFECT_REQUIRE_APPROVAL': {
      const why = decision.reasons.map((r) => r.message).filter((m) => m !== '').join('; ');
      return refusal(
        `Approval required: tool "${toolName}" may only run after a human approves this call` +
          `${why ? ` (${why})` : ''}. The call was not made${ref}; it can be retried once approved.`,
      );
    }
    default:
      return refusal(`The call of tool "${toolName}" was refused: the policy decision point gave no usable decision${ref}.`);
  }
}
