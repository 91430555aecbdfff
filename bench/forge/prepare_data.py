#!/usr/bin/env python3
"""Fixed, offline, byte-level data sets for the forge training benchmark (stdlib only).

  /usr/bin/python3 bench/forge/prepare_data.py <out_dir> <llama.cpp checkout with docs/>

general: README(.md) files of the top-level packages in node_modules (pinned by package-lock.json),
         bytewise-sorted paths, mostly-ASCII files >= 1 KB, badge/image lines dropped, each file
         capped at 12 KB, taken in order until 218,000 bytes.
domain:  llama.cpp's docs/**/*.md from node-llama-cpp's source bundle (pinned by the bundle's
         commit), same rules, 110,000 bytes; used for full fine-tune and LoRA.

Tokens are bytes 0..255 plus EOS=256 after every document, so forge, llama.cpp's llama_opt and
PyTorch see identical ids. The stream is cut into rows of 257 tokens with stride 256 (every token
is a target exactly once); row i is held out when i % 10 == 9 (90/10 split spread over all files).
Writes <set>.train.atds, <set>.eval.atds, tokenizer.json (forge config "tokenizer") and
manifest.json (file list + sha256 of every output).
"""
import glob
import hashlib
import json
import os
import struct
import sys

SEQ = 256
EOS = 256
N_VOCAB = 257
CAP = 12 * 1024


def gpt2_byte_chars():
    # GPT-2's bytes_to_unicode: llama.cpp's gpt2 tokenizer maps these back to raw bytes.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    m = dict(zip(bs, cs))
    return [chr(m[b]) for b in range(256)]


def clean(raw):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text or sum(1 for c in text if ord(c) < 128) < 0.98 * len(text):
        return None
    lines = [ln for ln in text.replace("\r\n", "\n").split("\n") if "![" not in ln and "<img" not in ln and len(ln) <= 400]
    out = "\n".join(lines).strip().encode("utf-8")
    if len(out) > CAP:
        cut = out.rfind(b"\n", 0, CAP)
        out = out[: cut if cut > 0 else CAP]
    return out


def collect(paths, budget, root):
    docs, used, total = [], [], 0
    for p in paths:
        with open(p, "rb") as f:
            raw = f.read()
        if len(raw) < 1024:
            continue
        b = clean(raw)
        if not b or len(b) < 512:
            continue
        if total + len(b) > budget:
            b = b[: budget - total]
        docs.append(b)
        used.append(os.path.relpath(p, root))
        total += len(b)
        if total >= budget:
            break
    return docs, used, total


def rows_of(docs):
    toks = []
    for d in docs:
        toks.extend(d)
        toks.append(EOS)
    rows = []
    for s in range(0, len(toks) - SEQ, SEQ):
        rows.append(toks[s : s + SEQ + 1])
    return rows


def write_atds(path, rows):
    row_len = SEQ + 1
    with open(path, "wb") as f:
        f.write(b"ATDS" + struct.pack("<III", 1, row_len, len(rows)))
        for r in rows:
            f.write(struct.pack("<%di" % row_len, *r))
        f.write(b"\x01" * (row_len * len(rows)))


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    out, llama = sys.argv[1], sys.argv[2]
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
    os.makedirs(out, exist_ok=True)
    nm = os.path.join(repo, "node_modules")
    readmes = sorted((p for p in glob.glob(os.path.join(nm, "*", "*")) + glob.glob(os.path.join(nm, "@*", "*", "*"))
                      if os.path.basename(p).lower() == "readme.md" and os.path.isfile(p)), key=lambda p: os.path.relpath(p, nm).encode())
    ldocs = sorted(glob.glob(os.path.join(llama, "docs", "**", "*.md"), recursive=True), key=lambda p: os.path.relpath(p, llama).encode())
    if not ldocs:
        sys.exit("no llama.cpp docs under " + llama)
    manifest = {"seq": SEQ, "n_vocab": N_VOCAB, "eos": EOS, "sets": {}}
    for name, paths, budget, root in (("general", readmes, 218_000, nm), ("domain", ldocs, 110_000, llama)):
        docs, used, total = collect(paths, budget, root)
        rows = rows_of(docs)
        train = [r for i, r in enumerate(rows) if i % 10 != 9]
        held = [r for i, r in enumerate(rows) if i % 10 == 9]
        write_atds(os.path.join(out, name + ".train.atds"), train)
        write_atds(os.path.join(out, name + ".eval.atds"), held)
        manifest["sets"][name] = {
            "bytes": total, "files": len(used), "train_rows": len(train), "eval_rows": len(held),
            "train_sha256": sha(os.path.join(out, name + ".train.atds")),
            "eval_sha256": sha(os.path.join(out, name + ".eval.atds")), "sources": used,
        }
    tok = {"model": "gpt2", "pre": "gpt-2", "tokens": gpt2_byte_chars() + ["<|endoftext|>"],
           "token_type": [1] * 256 + [3], "merges": [], "bos_id": EOS, "eos_id": EOS, "add_bos": False}
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tok, f)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    for k, v in manifest["sets"].items():
        print(f"{k}: {v['bytes']} bytes from {v['files']} files -> {v['train_rows']} train / {v['eval_rows']} held-out rows of {SEQ}")


if __name__ == "__main__":
    main()
