#ifndef PDP_BITSET_H_
#define PDP_BITSET_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pdp {

// A fixed-size set of small integers (tool, role or scope indices), stored as
// 64-bit words so that set algebra is a handful of word-wide operations.
// Thread-compatible; immutable once built.
class Bitset {
 public:
  Bitset() = default;
  explicit Bitset(size_t size) : size_(size), words_((size + 63) / 64, 0) {}

  size_t size() const { return size_; }

  void Set(size_t i) { words_[i >> 6] |= uint64_t{1} << (i & 63); }
  bool Test(size_t i) const {
    return i < size_ && (words_[i >> 6] >> (i & 63)) & 1;
  }
  void SetAll();
  // Adds [begin, end). REQUIRES: begin <= end <= size().
  void SetRange(size_t begin, size_t end);

  // REQUIRES: other.size() == size().
  void OrWith(const Bitset& other);
  void AndWith(const Bitset& other);
  void AndNotWith(const Bitset& other);

  // The same, over words [word_begin, word_end) only: for a set known to be
  // empty outside them. REQUIRES: word_end <= words().size().
  void AndWith(const Bitset& other, size_t word_begin, size_t word_end);
  void AndNotWith(const Bitset& other, size_t word_begin, size_t word_end);

  bool None() const;
  size_t Count() const;
  // True if every member of this set is in `other`.
  bool IsSubsetOf(const Bitset& other) const;
  // True if the two sets share a member. REQUIRES: other.size() == size().
  bool Intersects(const Bitset& other) const;

  // Calls f(i) for each member in increasing order.
  template <typename F>
  void ForEach(F f) const {
    for (size_t w = 0; w < words_.size(); ++w) {
      uint64_t word = words_[w];
      while (word != 0) {
        f(w * 64 + static_cast<size_t>(__builtin_ctzll(word)));
        word &= word - 1;
      }
    }
  }

  const std::vector<uint64_t>& words() const { return words_; }
  std::vector<uint64_t>& mutable_words() { return words_; }

  bool operator==(const Bitset& other) const {
    return size_ == other.size_ && words_ == other.words_;
  }

 private:
  size_t size_ = 0;
  std::vector<uint64_t> words_;
};

}  // namespace pdp

#endif  // PDP_BITSET_H_
