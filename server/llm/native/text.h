// Streamed-text helpers of the generation loop: UTF-8 hold-back and stop strings.
#pragma once

#include <string>
#include <vector>

namespace atelier {

/**
 * Byte-level BPE splits one character across tokens (emoji, accents). Bytes of a character whose
 * last byte has not arrived yet are held back, so every emitted chunk is whole UTF-8.
 */
class Utf8Holdback {
public:
    /** Appends a token's bytes; returns what can be shown (complete characters). */
    std::string push(const std::string & bytes);
    /** Whatever is still held (an unfinished character at the very end). */
    std::string flush();
    void reset() { held_.clear(); }

    /** Bytes at the end of `s` that start a character not yet complete (0-3). */
    static size_t incomplete_tail(const std::string & s);

private:
    std::string held_;
};

/**
 * Plain-text stop strings matched in the streamed text. Text that could be the start of a stop
 * string is held back until it completes one (then it never reaches the user) or stops matching.
 */
class StopMatcher {
public:
    void reset(std::vector<std::string> stops);
    /** Feeds text; `out` gets what may be shown now; returns true when a stop string was found. */
    bool push(const std::string & text, std::string & out);
    /** Held-back text when the stream ends without completing a stop string. */
    std::string flush();

private:
    std::vector<std::string> stops_;
    std::string pending_;
};

}  // namespace atelier
