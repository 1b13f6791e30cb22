#!/usr/bin/env python3
"""Side-by-side engine benchmark: csgis (Swift + oneDNN) against PyTorch, ONNX Runtime and
OpenVINO on the same CPU, same model, same weights, same input size, same thread count, in
one run.

  python3 benchmarks/bench_engine.py [--threads 2] [--sizes 512,1024] [--configs 64x12,32x6]
                                     [--runs 2] [--json out.json]

csgis-fp32 runs its own Winograd F(2x2, 3x3) kernel (every CPU with AVX2). Engine
csgis-fp32-onednn is csgis at fp32 on oneDNN's kernels alone (CSGIS_WINOGRAD2=0: on AVX-512
oneDNN's Winograd F(4x4, 3x3) on base's dilation-1 layers, direct elsewhere);
csgis-fp32-direct has every Winograd kernel off (CSGIS_WINOGRAD=0).
Each measurement runs in its own process (so peak RSS is that engine's alone), with one
warm-up run and --runs timed runs; the median is reported. Weights are random (speed does
not depend on their values), made by training/export.py random.
ONNX Runtime and OpenVINO run the ONNX export of training/csgis/model.py, exported at 64x64
with dynamic height and width (the graph does not depend on the size; exporting at the
benchmark's size ran out of memory for base); OpenVINO reshapes it to the run's size and
compiles it with the LATENCY hint, the thread count and INFERENCE_PRECISION_HINT f32 or
bf16 (the precision it reports using is printed); openvino-int8 is that export quantised by
NNCF's post-training quantisation (default preset, calibrated on 8 photos at 64x64), the
peer of csgis-int8. For the int8 engines the random weights get an int8 calibration
(training/export.py calibrate, 8 photos of training/data/photos_train.npz).
Needs: swift build -c release (for .build/release/csgis-bench), torch, onnx, onnxruntime,
openvino, nncf (PyPI).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpuinfo import cpu_model  # noqa: E402

REF_SCRIPT = r'''
import json, sys, time
def peak_rss_mb():
    # VmHWM, not ru_maxrss: ru_maxrss survives exec and would count the parent's memory
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
sys.path.insert(0, sys.argv[1])
import torch
from csgis.weights import load_model

path, w, h, mode, threads, runs = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6]), int(sys.argv[7])
torch.set_num_threads(threads)
net, meta = load_model(path)
x = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(0))
times = []
if mode.startswith("torch"):
    net = net.to(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)
    def run():
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode == "torch-bf16"):
            o1, o2, e, _ = net(x)
            return (o1 + o2).float()
else:
    onnx_path = path + ".onnx"
    class Wrap(torch.nn.Module):
        def __init__(s, n): super().__init__(); s.n = n
        def forward(s, x):
            o1, o2, e, _ = s.n(x)
            return o1 + o2, e
    small = torch.rand(1, 3, 64, 64)
    torch.onnx.export(Wrap(net), small, onnx_path, input_names=["x"], output_names=["y", "edge"], opset_version=17,
                      dynamic_axes={n: {2: "h", 3: "w"} for n in ("x", "y", "edge")}, dynamo=False)
    xn = x.numpy()
    if mode == "ort":
        import onnxruntime as ort
        so = ort.SessionOptions(); so.intra_op_num_threads = threads; so.inter_op_num_threads = 1
        sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        def run(): return sess.run(["y"], {"x": xn})
    else:
        import openvino as ov
        core = ov.Core()
        m = core.read_model(onnx_path)
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads}
        if mode == "openvino-int8":
            import nncf, numpy as np
            photos = np.load(sys.argv[8])["orig"][:8, :64, :64].transpose(0, 3, 1, 2).astype(np.float32) / 255
            m = nncf.quantize(m, nncf.Dataset([p[None] for p in photos]), subset_size=len(photos))
        else:
            config["INFERENCE_PRECISION_HINT"] = mode.split("-")[1].replace("fp32", "f32")
        m.reshape({"x": [1, 3, h, w]})
        cm = core.compile_model(m, "CPU", config)
        hint = cm.get_property("INFERENCE_PRECISION_HINT")
        used = hint.get_type_name() if hasattr(hint, "get_type_name") else str(hint)
        req = cm.create_infer_request()
        def run(): return req.infer({"x": xn})
t = time.time(); run(); first = time.time() - t
for _ in range(runs):
    t = time.time(); run(); times.append(time.time() - t)
s = sorted(times)
out = {"engine": mode, "first_run_s": first, "times_s": times, "median_s": s[len(s) // 2], "peak_rss_mb": peak_rss_mb()}
if mode.startswith("openvino"):
    out["precision_used"] = used
print(json.dumps(out))
'''


def run_json(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        why = "killed (out of memory?)" if r.returncode in (-9, 137) else f"exit {r.returncode}"
        lines = [l for l in (r.stderr or r.stdout).strip().splitlines() if "Warning" not in l]
        return {"error": f"{why}: {lines[-1] if lines else ''}"}
    return json.loads(r.stdout.strip().splitlines()[-1])


def precision_of(engine):
    """csgis-fp32-direct -> fp32, csgis-fp32-onednn -> fp32, torch-bf16 -> bf16."""
    return engine.split("-")[1]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--sizes", default="512,1024")
    p.add_argument("--configs", default="64x12,32x6")
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--engines", default="csgis-fp32,csgis-bf16,csgis-int8,torch-fp32,torch-bf16,onnxruntime-fp32,openvino-fp32,"
                                        "openvino-bf16,openvino-int8")
    p.add_argument("--photos", default=str(ROOT / "training" / "data" / "photos_train.npz"), help="int8 calibration photos")
    p.add_argument("--json")
    a = p.parse_args()
    bench = ROOT / ".build" / "release" / "csgis-bench"
    if not bench.exists():
        sys.exit("build first: swift build -c release")
    engines = a.engines.split(",")
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    tmp = Path(tempfile.mkdtemp(prefix="csgis-bench-"))
    import torch
    from csgis.model import CSGISNet
    print(f"# {cpu_model()}, {os.cpu_count()} cores visible, {a.threads} threads; torch {torch.__version__}", flush=True)
    results = []
    hdr = f"{'model':7} {'size':>9} {'engine':18} {'s/run':>8} {'s/MP':>7} {'GFLOP/s':>8} {'RSS MB':>8} {'vs torch':>9}"
    print(hdr, flush=True)
    for cfg in a.configs.split(","):
        dim, nb = map(int, cfg.split("x"))
        wpath = tmp / f"random-{cfg}.safetensors"
        subprocess.run([sys.executable, str(ROOT / "training" / "export.py"), "random", str(dim), str(nb), str(wpath)],
                       check=True, capture_output=True)
        if any(e.endswith("int8") for e in engines):
            subprocess.run([sys.executable, str(ROOT / "training" / "export.py"), "calibrate", str(wpath), str(wpath), "--photos", "8",
                            "--data", str(Path(a.photos).parent)], check=True, capture_output=True)
        fpp = 2 * 9 * sum(m.in_channels * m.out_channels for m in CSGISNet(dim, nb).modules() if isinstance(m, torch.nn.Conv2d))
        for size in map(int, a.sizes.split(",")):
            mp = size * size / 1e6
            row = {}
            for eng in engines:
                if eng.startswith("csgis"):
                    # -direct: every Winograd kernel off; -onednn: oneDNN's kernels alone (its Winograd where it has one)
                    e = dict(env, CSGIS_WINOGRAD="0") if eng.endswith("-direct") else \
                        dict(env, CSGIS_WINOGRAD2="0") if eng.endswith("-onednn") else env
                    r = run_json([str(bench), str(wpath), str(size), str(size), "--precision", precision_of(eng),
                                  "--threads", str(a.threads), "--runs", str(a.runs)], e)
                else:
                    mode = "ort" if eng.startswith("onnx") else eng  # torch-*, openvino-*
                    r = run_json([sys.executable, "-c", REF_SCRIPT, str(ROOT / "training"), str(wpath), str(size), str(size),
                                  mode, str(a.threads), str(a.runs), a.photos], env)
                r.update({"config": cfg, "size": size, "name": eng})
                row[eng] = r
                results.append(r)
                if "error" in r:
                    print(f"{cfg:7} {size:>4}x{size:<4} {eng:18} error: {r['error']}", flush=True)
                    continue
                s = r["median_s"]
                r["s_per_mp"] = s / mp
                r["gflops"] = fpp * size * size / s / 1e9
                ref = row.get("torch-" + precision_of(eng))
                ratio = f"{s / ref['median_s']:.2f}x" if ref and "error" not in ref and eng.startswith("csgis") else ""
                r["ratio_vs_torch"] = ratio
                used = f"  (OpenVINO used {r['precision_used']})" if "precision_used" in r else ""
                print(f"{cfg:7} {size:>4}x{size:<4} {eng:18} {s:8.2f} {s / mp:7.2f} {r['gflops']:8.1f} {r['peak_rss_mb']:8.0f} {ratio:>9}{used}", flush=True)
            # ratios for csgis rows measured before their torch reference
            for eng in engines:
                r = row.get(eng)
                if r and eng.startswith("csgis") and "error" not in r:
                    ref = row.get("torch-" + precision_of(eng))
                    if ref and "error" not in ref:
                        r["ratio_vs_torch"] = f"{r['median_s'] / ref['median_s']:.2f}x"
                    ort = row.get("onnxruntime-fp32")
                    if ort and "error" not in ort:
                        r["ratio_vs_ort"] = f"{r['median_s'] / ort['median_s']:.2f}x"
                    ov = row.get("openvino-" + precision_of(eng))
                    if ov and "error" not in ov:
                        r["ratio_vs_openvino"] = f"{r['median_s'] / ov['median_s']:.2f}x"
                    for other in ("csgis-fp32", "csgis-bf16"):  # int8's own targets
                        o = row.get(other)
                        if eng == "csgis-int8" and o and "error" not in o:
                            r["ratio_vs_" + other] = f"{r['median_s'] / o['median_s']:.2f}x"
    print("\nratios (ours / reference, lower is better):")
    for r in results:
        if r["name"].startswith("csgis") and "error" not in r:
            print(f"  {r['config']:6} {r['size']:>4}  {r['name']:11} vs torch same precision {r.get('ratio_vs_torch', '-'):>6}"
                  f"   vs openvino same precision {r.get('ratio_vs_openvino', '-'):>6}"
                  f"   vs onnxruntime fp32 {r.get('ratio_vs_ort', '-'):>6}   load {r['load_ms']:.0f} ms"
                  + "".join(f"   vs {o} {r[k]}" for o in ("csgis-fp32", "csgis-bf16") if (k := "ratio_vs_" + o) in r))
    if a.json:
        Path(a.json).write_text(json.dumps({"cpu": cpu_model(), "threads": a.threads, "torch": torch.__version__,
                                            "results": results}, indent=1))


if __name__ == "__main__":
    main()
