// Shared error type and logging. stdout is reserved for the JSON-lines protocol,
// so every human-facing message goes to stderr.
#pragma once
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>

// Error codes are part of the protocol with the TS side; keep them in sync with README.md.
struct ForgeError : std::runtime_error {
    std::string code;
    ForgeError(const std::string & code, const std::string & msg) : std::runtime_error(msg), code(code) {}
};

[[noreturn]] inline void fail(const std::string & code, const std::string & msg) { throw ForgeError(code, msg); }

inline void logf(const char * fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[forge] ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

std::string fmt_bytes(uint64_t n);
uint64_t available_ram_bytes();
uint64_t current_rss_bytes();   // VmRSS of this process
uint64_t peak_rss_bytes();      // VmHWM: the most this process has had resident
double now_seconds();
// Write through a temp file in the same folder, then rename: readers never see a half-written file.
std::string tmp_path_for(const std::string & path);
void commit_tmp(const std::string & tmp, const std::string & path);
void ensure_dir(const std::string & dir);
bool file_exists(const std::string & path);
std::string read_text_file(const std::string & path);
void write_text_atomic(const std::string & path, const std::string & text);
