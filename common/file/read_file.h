#ifndef COMMON_FILE_READ_FILE_H_
#define COMMON_FILE_READ_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace common {

// The whole content of the file at `path`, bytes as they are.
// Returns NotFound ("cannot read \"PATH\": <strerror>") if it cannot be
// opened, DataLoss ("cannot read \"PATH\"") if reading fails. Callers that
// report files their own way rewrap the status. Thread-safe.
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace common

#endif  // COMMON_FILE_READ_FILE_H_
