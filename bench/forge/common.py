"""Helpers shared by the forge benchmarks (stdlib only): run a child and measure it, describe the machine,
write a result section. Every figure a bench writes comes from the run that writes it."""
import datetime
import hashlib
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../.."))
CACHE = os.path.join(ROOT, "bench/.cache/forge")
FORGE = os.path.join(ROOT, "server/forge/native/build/atelier-forge")
BENCHMARKS = os.path.join(ROOT, "BENCHMARKS.md")


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def busy_cpu_s():
    """Machine-wide busy CPU seconds (all processes) from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def run(cmd, label, env=None, check=True):
    """Runs cmd; returns JSON stdout lines, wall/CPU seconds, peak RSS (wait4) and the other processes' CPU load."""
    tmp = os.path.join(CACHE, "tmp")
    os.makedirs(tmp, exist_ok=True)
    outp, errp = os.path.join(tmp, f"child-{os.getpid()}.out"), os.path.join(tmp, f"child-{os.getpid()}.err")
    b0, t0, la0 = busy_cpu_s(), time.time(), os.getloadavg()[0]
    log(f"{label}: {' '.join(os.path.relpath(c, ROOT) if c.startswith(ROOT + '/') else c for c in cmd)}")
    with open(outp, "w") as fo, open(errp, "w") as fe:
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe, env={**os.environ, **(env or {})})
        _, status, ru = os.wait4(p.pid, 0)
    wall = time.time() - t0
    lines = []
    with open(outp) as f:
        for ln in f:
            try:
                lines.append(json.loads(ln))
            except ValueError:
                pass
    with open(errp) as f:
        err = f.read()
    code = os.waitstatus_to_exitcode(status)
    if code != 0 and check:
        sys.stderr.write(err[-4000:])
        raise SystemExit(f"{label} failed (exit {code}): {[l for l in lines if l.get('type') == 'error']}")
    cpu = ru.ru_utime + ru.ru_stime
    r = {"lines": lines, "code": code, "stderr": err, "wall": wall, "cpu_s": cpu, "rss": ru.ru_maxrss * 1024,
         "load": round(la0, 2), "others": round(max(0.0, busy_cpu_s() - b0 - cpu) / max(wall, 1e-9), 2)}
    log(f"  -> {wall:.1f}s wall, {cpu:.1f}s CPU, peak RSS {r['rss'] / 2**20:.0f} MiB, other CPU load {r['others']}")
    return r


def forge_train(cfg, name, label, forge=FORGE, env=None, check=True):
    path = os.path.join(CACHE, "tmp", f"{name}.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(cfg, f)
    r = run([forge, "train", "--config", path], label, env, check)
    r["steps"] = [l for l in r["lines"] if l.get("type") == "step"]
    r["start"] = next((l for l in r["lines"] if l.get("type") == "start"), {})
    r["done"] = next((l for l in r["lines"] if l.get("type") in ("done", "stopped")), {})
    return r


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception:
        return ""


def machine():
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip() or platform.processor()
    flags = sh("grep -m1 '^flags' /proc/cpuinfo")
    isa = ",".join(f for f in ("avx2", "avx512f", "avx512_bf16") if f" {f}" in flags)
    return f"{cpu}, {os.cpu_count()} cores ({isa}), {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB"


def stamp():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def sha_file(p, n=16):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:n]


def fmt_int(x):
    return f"{x:,.0f}"


def write_section(name, body, path=BENCHMARKS):
    """Replaces the block between <!-- forge:NAME:start --> and <!-- forge:NAME:end --> in path (appends it if absent)."""
    start, end = f"<!-- forge:{name}:start -->", f"<!-- forge:{name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = open(path).read() if os.path.exists(path) else ""
    if start in text and end in text:
        a, b = text.index(start), text.index(end) + len(end)
        text = text[:a] + block + text[b:]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)
    log(f"wrote section {name} of {os.path.relpath(path, ROOT)}")


def gguf_tensors(path):
    """{name: (ggml type id, [ne...])} from a GGUF header (no tensor data is read)."""
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    with open(path, "rb") as f:
        import struct
        rd = lambda fmt: struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]
        if f.read(4) != b"GGUF":
            raise SystemExit(f"{path} is not a GGUF file")
        rd("<I")
        n_t, n_kv = rd("<Q"), rd("<Q")

        def skip(t):
            if t == 8:
                f.seek(rd("<Q"), 1)
            elif t == 9:
                at, n = rd("<I"), rd("<Q")
                if at in sizes:
                    f.seek(sizes[at] * n, 1)
                else:
                    for _ in range(n):
                        skip(at)
            else:
                f.seek(sizes[t], 1)

        for _ in range(n_kv):
            f.seek(rd("<Q"), 1)
            skip(rd("<I"))
        out = {}
        for _ in range(n_t):
            name = f.read(rd("<Q")).decode()
            nd = rd("<I")
            ne = [rd("<Q") for _ in range(nd)]
            t = rd("<I")
            rd("<Q")
            out[name] = (t, ne)
        return out
