#ifndef TOOLS_PDPCTL_FLAGS_H_
#define TOOLS_PDPCTL_FLAGS_H_

// pdpctl parses its command lines with the project's one flag parser
// (common/flags/flags.h), in its default dialect.
#include "common/flags/flags.h"

namespace pdpctl {

using ::common::Args;
using ::common::FlagSpec;
using ::common::FormatFlagHelp;
using ::common::ParseArgs;

}  // namespace pdpctl

#endif  // TOOLS_PDPCTL_FLAGS_H_
