// ATDS loading (dataset.h: [n_rows][seq+1] i32 tokens + u8 target mask) and the per-epoch row permutation
// (Fisher-Yates over splitmix64 seeded by (seed, epoch)): the data position is a pure function of the step.
#include "dataset.h"
#include "common.h"

#include <cerrno>
#include <cstring>

uint64_t splitmix64(uint64_t & state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

Dataset load_atds(const std::string & path) {
    FILE * f = fopen(path.c_str(), "rb");
    if (!f) fail("IO", "cannot open dataset " + path + ": " + strerror(errno));
    char magic[4];
    uint32_t hdr[3];
    if (fread(magic, 1, 4, f) != 4 || fread(hdr, 4, 3, f) != 3 || memcmp(magic, "ATDS", 4) != 0) {
        fclose(f);
        fail("IO", "dataset " + path + " is not an ATDS file (bad header)");
    }
    if (hdr[0] != 1) { fclose(f); fail("IO", "dataset " + path + ": unsupported ATDS version " + std::to_string(hdr[0])); }
    Dataset d;
    d.row_len = hdr[1];
    d.n_rows = hdr[2];
    if (d.row_len < 2) { fclose(f); fail("DATASET_TOO_SMALL", "dataset " + path + ": rows must hold at least 2 tokens"); }
    size_t n = (size_t) d.row_len * d.n_rows;
    d.tokens.resize(n);
    d.mask.resize(n);
    bool ok = fread(d.tokens.data(), 4, n, f) == n && fread(d.mask.data(), 1, n, f) == n;
    fclose(f);
    if (!ok) fail("IO", "dataset " + path + " is truncated (expected " + std::to_string(n) + " tokens and mask bytes)");
    for (uint32_t r = 0; r < d.n_rows; r++) {
        const uint8_t * m = d.row_mask(r);
        for (uint32_t i = 1; i < d.row_len; i++) d.n_targets += m[i] ? 1 : 0;
    }
    return d;
}

uint32_t RowOrder::row_at(uint64_t global_index) {
    int64_t epoch = (int64_t) (global_index / n_rows);
    uint32_t within = (uint32_t) (global_index % n_rows);
    if (!shuffle) return within;
    if (epoch != cached_epoch) {
        perm.resize(n_rows);
        for (uint32_t i = 0; i < n_rows; i++) perm[i] = i;
        uint64_t st = seed * 0x100000001B3ull + (uint64_t) epoch * 0x9E3779B97F4A7C15ull + 1;
        for (uint32_t i = n_rows - 1; i > 0; i--) {
            uint32_t j = (uint32_t) (splitmix64(st) % (i + 1));
            std::swap(perm[i], perm[j]);
        }
        cached_epoch = epoch;
    }
    return perm[within];
}
