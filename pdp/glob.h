#ifndef PDP_GLOB_H_
#define PDP_GLOB_H_

#include "pdp/internal.h"  // Private to the engine.

#include "absl/strings/string_view.h"

namespace pdp {

// Glob matching over ids: '*' matches any run of characters (dots
// included), '?' exactly one; everything else matches itself.
bool GlobMatch(absl::string_view glob, absl::string_view text);

// True if `glob` has a wildcard.
bool IsGlob(absl::string_view glob);

}  // namespace pdp

#endif  // PDP_GLOB_H_
