#include "pdp/token/base64url.h"

#include <array>
#include <cstdint>

#include "absl/status/status.h"

namespace pdp {
namespace token {
namespace {

constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr uint8_t kInvalid = 0xff;

constexpr std::array<uint8_t, 256> MakeDecodeTable() {
  std::array<uint8_t, 256> table{};
  for (auto& entry : table) entry = kInvalid;
  for (uint8_t i = 0; i < 64; ++i) {
    table[static_cast<uint8_t>(kAlphabet[i])] = i;
  }
  return table;
}

constexpr std::array<uint8_t, 256> kDecode = MakeDecodeTable();

}  // namespace

absl::StatusOr<std::string> Base64UrlDecode(absl::string_view encoded) {
  const size_t size = encoded.size();
  if (size % 4 == 1) {
    return absl::InvalidArgumentError(
        "not base64url: the length leaves a single trailing character");
  }
  std::string out;
  out.resize(size / 4 * 3 + (size % 4 == 0 ? 0 : size % 4 - 1));
  const auto* in = reinterpret_cast<const uint8_t*>(encoded.data());
  char* dst = &out[0];
  size_t i = 0;
  uint8_t bad = 0;
  for (; i + 4 <= size; i += 4) {
    const uint8_t a = kDecode[in[i]], b = kDecode[in[i + 1]],
                  c = kDecode[in[i + 2]], d = kDecode[in[i + 3]];
    bad |= (a | b | c | d) & 0xc0;
    const uint32_t v =
        (uint32_t{a} << 18) | (uint32_t{b} << 12) | (uint32_t{c} << 6) | d;
    *dst++ = static_cast<char>(v >> 16);
    *dst++ = static_cast<char>(v >> 8);
    *dst++ = static_cast<char>(v);
  }
  const size_t rest = size - i;
  if (rest >= 2) {
    const uint8_t a = kDecode[in[i]], b = kDecode[in[i + 1]];
    const uint8_t c = rest == 3 ? kDecode[in[i + 2]] : 0;
    bad |= (a | b | c) & 0xc0;
    if (bad == 0) {
      const uint32_t v =
          (uint32_t{a} << 18) | (uint32_t{b} << 12) | (uint32_t{c} << 6);
      // The bits past the last whole byte must be zero (canonical form).
      const uint32_t unused = rest == 2 ? (v & 0xffff) : (v & 0xff);
      if (unused != 0) {
        return absl::InvalidArgumentError(
            "not base64url: non-zero bits after the last byte (a "
            "non-canonical encoding)");
      }
      *dst++ = static_cast<char>(v >> 16);
      if (rest == 3) *dst++ = static_cast<char>(v >> 8);
    }
  }
  if (bad != 0) {
    return absl::InvalidArgumentError(
        "not base64url: a character outside [A-Za-z0-9_-] (padding and "
        "whitespace are not allowed)");
  }
  return out;
}

std::string Base64UrlEncode(absl::string_view data) {
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  const auto* in = reinterpret_cast<const uint8_t*>(data.data());
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t v =
        (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  const size_t rest = data.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{in[i]} << 16;
    if (rest == 2) v |= uint32_t{in[i + 1]} << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    if (rest == 2) out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

}  // namespace token
}  // namespace pdp
