#include "pdp/glob.h"

#include <cstdint>
#include <vector>

#include "absl/container/inlined_vector.h"

namespace pdp {
namespace {

// Whether `segment` (no '*'; '?' matches any character) matches `text`,
// which has its length.
bool SegmentMatchesAt(absl::string_view segment, absl::string_view text) {
  for (size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '?' && segment[i] != text[i]) return false;
  }
  return true;
}

// The end of the leftmost occurrence of `literal` (non-empty, no wildcard)
// in `text`, or npos: Knuth-Morris-Pratt, O(|literal| + |text|).
size_t FindLiteral(absl::string_view literal, absl::string_view text) {
  absl::InlinedVector<size_t, 64> border(literal.size(), 0);
  for (size_t i = 1, k = 0; i < literal.size(); ++i) {
    while (k > 0 && literal[i] != literal[k]) k = border[k - 1];
    if (literal[i] == literal[k]) ++k;
    border[i] = k;
  }
  for (size_t i = 0, k = 0; i < text.size(); ++i) {
    while (k > 0 && text[i] != literal[k]) k = border[k - 1];
    if (text[i] == literal[k]) ++k;
    if (k == literal.size()) return i + 1;
  }
  return absl::string_view::npos;
}

// The end of the leftmost occurrence of `segment` (non-empty, with '?') in
// `text`, or npos: bit-parallel Shift-And, O(|segment| + |text| *
// ceil(|segment| / 64)).
size_t FindWithWildcards(absl::string_view segment, absl::string_view text) {
  const size_t words = (segment.size() + 63) / 64;
  // masks[c * words + w]: the positions of `segment` that character c
  // matches.
  std::vector<uint64_t> masks(256 * words, 0);
  for (size_t j = 0; j < segment.size(); ++j) {
    const uint64_t bit = uint64_t{1} << (j % 64);
    if (segment[j] == '?') {
      for (int c = 0; c < 256; ++c) masks[c * words + j / 64] |= bit;
    } else {
      masks[static_cast<unsigned char>(segment[j]) * words + j / 64] |= bit;
    }
  }
  // state bit j: segment[0..j] matches the text ending here.
  std::vector<uint64_t> state(words, 0);
  const size_t last = segment.size() - 1;
  for (size_t i = 0; i < text.size(); ++i) {
    const uint64_t* mask =
        &masks[static_cast<unsigned char>(text[i]) * words];
    uint64_t carry = 1;  // A match may start at every position.
    for (size_t w = 0; w < words; ++w) {
      const uint64_t next_carry = state[w] >> 63;
      state[w] = ((state[w] << 1) | carry) & mask[w];
      carry = next_carry;
    }
    if ((state[last / 64] >> (last % 64)) & 1) return i + 1;
  }
  return absl::string_view::npos;
}

}  // namespace

bool IsGlob(absl::string_view glob) {
  return glob.find_first_of("*?") != absl::string_view::npos;
}

bool GlobMatch(absl::string_view glob, absl::string_view text) {
  // glob = first * middle_1 * ... * middle_k * last: `first` anchors at the
  // start, `last` at the end, and each middle segment taken at its leftmost
  // occurrence after the one before leaves the most room for the rest.
  // Every character of the text is examined a bounded number of times:
  // linear in |glob| + |text| (times ceil(|segment| / 64) for segments with
  // '?').
  const size_t first_star = glob.find('*');
  if (first_star == absl::string_view::npos) {
    return glob.size() == text.size() && SegmentMatchesAt(glob, text);
  }
  const size_t last_star = glob.rfind('*');
  const absl::string_view first = glob.substr(0, first_star);
  const absl::string_view last = glob.substr(last_star + 1);
  if (first.size() + last.size() > text.size() ||
      !SegmentMatchesAt(first, text.substr(0, first.size())) ||
      !SegmentMatchesAt(last, text.substr(text.size() - last.size()))) {
    return false;
  }
  absl::string_view rest =
      text.substr(first.size(), text.size() - first.size() - last.size());
  absl::string_view middle =
      first_star == last_star
          ? absl::string_view()
          : glob.substr(first_star + 1, last_star - first_star - 1);
  while (!middle.empty()) {
    const size_t star = middle.find('*');
    const absl::string_view segment = middle.substr(0, star);
    middle = star == absl::string_view::npos ? absl::string_view()
                                             : middle.substr(star + 1);
    if (segment.empty()) continue;
    const size_t end = segment.find('?') == absl::string_view::npos
                           ? FindLiteral(segment, rest)
                           : FindWithWildcards(segment, rest);
    if (end == absl::string_view::npos) return false;
    rest.remove_prefix(end);
  }
  return true;
}

}  // namespace pdp
