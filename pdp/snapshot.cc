#include "pdp/snapshot.h"

namespace pdp {

const Snapshot::Server* Snapshot::FindServer(absl::string_view id) const {
  int i = Find(server_index_, id);
  return i < 0 ? nullptr : &servers_[i];
}

std::vector<std::string> Snapshot::DataClassNames(DataMask mask) const {
  std::vector<std::string> names;
  for (size_t i = 0; i < data_classes_.size() && mask != 0; ++i) {
    if (mask & (DataMask{1} << i)) names.push_back(data_classes_[i]);
  }
  return names;
}

}  // namespace pdp
