#include "text.h"

#include <algorithm>

namespace atelier {

// Length of a UTF-8 sequence from its lead byte; 0 for a continuation or invalid byte.
static size_t sequence_length(unsigned char lead) {
    if (lead < 0x80) return 1;
    if ((lead & 0xE0) == 0xC0) return 2;
    if ((lead & 0xF0) == 0xE0) return 3;
    if ((lead & 0xF8) == 0xF0) return 4;
    return 0;
}

size_t Utf8Holdback::incomplete_tail(const std::string & s) {
    // Walk back over at most 3 continuation bytes to the lead byte of the last character.
    const size_t n = s.size();
    for (size_t back = 1; back <= std::min<size_t>(4, n); back++) {
        const unsigned char c = (unsigned char) s[n - back];
        if ((c & 0xC0) == 0x80) continue;          // continuation byte: keep looking
        const size_t need = sequence_length(c);
        return need > back ? back : 0;             // lead byte: incomplete if it needs more
    }
    return 0;                                      // only continuation bytes: invalid, let it through
}

std::string Utf8Holdback::push(const std::string & bytes) {
    held_ += bytes;
    const size_t keep = incomplete_tail(held_);
    std::string out = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    return out;
}

std::string Utf8Holdback::flush() {
    std::string out;
    out.swap(held_);
    return out;
}

void StopMatcher::reset(std::vector<std::string> stops) {
    stops_.clear();
    for (auto & s : stops) if (!s.empty()) stops_.push_back(std::move(s));
    pending_.clear();
}

bool StopMatcher::push(const std::string & text, std::string & out) {
    if (stops_.empty()) { out = text; return false; }
    std::string all = pending_ + text;
    size_t first = std::string::npos;
    for (const auto & s : stops_) first = std::min(first, all.find(s));
    if (first != std::string::npos) {
        pending_.clear();
        out = all.substr(0, first);
        return true;
    }
    // Hold the longest tail that is a proper prefix of some stop string.
    size_t keep = 0;
    for (const auto & s : stops_) {
        for (size_t k = std::min(s.size() - 1, all.size()); k > keep; k--) {
            if (all.compare(all.size() - k, k, s, 0, k) == 0) { keep = k; break; }
        }
    }
    keep += Utf8Holdback::incomplete_tail(all.substr(0, all.size() - keep));  // never split a character
    out = all.substr(0, all.size() - keep);
    pending_ = all.substr(all.size() - keep);
    return false;
}

std::string StopMatcher::flush() {
    std::string out;
    out.swap(pending_);
    return out;
}

}  // namespace atelier
