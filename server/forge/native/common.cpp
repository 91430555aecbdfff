// Shared helpers (common.h): byte formatting, /proc memory figures (MemAvailable, VmRSS, VmHWM), time,
// and atomic file writes (temp file in the same folder, fsync, rename).
#include "common.h"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

std::string fmt_bytes(uint64_t n) {
    char b[64];
    if (n >= (1ull << 30)) snprintf(b, sizeof b, "%.2f GiB", n / double(1ull << 30));
    else snprintf(b, sizeof b, "%.1f MiB", n / double(1ull << 20));
    return b;
}

uint64_t available_ram_bytes() {
    FILE * f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    uint64_t kb = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "MemAvailable: %lu kB", (unsigned long *) &kb) == 1) break;
    }
    fclose(f);
    return kb * 1024;
}

static uint64_t status_kb(const char * key) {
    FILE * f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    uint64_t kb = 0;
    const size_t n = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, n) == 0) { kb = strtoull(line + n, nullptr, 10); break; }
    }
    fclose(f);
    return kb;
}

uint64_t current_rss_bytes() { return status_kb("VmRSS:") * 1024; }
uint64_t peak_rss_bytes() { return status_kb("VmHWM:") * 1024; }

double now_seconds() {
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::string tmp_path_for(const std::string & path) {
    return path + ".tmp-" + std::to_string(getpid());
}

void commit_tmp(const std::string & tmp, const std::string & path) {
    if (rename(tmp.c_str(), path.c_str()) != 0) {
        std::string err = strerror(errno);
        unlink(tmp.c_str());
        fail("IO", "cannot move " + tmp + " to " + path + ": " + err);
    }
}

void ensure_dir(const std::string & dir) {
    if (dir.empty()) return;
    std::string cur;
    std::stringstream ss(dir);
    std::string part;
    if (dir[0] == '/') cur = "/";
    while (std::getline(ss, part, '/')) {
        if (part.empty()) continue;
        cur += part + "/";
        if (mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
            fail("IO", "cannot create folder " + cur + ": " + strerror(errno));
        }
    }
}

bool file_exists(const std::string & path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0;
}

std::string read_text_file(const std::string & path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) fail("IO", "cannot read " + path + ": " + strerror(errno));
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

void write_text_atomic(const std::string & path, const std::string & text) {
    std::string tmp = tmp_path_for(path);
    FILE * f = fopen(tmp.c_str(), "wb");
    if (!f) fail("IO", "cannot write " + tmp + ": " + strerror(errno));
    bool ok = fwrite(text.data(), 1, text.size(), f) == text.size();
    ok = (fflush(f) == 0) && ok;
    ok = (fsync(fileno(f)) == 0) && ok;
    fclose(f);
    if (!ok) { unlink(tmp.c_str()); fail("IO", "cannot write " + path + " (disk full?)"); }
    commit_tmp(tmp, path);
}
