// The test policy, written for the real tool names of
// @modelcontextprotocol/server-everything and server-memory. Audiences are
// the gateway's canonical URIs for each upstream.
export function testPolicy(gatewayBase: string, tlsGatewayBase: string): string {
  return `servers:
  - id: everything
    audiences: ["${gatewayBase}/mcp/everything", "${tlsGatewayBase}/mcp/everything"]
  - id: memory
    audiences: ["${gatewayBase}/mcp/memory"]
  - id: slow
    audiences: ["${gatewayBase}/mcp/slow"]
  - id: local
    audiences: ["${gatewayBase}/mcp/local"]
  - id: late
    audiences: ["${gatewayBase}/mcp/late"]

tools:
  - id: everything.echo
    scopes: [echo]
  - id: everything.get-sum
    scopes: [math]
  - id: everything.get-env
    scopes: [admin, env:read]
    risk: high
  - id: everything.get-structured-content
    scopes: [weather]
    data: [location]
  - id: everything.get-tiny-image
    auth: mfa
  - id: everything.get-annotated-message
    autonomy: approval
  - id: everything.toggle-subscriber-updates
  - id: memory.read_graph
    scopes: [memory:read]
  - id: memory.create_entities
    scopes: [memory:write]
  - id: slow.trigger-long-running-operation
  - id: local.echo
  - id: late.echo
  - id: local.trigger-long-running-operation

roles:
  - id: dev
    tools: ["everything.*", "memory.*", "slow.*", "local.*", "late.*"]
  - id: basic
    tools: [everything.echo, everything.get-sum, memory.read_graph, memory.create_entities]

clients:
  - id: test-app
    trust: standard
    scopes: [echo, math, admin, "env:read", weather, "memory:read", "memory:write"]
    redirect_uris: ["http://127.0.0.1:33418/callback"]
  - id: batch-agent
    trust: standard
    interactive: false
    scopes: [echo, math]

users:
  - id: alice
    roles: [dev]
  - id: bob
    roles: [basic]
`;
}

/** Every scope the test tokens may carry. */
export const ALL_SCOPES = 'echo math admin env:read weather memory:read memory:write';
