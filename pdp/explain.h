#ifndef PDP_EXPLAIN_H_
#define PDP_EXPLAIN_H_

#include <string>
#include <vector>

#include "pdp/decision.h"
#include "pdp/request.h"
#include "pdp/snapshot.h"
#include "pdp/user_source.h"
#include "pdp/v1/authorizer.pb.h"

namespace pdp {

// One line of an explanation: a sentence about one link of the chain.
struct ExplainLine {
  // What the line is about: LINK_TOOL (the tool's requirements), LINK_USER,
  // LINK_AGENT, LINK_CLIENT, LINK_SERVICE, LINK_RULE (deny rules), or
  // LINK_UNSPECIFIED for the chain as a whole (autonomy, authentication).
  v1::Link link = v1::LINK_UNSPECIFIED;
  // 0 for a link's first line; 1 for the details under it.
  int depth = 0;
  // The sentence, without indentation or newline. Policy elements are named
  // with their "file:line", the file under ExplainOptions::source_dir.
  std::string text;
};

struct ExplainOptions {
  // Prefixed (with "/") to every policy file named; empty names the files as
  // the bundle records them (relative to the policy directory).
  std::string source_dir;
  // The directory users come from first, as in Check(); nullptr: only the
  // policy's `users:`.
  const UserSource* users = nullptr;
};

// Why `decision` (Check()'s answer to `request` on `snapshot`) is what it is,
// link by link: the tool's requirements; which of the user's roles grants
// the tool, through which inheritance path and glob; the agent's matching
// glob and autonomy; the client's trust and scope ceiling and the token's
// scopes against the tool's; a service's glob and scopes; the deny rules
// that matched; autonomy and authentication strength. For a tool the policy
// does not have, one line saying so.
// Pure: thread-safe as long as `options.users` is.
std::vector<ExplainLine> Explain(const Snapshot& snapshot,
                                 const Request& request,
                                 const Decision& decision,
                                 const ExplainOptions& options = {});

}  // namespace pdp

#endif  // PDP_EXPLAIN_H_
