// ATDS dataset files and the deterministic row order used for training.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

struct Dataset {
    uint32_t row_len = 0; // seq_len + 1
    uint32_t n_rows = 0;
    std::vector<int32_t> tokens; // n_rows * row_len
    std::vector<uint8_t> mask;   // n_rows * row_len, 1 = position is a training target
    uint64_t n_targets = 0;      // masked positions excluding position 0 of each row

    int seq_len() const { return (int) row_len - 1; }
    const int32_t * row_tokens(uint32_t r) const { return tokens.data() + (size_t) r * row_len; }
    const uint8_t * row_mask(uint32_t r) const { return mask.data() + (size_t) r * row_len; }
};

Dataset load_atds(const std::string & path); // throws ForgeError IO / DATASET_TOO_SMALL

// Row order: epoch e is a permutation seeded by (seed, e). Deriving it from the
// global row counter alone makes resume exact without saving any RNG state.
class RowOrder {
public:
    RowOrder(uint32_t n_rows, uint64_t seed, bool shuffle) : n_rows(n_rows), seed(seed), shuffle(shuffle) {}
    uint32_t row_at(uint64_t global_index);
private:
    uint32_t n_rows;
    uint64_t seed;
    bool shuffle;
    int64_t cached_epoch = -1;
    std::vector<uint32_t> perm;
};

uint64_t splitmix64(uint64_t & state);
