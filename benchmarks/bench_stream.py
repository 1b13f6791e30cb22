#!/usr/bin/env python3
"""A stream too wide for its budget: full-height strips over a spool file against bands of
tiles, side by side in one run, through the real filter (PAM on stdin, output discarded).

  python3 benchmarks/bench_stream.py [--size 4000x2000] [--model lite] [--budgets 96M]
                                     [--rounds 2] [--json out.json]

Each round runs the default budget, then each budget spooled (TMPDIR a fresh folder) and in
bands (TMPDIR missing, so no spool can be made), alternating, so drift on a shared machine
hits both alike. Prints seconds, s/MP, peak RSS and the scheduler's overheads (csgis-bench
--dry: strips = the spooled run's geometry). Needs: swift build -c release. Run it on a
quiet machine.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_memory import MODELS, ROOT, measure, parse_bytes, write_input  # noqa: E402
from cpuinfo import cpu_model  # noqa: E402

BENCH = ROOT / ".build" / "release" / "csgis-bench"


def geometry(model, w, h, budget, random_access):
    cmd = [str(BENCH), str(model), str(w), str(h), "--tiled", str(parse_bytes(budget)), "--dry", "--precision", "fp32"]
    return json.loads(subprocess.run(cmd + (["--random-access"] if random_access else []), capture_output=True,
                                     text=True, check=True).stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="4000x2000")
    ap.add_argument("--model", default="lite")
    ap.add_argument("--budgets", default="96M")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json")
    a = ap.parse_args()
    model = MODELS.get(a.model, Path(a.model))
    w, h = map(int, a.size.split("x"))
    mp = w * h / 1e6
    print(f"CPU: {cpu_model()}; {os.cpu_count()} cores; model {model.name}; {w}x{h} PAM on stdin; fp32")
    results = []
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        src = d / "in.pam"
        write_input(src, "pam", w, h)
        spool = d / "spool"
        spool.mkdir()
        runs = [("default", None, None)]
        for b in a.budgets.split(","):
            runs += [(f"{b} strips (spool)", b, str(spool)), (f"{b} bands", b, str(d / "missing"))]
        print(f"{'run':>22} {'round':>5} {'s':>8} {'s/MP':>7} {'peak RSS MB':>12} {'spool left':>10}")
        for rnd in range(a.rounds):
            for name, budget, tmp in runs:
                env = dict(os.environ, **({"TMPDIR": tmp} if tmp else {}))
                r = measure(model, budget, src, "stdin", d, env=env)
                left = len(os.listdir(spool))
                r.update({"run": name, "round": rnd, "budget": budget, "s_per_mp": r["seconds"] / mp, "spool_files_left": left})
                results.append(r)
                print(f"{name:>22} {rnd:>5} {r['seconds']:8.1f} {r['s_per_mp']:7.2f} {r['peak_rss_mb']:12.0f} {left:>10}"
                      + (f"  {r.get('error', '')}" if r["status"] else ""), flush=True)
    summary = {}
    for b in a.budgets.split(","):
        strips, bands = geometry(model, w, h, b, True), geometry(model, w, h, b, False)
        mean = {k: sum(r["seconds"] for r in results if r["run"] == f"{b} {k}") / a.rounds for k in ["strips (spool)", "bands"]}
        default = sum(r["seconds"] for r in results if r["run"] == "default") / a.rounds
        summary[b] = {"overhead_strips": strips["overhead"], "overhead_bands": bands["overhead"],
                      "strips_tiles": strips["tiles"], "bands_tiles": bands["tiles"],
                      "mean_s_strips": mean["strips (spool)"], "mean_s_bands": mean["bands"], "mean_s_default": default,
                      "bands_over_strips": mean["bands"] / mean["strips (spool)"], "strips_over_default": mean["strips (spool)"] / default}
        s = summary[b]
        print(f"{b}: overhead strips {s['overhead_strips']:.3f} ({s['strips_tiles']} strips), bands {s['overhead_bands']:.3f} "
              f"({s['bands_tiles']} tiles); mean s: strips {s['mean_s_strips']:.1f}, bands {s['mean_s_bands']:.1f}, "
              f"default {default:.1f}; bands/strips {s['bands_over_strips']:.2f}x, strips/default {s['strips_over_default']:.2f}x")
    if a.json:
        json.dump({"cpu": cpu_model(), "size": a.size, "model": model.name, "summary": summary, "results": results},
                  open(a.json, "w"), indent=1)
    return 0 if all(r["status"] == 0 and r["spool_files_left"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
