// Tiny JSON (json.h): a recursive-descent parser for run.json and a one-line writer for progress events.
#include "json.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

static const Json k_null;

const Json & Json::operator[](const std::string & k) const {
    if (kind != OBJ) return k_null;
    auto it = o.find(k);
    return it == o.end() ? k_null : it->second;
}

double Json::num(const std::string & k, double def) const {
    if (!has(k)) return def;
    return num(k);
}
double Json::num(const std::string & k) const {
    const Json & v = (*this)[k];
    if (v.kind != NUM) throw std::runtime_error("\"" + k + "\" must be a number");
    return v.n;
}
int64_t Json::integer(const std::string & k, int64_t def) const {
    if (!has(k)) return def;
    return integer(k);
}
int64_t Json::integer(const std::string & k) const {
    double v = num(k);
    if (v != std::floor(v)) throw std::runtime_error("\"" + k + "\" must be an integer");
    return (int64_t) v;
}
bool Json::boolean(const std::string & k, bool def) const {
    if (!has(k)) return def;
    const Json & v = (*this)[k];
    if (v.kind != BOOL) throw std::runtime_error("\"" + k + "\" must be true or false");
    return v.b;
}
std::string Json::str(const std::string & k, const std::string & def) const {
    if (!has(k)) return def;
    return str(k);
}
std::string Json::str(const std::string & k) const {
    const Json & v = (*this)[k];
    if (v.kind != STR) throw std::runtime_error("\"" + k + "\" must be a string");
    return v.s;
}

namespace {
struct Parser {
    const std::string & t;
    size_t i = 0;
    [[noreturn]] void fail(const char * what) {
        throw std::runtime_error(std::string("invalid JSON at offset ") + std::to_string(i) + ": " + what);
    }
    void ws() { while (i < t.size() && (t[i] == ' ' || t[i] == '\n' || t[i] == '\r' || t[i] == '\t')) i++; }
    bool lit(const char * w) {
        size_t n = strlen(w);
        if (t.compare(i, n, w) == 0) { i += n; return true; }
        return false;
    }
    static void utf8(std::string & out, uint32_t cp) {
        if (cp < 0x80) out += (char) cp;
        else if (cp < 0x800) { out += (char) (0xC0 | (cp >> 6)); out += (char) (0x80 | (cp & 0x3F)); }
        else if (cp < 0x10000) { out += (char) (0xE0 | (cp >> 12)); out += (char) (0x80 | ((cp >> 6) & 0x3F)); out += (char) (0x80 | (cp & 0x3F)); }
        else { out += (char) (0xF0 | (cp >> 18)); out += (char) (0x80 | ((cp >> 12) & 0x3F)); out += (char) (0x80 | ((cp >> 6) & 0x3F)); out += (char) (0x80 | (cp & 0x3F)); }
    }
    uint32_t hex4() {
        if (i + 4 > t.size()) fail("short \\u escape");
        uint32_t v = (uint32_t) std::stoul(t.substr(i, 4), nullptr, 16);
        i += 4;
        return v;
    }
    std::string string() {
        if (t[i] != '"') fail("expected string");
        i++;
        std::string out;
        while (true) {
            if (i >= t.size()) fail("unterminated string");
            char c = t[i++];
            if (c == '"') break;
            if (c != '\\') { out += c; continue; }
            if (i >= t.size()) fail("bad escape");
            char e = t[i++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    uint32_t cp = hex4();
                    if (cp >= 0xD800 && cp < 0xDC00 && t.compare(i, 2, "\\u") == 0) {
                        i += 2;
                        uint32_t lo = hex4();
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    }
                    utf8(out, cp);
                } break;
                default: fail("bad escape");
            }
        }
        return out;
    }
    Json value() {
        ws();
        if (i >= t.size()) fail("unexpected end");
        Json v;
        char c = t[i];
        if (c == '{') {
            v.kind = Json::OBJ; i++; ws();
            if (t[i] == '}') { i++; return v; }
            while (true) {
                ws();
                std::string k = string();
                ws();
                if (t[i] != ':') fail("expected ':'");
                i++;
                v.o[k] = value();
                ws();
                if (t[i] == ',') { i++; continue; }
                if (t[i] == '}') { i++; break; }
                fail("expected ',' or '}'");
            }
        } else if (c == '[') {
            v.kind = Json::ARR; i++; ws();
            if (t[i] == ']') { i++; return v; }
            while (true) {
                v.a.push_back(value());
                ws();
                if (t[i] == ',') { i++; continue; }
                if (t[i] == ']') { i++; break; }
                fail("expected ',' or ']'");
            }
        } else if (c == '"') {
            v.kind = Json::STR; v.s = string();
        } else if (lit("true")) { v.kind = Json::BOOL; v.b = true; }
        else if (lit("false")) { v.kind = Json::BOOL; v.b = false; }
        else if (lit("null")) { v.kind = Json::NUL; }
        else {
            const char * start = t.c_str() + i;
            char * end = nullptr;
            v.n = strtod(start, &end);
            if (end == start) fail("unexpected character");
            v.kind = Json::NUM;
            i += (size_t) (end - start);
        }
        return v;
    }
};
} // namespace

Json Json::parse(const std::string & text) {
    Parser p{text};
    Json v = p.value();
    p.ws();
    if (p.i != text.size()) p.fail("trailing characters");
    return v;
}

std::string json_escape(const std::string & s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) { char b[8]; snprintf(b, sizeof b, "\\u%04x", c); out += b; }
                else out += (char) c;
        }
    }
    return out + "\"";
}

std::string json_num(double v) {
    if (!std::isfinite(v)) return "null"; // JSON has no NaN/Inf
    char b[64];
    snprintf(b, sizeof b, "%.9g", v);
    return b;
}

void JsonLine::key(const char * k) {
    if (!body.empty()) body += ",";
    body += json_escape(k) + ":";
}
JsonLine & JsonLine::add(const char * k, const std::string & v) { key(k); body += json_escape(v); return *this; }
JsonLine & JsonLine::add(const char * k, double v) { key(k); body += json_num(v); return *this; }
JsonLine & JsonLine::add(const char * k, int64_t v) { key(k); body += std::to_string(v); return *this; }
JsonLine & JsonLine::add(const char * k, bool v) { key(k); body += v ? "true" : "false"; return *this; }
JsonLine & JsonLine::raw(const char * k, const std::string & j) { key(k); body += j; return *this; }
void JsonLine::emit() const {
    std::string line = str() + "\n";
    fwrite(line.data(), 1, line.size(), stdout);
    fflush(stdout);
}
