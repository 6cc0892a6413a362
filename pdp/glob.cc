#include "pdp/glob.h"

namespace pdp {

bool IsGlob(absl::string_view glob) {
  return glob.find_first_of("*?") != absl::string_view::npos;
}

bool GlobMatch(absl::string_view glob, absl::string_view text) {
  // Greedy matching with one backtrack point: linear for globs of one '*',
  // O(|glob| * |text|) at worst.
  size_t g = 0, t = 0;
  size_t star = absl::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (g < glob.size() && (glob[g] == '?' || glob[g] == text[t])) {
      ++g;
      ++t;
    } else if (g < glob.size() && glob[g] == '*') {
      star = g++;
      resume = t;
    } else if (star != absl::string_view::npos) {
      g = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

}  // namespace pdp
