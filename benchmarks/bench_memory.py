#!/usr/bin/env python3
"""Peak RSS of the real filter at --memory 256M against image size, format and input kind:
PAM, PNM (P6) and PNG, read from stdin and from a file, written to stdout (discarded) or a
file. Target (streaming issue): peak RSS at most the budget + 64 MB at every size.

  python3 benchmarks/bench_memory.py [--sizes 1,16,64] [--model tiny|lite|PATH] [--budget 256M]
                                     [--kinds stdin,file] [--formats pam,pnm,png] [--json out.json]

Inputs are generated row by row into a temporary folder (a textured RGB pattern, so PNG
does not compress it away) and removed afterwards; /usr/bin/time gives the peak RSS. The
tiny test model (Tests/Fixtures) exercises the same scheduler, buffers and codecs as the
shipped ones at a fraction of the time, so it reaches the large sizes; the real models'
row windows are larger, and the scheduler sizes them to the same budget. Wall times are
printed, but this is a memory benchmark: time the engine with bench_tiling.py on a quiet
machine. Needs: swift build -c release.
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpuinfo import cpu_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FILTER = ROOT / ".build" / "release" / "csgis-smooth"
MODELS = {"tiny": ROOT / "Tests" / "Fixtures" / "tiny-4x1.safetensors",
          "lite": ROOT / "models" / "csgis-lite.safetensors", "base": ROOT / "models" / "csgis-base.safetensors"}


def rows(w, h):
    """A textured RGB pattern, one row of bytes at a time (16 distinct rows, cycled)."""
    base = [bytes(((x * 7 + y * 13) ^ (x >> 3)) & 0xff for x in range(w * 3)) for y in range(16)]
    for y in range(h):
        yield base[y % 16]


def write_input(path, fmt, w, h):
    with open(path, "wb") as f:
        if fmt == "pam":
            f.write(b"P7\nWIDTH %d\nHEIGHT %d\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n" % (w, h))
            for r in rows(w, h):
                f.write(r)
        elif fmt == "pnm":
            f.write(b"P6\n%d %d\n255\n" % (w, h))
            for r in rows(w, h):
                f.write(r)
        else:
            def chunk(t, b):
                return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xFFFFFFFF)
            f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)))
            z = zlib.compressobj(1)
            pending = []
            for r in rows(w, h):
                pending.append(z.compress(b"\0" + r))
                if sum(map(len, pending)) > 1 << 20:
                    f.write(chunk(b"IDAT", b"".join(pending)))
                    pending = []
            pending.append(z.flush())
            f.write(chunk(b"IDAT", b"".join(pending)) + chunk(b"IEND", b""))


def measure(model, budget, path, kind, out_dir, env=None):
    timing = out_dir / "time.txt"
    cmd = ["/usr/bin/time", "-q", "-f", "%M %e", "-o", str(timing), str(FILTER), "--quiet", "--model", str(model)]
    cmd += ["--memory", budget] if budget else []
    out = out_dir / ("out" + path.suffix)
    if kind == "stdin":
        with open(path, "rb") as i, open(os.devnull, "wb") as o:
            r = subprocess.run(cmd, stdin=i, stdout=o, stderr=subprocess.PIPE, env=env)
    else:
        r = subprocess.run(cmd + [str(path), str(out)], stderr=subprocess.PIPE, env=env)
    kb, secs = open(timing).read().split()[-2:]
    res = {"status": r.returncode, "peak_rss_mb": int(kb) / 1024, "seconds": float(secs)}
    if r.returncode:
        res["error"] = r.stderr.decode(errors="replace").strip()
    if out.exists():
        res["output_bytes"] = out.stat().st_size
        out.unlink()
    return res


def parse_bytes(s):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(float(s[:-1]) * units[s[-1].upper()]) if s[-1].upper() in units else int(s)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1,16,64", help="megapixels, comma-separated (square images)")
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--budget", default="256M")
    ap.add_argument("--kinds", default="stdin,file")
    ap.add_argument("--formats", default="pam,pnm,png")
    ap.add_argument("--json")
    a = ap.parse_args()
    model = MODELS.get(a.model, Path(a.model))
    limit = parse_bytes(a.budget) / 2**20 + 64
    print(f"CPU: {cpu_model()}; {os.cpu_count()} cores; model {model.name}; --memory {a.budget}; target peak RSS <= {limit:.0f} MB")
    print(f"{'MP':>6} {'size':>12} {'format':>6} {'input':>6} {'peak RSS MB':>12} {'s':>8} {'ok':>4}")
    results = []
    for mp in [float(s) for s in a.sizes.split(",")]:
        side = int(math.sqrt(mp * 1e6))
        w, h = side, int(mp * 1e6) // side
        for fmt in a.formats.split(","):
            with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR", "/tmp")) as d:
                d = Path(d)
                src = d / f"in.{fmt}"
                write_input(src, fmt, w, h)
                for kind in a.kinds.split(","):
                    r = measure(model, a.budget, src, kind, d)
                    r.update({"megapixels": w * h / 1e6, "width": w, "height": h, "format": fmt, "input": kind,
                              "model": model.name, "budget": a.budget, "within_target": r["status"] == 0 and r["peak_rss_mb"] <= limit})
                    results.append(r)
                    print(f"{w * h / 1e6:6.1f} {f'{w}x{h}':>12} {fmt:>6} {kind:>6} {r['peak_rss_mb']:12.0f} {r['seconds']:8.1f} "
                          f"{'yes' if r['within_target'] else 'NO':>4}" + (f"  {r.get('error', '')}" if r["status"] else ""), flush=True)
    if a.json:
        json.dump({"cpu": cpu_model(), "budget": a.budget, "model": model.name, "results": results}, open(a.json, "w"), indent=1)
    return 0 if all(r["within_target"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
