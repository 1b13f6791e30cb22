#!/usr/bin/env python3
"""Streaming inference under a memory budget: for lite and base, budgets 128M, 256M, 512M,
1G and the default against the scheduler's tiles, compute overhead, s/MP, time against the
default budget and peak RSS; peak RSS against image size; the scheduler's choice for the
paper model at 4 and 64 MP in fp32 and bf16, streamed and in memory.

  python3 benchmarks/bench_tiling.py [--sizes 1,16,64] [--json out.json]

Images are procedural and generated row by row inside csgis-bench (no image file is held),
and the output rows are discarded, so the RSS measured is the engine's working set (plus
the process: runtime, oneDNN, weights). Run it on a quiet machine; it prints the CPU.
Needs: swift build -c release.
"""
import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpuinfo import cpu_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / ".build" / "release" / "csgis-bench"


def run(model, w, h, budget, threads=2, precision="auto", tile=None, dry=False, random_access=False):
    cmd = [str(BENCH), str(model), str(w), str(h), "--tiled", str(budget), "--threads", str(threads), "--precision", precision]
    if dry:
        cmd.append("--dry")
    if random_access:
        cmd.append("--random-access")
    if tile:
        cmd += ["--tile", str(tile)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        return {"error": r.stderr.strip()}
    return json.loads(r.stdout)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1,16,64", help="tiny-model image sizes in MP for the flat-RSS rows")
    p.add_argument("--json")
    a = p.parse_args()
    if not BENCH.exists():
        sys.exit("build first: swift build -c release")
    tiny = ROOT / "Tests" / "Fixtures" / "tiny-4x1.safetensors"
    lite = ROOT / "models" / "csgis-lite.safetensors"
    base = ROOT / "models" / "csgis-base.safetensors"
    avail = int(open("/proc/meminfo").read().split("MemAvailable:")[1].split()[0]) * 1024
    budgets = (("128M", 128 << 20), ("256M", 256 << 20), ("512M", 512 << 20), ("1G", 1 << 30), ("default", avail // 2))
    print(f"CPU: {cpu_model()}; 2 threads; precision auto")
    rows = []
    print("\n| model | image | budget | tile (output) | tiles | rows/step | compute overhead | s/MP | time / default | peak RSS MB |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|")
    for name, model, (w, h) in (("lite 32/6", lite, (2000, 1000)), ("base 64/12", base, (1000, 500))):
        res = [(label, run(model, w, h, b)) for label, b in budgets]
        ref = dict(res)["default"]
        for label, r in res:
            r.update(model=name, budget=label)
            rows.append(r)
            if "error" in r:
                print(f"| {name} | {w}x{h} | {label} | error: {r['error']} |")
                continue
            ratio = r["seconds"] / ref["seconds"] if "seconds" in ref else float("nan")
            print(f"| {name} | {w}x{h} | {label} | {r['tile_w']}x{r['tile_h']} | {r['tiles']} | {r['rows_per_step']} | "
                  f"{r['overhead']:.3f} | {r['s_per_mp']:.2f} | {ratio:.2f}x | {r['peak_rss_mb']:.0f} |", flush=True)
    print("\nPeak RSS against image size at 256M (tiny 4/1 model, so the run is quick):")
    for mp in a.sizes.split(","):
        side = int(math.sqrt(float(mp) * 1e6))
        r = run(tiny, side, side, 256 << 20)
        r.update(model="tiny 4/1", budget="256M")
        rows.append(r)
        if "error" not in r:
            print(f"  {mp:>4} MP ({side}x{side}): tile {r['tile_w']}x{r['tile_h']}, {r['tiles']} tiles, overhead {r['overhead']:.3f}, "
                  f"{r['s_per_mp']:.2f} s/MP, peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
    print("\nThe scheduler's choice (not run) for the paper model, for a row stream (the filter's")
    print("stdin, csgis_smooth_stream) and for an image in memory (csgis_smooth: full-height strips):")
    print("\n| image | budget | fp32 stream | bf16 stream | fp32 in memory | bf16 in memory |")
    print("|---|---|---|---|---|---|")
    for w, h in ((2048, 2048), (8000, 8000)):
        for label, b in budgets:
            cells = []
            for ra in (False, True):
                for prec in ("fp32", "bf16"):
                    d = run(base, w, h, b, precision=prec, dry=True, random_access=ra)
                    kind = "one pass" if d.get("dense") else "strips" if d.get("strips") else "tiles"
                    cells.append(d.get("error", f"{d.get('tiles')} {kind}, {d.get('overhead', 0):.3f}, {d.get('estimated_mb', 0):.0f} MB"))
            print(f"| {w}x{h} | {label} | " + " | ".join(cells) + " |")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
