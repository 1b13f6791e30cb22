#!/usr/bin/env python3
"""Tiled, streaming inference under a memory budget: peak RSS against image size, and time
per megapixel tiled against whole-image.

  python3 benchmarks/bench_tiling.py [--budget-mb 256] [--sizes 1,16,64,400] [--json out.json]

Images are procedural and generated row by row inside csgis-bench (no image file is held),
and the output rows are discarded, so the RSS measured is the engine's working set.
Rows: the tiny test model (dim 4, 1 block) at 1, 16, 64 and 400 megapixels, and the lite
model (32/6) at 4 megapixels, all at the same budget; then lite at 4 MP whole-image
(default budget) for the tiled/whole time ratio, and 1 vs 2 threads.
Needs: swift build -c release.
"""
import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / ".build" / "release" / "csgis-bench"


def run(model, w, h, budget, threads=2, precision="auto", tile=None, dry=False):
    cmd = [str(BENCH), str(model), str(w), str(h), "--tiled", str(budget), "--threads", str(threads), "--precision", precision]
    if dry:
        cmd.append("--dry")
    if tile:
        cmd += ["--tile", str(tile)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        return {"error": r.stderr.strip()}
    return json.loads(r.stdout)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget-mb", type=int, default=256)
    p.add_argument("--sizes", default="1,16,64,400")
    p.add_argument("--json")
    a = p.parse_args()
    if not BENCH.exists():
        sys.exit("build first: swift build -c release")
    budget = a.budget_mb << 20
    tiny = ROOT / "Tests" / "Fixtures" / "tiny-4x1.safetensors"
    lite = ROOT / "models" / "csgis-lite.safetensors"
    rows = []
    print(f"{'model':6} {'MP':>6} {'image':>12} {'budget':>7} {'tile':>11} {'tiles':>6} {'overhead':>8} {'s/MP':>7} {'peak RSS MB':>11}")
    jobs = [("tiny", tiny, int(mp)) for mp in a.sizes.split(",")] + [("lite", lite, 4)]
    for name, model, mp in jobs:
        side = int(math.sqrt(mp * 1e6))
        r = run(model, side, side, budget)
        r["model"] = name
        rows.append(r)
        if "error" in r:
            print(f"{name:6} {mp:>6} error: {r['error']}")
            continue
        print(f"{name:6} {mp:>6} {side:>5}x{side:<6} {a.budget_mb:>5}MB {r['tile_w']:>5}x{r['tile_h']:<5} {r['tiles']:>6} "
              f"{r['overhead']:8.3f} {r['s_per_mp']:7.2f} {r['peak_rss_mb']:11.0f}", flush=True)
    side = 2000
    whole = run(lite, side, side, 16 << 30)
    tiled = next(r for r in rows if r.get("model") == "lite")
    if "error" not in whole and "error" not in tiled:
        print(f"\nlite 4 MP: whole image (1 tile) {whole['s_per_mp']:.2f} s/MP, peak RSS {whole['peak_rss_mb']:.0f} MB; "
              f"tiled at {a.budget_mb} MB {tiled['s_per_mp']:.2f} s/MP -> tiled/whole time {tiled['s_per_mp'] / whole['s_per_mp']:.2f}x")
    t1 = run(lite, side, side, 16 << 30, threads=1)
    if "error" not in t1 and "error" not in whole:
        print(f"lite 4 MP whole image: 1 thread {t1['s_per_mp']:.2f} s/MP, 2 threads {whole['s_per_mp']:.2f} s/MP -> speed-up {t1['s_per_mp'] / whole['s_per_mp']:.2f}x")
    base = ROOT / "models" / "csgis-base.safetensors"
    avail = int(open("/proc/meminfo").read().split("MemAvailable:")[1].split()[0]) * 1024
    d = {}
    for label, b in (("default (half of available)", avail // 2), ("1 GB", 1 << 30), ("512 MB", 512 << 20), ("256 MB", 256 << 20)):
        for prec in ("fp32", "bf16"):
            d = run(base, 2048, 2048, b, precision=prec, dry=True)
            if "error" not in d:
                print(f"base 64/12, 2048x2048 (4 MP), {prec}, budget {label}: tile {d['tile_w']}x{d['tile_h']}, "
                      f"{d['tiles']} tile(s), compute overhead {d['overhead']:.3f}, estimated {d['estimated_mb']:.0f} MB")
    rows += [dict(whole, model="lite-whole"), dict(t1, model="lite-whole-1thread"), dict(d, model="base-default-budget")]
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
