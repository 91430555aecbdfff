// Minimal JSON value + parser + writer. The forge binary must build with a bare
// g++ and the llama.cpp headers only, so no third-party JSON library.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct Json {
    enum Kind { NUL, BOOL, NUM, STR, ARR, OBJ } kind = NUL;
    bool b = false;
    double n = 0;
    std::string s;
    std::vector<Json> a;
    std::map<std::string, Json> o;

    bool is_null() const { return kind == NUL; }
    bool has(const std::string & k) const { return kind == OBJ && o.count(k) && !o.at(k).is_null(); }
    const Json & operator[](const std::string & k) const;
    const Json & operator[](size_t i) const { return a.at(i); }
    size_t size() const { return kind == ARR ? a.size() : kind == OBJ ? o.size() : 0; }

    // Typed getters throw std::runtime_error naming the key, so config errors are specific.
    double      num(const std::string & k, double def) const;
    double      num(const std::string & k) const;
    int64_t     integer(const std::string & k, int64_t def) const;
    int64_t     integer(const std::string & k) const;
    bool        boolean(const std::string & k, bool def) const;
    std::string str(const std::string & k, const std::string & def) const;
    std::string str(const std::string & k) const;

    static Json parse(const std::string & text); // throws std::runtime_error
};

// Writer for the one-line progress protocol: keys keep insertion order.
class JsonLine {
public:
    JsonLine & add(const char * k, const std::string & v);
    JsonLine & add(const char * k, const char * v) { return add(k, std::string(v)); }
    JsonLine & add(const char * k, double v);
    JsonLine & add(const char * k, int64_t v);
    JsonLine & add(const char * k, int v) { return add(k, (int64_t) v); }
    JsonLine & add(const char * k, bool v);
    JsonLine & raw(const char * k, const std::string & json_text);
    std::string str() const { return "{" + body + "}"; }
    void emit() const; // stdout + newline + flush
private:
    std::string body;
    void key(const char * k);
};

std::string json_escape(const std::string & s);
std::string json_num(double v);
