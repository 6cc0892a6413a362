#include "pdp/bitset.h"

namespace pdp {

void Bitset::SetAll() {
  for (uint64_t& w : words_) w = ~uint64_t{0};
  if (size_ % 64 != 0 && !words_.empty()) {
    words_.back() = (uint64_t{1} << (size_ % 64)) - 1;
  }
}

void Bitset::SetRange(size_t begin, size_t end) {
  while (begin < end && (begin & 63) != 0) Set(begin++);
  for (; begin + 64 <= end; begin += 64) words_[begin >> 6] = ~uint64_t{0};
  while (begin < end) Set(begin++);
}

void Bitset::AndWith(const Bitset& other, size_t word_begin, size_t word_end) {
  for (size_t i = word_begin; i < word_end; ++i) words_[i] &= other.words_[i];
}

void Bitset::AndNotWith(const Bitset& other, size_t word_begin,
                        size_t word_end) {
  for (size_t i = word_begin; i < word_end; ++i) words_[i] &= ~other.words_[i];
}

void Bitset::OrWith(const Bitset& other) {
  for (size_t i = 0; i < words_.size(); ++i) words_[i] |= other.words_[i];
}

void Bitset::AndWith(const Bitset& other) {
  for (size_t i = 0; i < words_.size(); ++i) words_[i] &= other.words_[i];
}

void Bitset::AndNotWith(const Bitset& other) {
  for (size_t i = 0; i < words_.size(); ++i) words_[i] &= ~other.words_[i];
}

bool Bitset::None() const {
  for (uint64_t w : words_) {
    if (w != 0) return false;
  }
  return true;
}

size_t Bitset::Count() const {
  size_t n = 0;
  for (uint64_t w : words_) n += static_cast<size_t>(__builtin_popcountll(w));
  return n;
}

bool Bitset::IsSubsetOf(const Bitset& other) const {
  for (size_t i = 0; i < words_.size(); ++i) {
    if ((words_[i] & ~other.words_[i]) != 0) return false;
  }
  return true;
}

bool Bitset::Intersects(const Bitset& other) const {
  for (size_t i = 0; i < words_.size(); ++i) {
    if ((words_[i] & other.words_[i]) != 0) return true;
  }
  return false;
}

}  // namespace pdp
