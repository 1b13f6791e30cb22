#!/usr/bin/env python3
"""The standing CPU training campaign: every session resumes it, trains in the background at
nice 19 and commits a small state at the end.

  campaign.py start [--models base,lite] [--minutes 120] [--threads N]
  campaign.py status
  campaign.py pause | resume      SIGSTOP / SIGCONT (pause it while timing anything)
  campaign.py stop [--no-eval]    ends the runs cleanly, saves the state, evaluates, logs
  campaign.py adopt MODEL --trainer RAW.pt --ema EMA.pt --steps N --hours H --note TEXT
                                  a run done elsewhere becomes MODEL's state

start: one detached driver (nice 19) builds the data first if training/data lacks it
(prepare.py --fetch-debs), then runs train.py for each model at once (the threads split
between them), each continuing from its committed state (campaign/MODEL.pt; a model
without one starts from SEEDS below). A warm-up + cosine schedule spans --minutes, so a run
that reaches its end has annealed; one stopped earlier keeps its weight EMA, which is what
is exported. Precision: bf16 autocast where the CPU computes bf16 natively (AVX512-BF16 or
AMX in /proc/cpuinfo), fp32 elsewhere (emulated bf16 is about 10x slower than fp32 on AVX2);
CAMPAIGN_AMP=bf16|none overrides. A run that was not stopped (the machine went down) is continued
(--resume) by the next start; after a stop the next start begins a new run from the state.

stop: sends SIGTERM (train.py saves, exports and validates), then per model writes
campaign/MODEL.pt (raw and EMA weights in fp16, no optimiser state: about 2 MB for lite,
10 MB for base), scores the EMA on the photo-blended, photo-natural and photo-unlike validation sets
(evaluate.py --no-classical: the models only; the classical filters' figures are evaluate.py's full
runs) and
appends a line to campaign/log.md: date, CPU, precision, steps, hours, Mpix/s, PSNR/SSIM;
the run's log goes to campaign/logs/DATE-MODEL.log.
The engine file of each EMA goes to runs/campaign/csgis-MODEL.safetensors (not committed:
models/ gets a model only when it wins).
"""
import argparse
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATE = HERE / "campaign"          # committed: states and the log
RUNS = HERE / "runs" / "campaign"  # ignored: the runs in progress
DRIVER_PID = RUNS / "driver.pid"
MODELS = {"lite": (32, 6), "base": (64, 12)}
# What `start` trains unless told: base alone, by the log (campaign/log.md): lite's last run
# (814 steps) left it flat at 26.69-26.71 dB photo-blended, while base rose with every run
# (26.31 at 477 photo steps, 26.53 at 909, 26.86 at 2,007: past lite) and is now the default.
DEFAULT_MODELS = "base"
# where a model without a campaign state starts (the first that exists)
SEEDS = {"lite": [HERE.parent.parent / "shared" / "candidates" / "lite-zen4-trainer.pt", HERE / "checkpoints" / "lite-photo.pt"],
         "base": [HERE / "checkpoints" / "base-photo.pt", HERE / "checkpoints" / "base-trainer.pt"]}
# per model: peak learning rate (a model new to the photos starts higher), seed
RECIPE = {"lite": {"lr": 1e-4, "seed": 43}, "base": {"lr": 2e-4, "seed": 44}}
COMMON = ["--photo-frac", "1", "--no-semantic", "--freeze-bn", "--clip-grad", "1.0", "--schedule", "cosine",
          "--warmup", "30", "--ema", "0.995", "--batch", "8", "--crop", "128", "--log-every", "10",
          "--ckpt-every", "50", "--export-every", "300"]


def cpu_name():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def cpu_kind():
    flags = set(next((l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("flags")), "").split())
    if "amx_bf16" in flags:
        return "AMX"
    if "avx512_bf16" in flags:
        return "AVX512-BF16"
    return "AVX-512" if "avx512f" in flags else "AVX2"


def native_bf16():
    return cpu_kind() in ("AMX", "AVX512-BF16")


def amp():
    return os.environ.get("CAMPAIGN_AMP") or ("bf16" if native_bf16() else "none")


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def driver_pid():
    try:
        pid = int(DRIVER_PID.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return pid if alive(pid) else None


def trainer_pids():
    """The train.py processes the driver started (pid files beside their logs)."""
    out = {}
    for f in RUNS.glob("*.pid"):
        if f.name == "driver.pid":
            continue
        try:
            pid = int(f.read_text())
        except ValueError:
            continue
        if alive(pid):
            out[f.stem] = pid
    return out


def init_for(model):
    s = STATE / f"{model}.pt"
    if s.exists():
        return s
    return next((p for p in SEEDS[model] if p.exists()), None)


def train_cmd(model, minutes, threads):
    dim, blocks = MODELS[model]
    run = RUNS / model
    cmd = [sys.executable, str(HERE / "train.py"), "--dim", str(dim), "--blocks", str(blocks), "--out", str(run),
           "--lr", str(RECIPE[model]["lr"]), "--seed", str(RECIPE[model]["seed"]), "--amp", amp(),
           "--threads", str(threads), "--wall-limit", str(int(minutes * 60)), "--export-dir", str(run / "export"),
           *COMMON]
    init = init_for(model)
    if init:
        cmd += ["--init", str(init)]
    if (run / "last.pt").exists():
        cmd.append("--resume")
    return cmd


def drive(models, minutes, threads):
    """The detached driver: data first, then the trainers; exits when they do."""
    os.nice(19 - os.nice(0))
    # The driver is a session of its own; where the kernel groups sessions (autogroup), a
    # process's nice counts only inside its group, so the group itself gets nice 19 too.
    try:
        Path("/proc/self/autogroup").write_text("19")
    except OSError:
        pass
    if not (HERE / "data" / "photos_train.npz").exists():
        with open(RUNS / "prepare.log", "a") as log:
            subprocess.run([sys.executable, str(HERE / "prepare.py"), "--fetch-debs"], stdout=log, stderr=log, check=False)
    procs = []
    for m in models:
        (RUNS / m).mkdir(parents=True, exist_ok=True)
        log = open(RUNS / f"{m}.log", "a")
        log.write(f"# {datetime.datetime.now().isoformat(timespec='seconds')} {cpu_name()} ({cpu_kind()}), amp {amp()}, "
                  f"{threads} threads: {' '.join(train_cmd(m, minutes, threads))}\n")
        log.flush()
        p = subprocess.Popen(train_cmd(m, minutes, threads), stdout=log, stderr=subprocess.STDOUT, cwd=HERE,
                             env=dict(os.environ, PYTHONUNBUFFERED="1"))
        (RUNS / f"{m}.pid").write_text(str(p.pid))
        procs.append(p)
    for p in procs:
        p.wait()


def start(a):
    if driver_pid():
        print(f"already running (driver {driver_pid()}); `campaign.py status`")
        return 1
    models = [m for m in a.models.split(",") if m]
    bad = [m for m in models if m not in MODELS]
    if bad:
        print(f"unknown model {bad[0]} (known: {', '.join(MODELS)})", file=sys.stderr)
        return 2
    RUNS.mkdir(parents=True, exist_ok=True)
    threads = a.threads or max(1, (os.cpu_count() or 2) // len(models))
    p = subprocess.Popen([sys.executable, __file__, "_drive", ",".join(models), str(a.minutes), str(threads)],
                         stdout=open(RUNS / "driver.log", "a"), stderr=subprocess.STDOUT, start_new_session=True)
    DRIVER_PID.write_text(str(p.pid))
    print(f"campaign started: {', '.join(models)} for {a.minutes} min, {threads} thread(s) each, amp {amp()} "
          f"({cpu_kind()}); logs in {RUNS}")
    return 0


def last_line(path, pattern="step "):
    try:
        lines = [l for l in Path(path).read_text().splitlines() if l.startswith(pattern)]
    except FileNotFoundError:
        return None
    return lines[-1] if lines else None


def status(_a=None):
    d = driver_pid()
    state = "not running"
    if d:
        st = Path(f"/proc/{d}/stat").read_text().split()[2] if Path(f"/proc/{d}/stat").exists() else "?"
        state = f"running (driver {d})" if st != "T" else f"paused (driver {d})"
    print(f"campaign: {state}")
    if d and not (HERE / "data" / "photos_train.npz").exists():
        print("  building the data (prepare.py --fetch-debs)")
    for m, pid in trainer_pids().items():
        print(f"  {m} (pid {pid}): {last_line(RUNS / f'{m}.log') or 'starting'}")
    for m in MODELS:
        s = STATE / f"{m}.pt"
        if s.exists():
            info = json.loads((STATE / f"{m}.json").read_text()) if (STATE / f"{m}.json").exists() else {}
            print(f"  {m}: committed state {info.get('steps_total', '?')} steps, {info.get('hours_total', '?')} h")
    return 0


def write_state(model, raw, ema, info, provenance=None):
    """campaign/MODEL.pt (raw and EMA weights in fp16, no optimiser; written whole or not at
    all) and MODEL.json, from lean checkpoints `raw` and `ema`."""
    import torch
    half = lambda sd: {k: (v.half() if v.is_floating_point() else v) for k, v in sd.items()}
    STATE.mkdir(exist_ok=True)
    state = {"trainer": half(raw["trainer"]), "ema_trainer": half(ema["trainer"]), "step": info["steps_total"],
             "provenance": provenance or ema.get("provenance", ""), "metadata": ema.get("metadata", {}), "campaign": info}
    tmp = STATE / f"{model}.pt.tmp"
    torch.save(state, tmp)
    tmp.replace(STATE / f"{model}.pt")
    (STATE / f"{model}.json").write_text(json.dumps(info, indent=1) + "\n")


def save_state(model, amp_used):
    """runs/campaign/MODEL/export -> campaign/MODEL.pt (fp16, no optimiser) and MODEL.json."""
    import torch
    run = RUNS / model
    raw, ema = run / "export" / f"{model}-trainer.pt", run / "export" / f"{model}-ema.pt"
    if not raw.exists():
        return None
    r = torch.load(raw, map_location="cpu", weights_only=False)
    e = torch.load(ema, map_location="cpu", weights_only=False) if ema.exists() else r
    info_path = STATE / f"{model}.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {"steps_total": 0, "hours_total": 0.0, "sessions": 0}
    # steps and seconds of this session's run (train.py counts from its --init)
    log = (run / "log.txt").read_text().splitlines() if (run / "log.txt").exists() else []
    mpix = [float(re.search(r"([\d.]+) Mpix/s", l).group(1)) for l in log if " Mpix/s" in l]
    steps, secs = r["step"], r["elapsed"]
    prev, run_id = info.get("run_counted", {}), str(run.stat().st_ctime)
    again = prev.get("run_id") == run_id  # a second stop of the same run counts only the new part
    d_steps, d_secs = (steps - prev["steps"], secs - prev["seconds"]) if again else (steps, secs)
    info.update(steps_total=info["steps_total"] + d_steps, hours_total=round(info["hours_total"] + d_secs / 3600, 3),
                sessions=info.get("sessions", 0) + (0 if again else 1),
                run_counted={"run_id": run_id, "steps": steps, "seconds": secs},
                last={"date": datetime.date.today().isoformat(), "cpu": cpu_name(), "kind": cpu_kind(), "amp": amp_used,
                      "steps": d_steps, "hours": round(d_secs / 3600, 3), "mpix_s": mpix[-1] if mpix else None,
                      "dim_blocks": list(MODELS[model])})
    write_state(model, r, e, info)
    return info


def evaluate(model, n=None, out_dir=None):
    """Exports the state's EMA for the engine and scores it on the photo sets (n: only the
    first n pairs of each)."""
    import torch
    st = torch.load(STATE / f"{model}.pt", map_location="cpu", weights_only=False)
    lean = RUNS / f"{model}-ema-lean.pt"
    info = st["campaign"]
    net = {k.removeprefix("net."): v.float() for k, v in st["ema_trainer"].items() if k.startswith("net.")}
    torch.save({"model": net, "metadata": dict(st["metadata"], training_steps=info["steps_total"]),
                "provenance": f"csgis training/campaign.py: {model}, {info['steps_total']} campaign steps on natural photos "
                              f"({info['hours_total']} CPU hours), weight EMA"}, lean)
    sf = RUNS / f"csgis-{model}.safetensors"
    subprocess.run([sys.executable, str(HERE / "export.py"), "checkpoint", str(lean), str(sf)], check=True)
    out = Path(out_dir or STATE / "eval") / f"{datetime.date.today().isoformat()}-{model}"
    subprocess.run([sys.executable, str(HERE / "evaluate.py"), "--models", f"{model}={sf}", "--sets", "photo-blended",
                    "photo-natural", "photo-unlike", "--no-classical", *(["--photo-n", str(n)] if n else []),
                    "--out", str(out)], check=True, stdout=subprocess.DEVNULL)
    res = json.loads(Path(str(out) + ".json").read_text())
    return {k: next(r for r in v["rows"] if r[0] == model)[1:3] for k, v in res.items()}


def adopt(a):
    """Makes a run done elsewhere (lean checkpoints: raw and EMA) the campaign state of a model."""
    import torch
    if (STATE / f"{a.model}.pt").exists() and not a.force:
        print(f"campaign/{a.model}.pt exists (--force replaces it)", file=sys.stderr)
        return 1
    r = torch.load(a.trainer, map_location="cpu", weights_only=False)
    e = torch.load(a.ema, map_location="cpu", weights_only=False)
    info = {"steps_total": a.steps, "hours_total": a.hours, "sessions": 1, "adopted": a.note,
            "last": {"date": datetime.date.today().isoformat(), "note": a.note}}
    write_state(a.model, r, e, info, provenance=a.note)
    print(f"campaign/{a.model}.pt from {a.trainer} and {a.ema}")
    return 0


def stop(a):
    if driver_pid() is None and not trainer_pids():
        print("campaign: not running")
    else:
        if driver_pid():
            os.killpg(driver_pid(), signal.SIGCONT)  # a paused trainer must run to hear SIGTERM
        pids = list(trainer_pids().values())
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        t = time.time()
        while (any(alive(p) for p in pids) or driver_pid()) and time.time() - t < 900:
            time.sleep(2)
        d = driver_pid()
        if d:  # still building data: end it
            os.killpg(d, signal.SIGTERM)
    STATE.mkdir(exist_ok=True)
    for m in MODELS:
        if not (RUNS / m / "export").exists():
            continue
        used = "bf16" if "--amp bf16" in (RUNS / f"{m}.log").read_text() else "fp32"
        info = save_state(m, used)
        if info is None:
            continue
        scores = {} if a.no_eval else evaluate(m)
        L = info["last"]
        fmt = lambda k: f"{scores[k][0]:.2f} / {scores[k][1]:.4f}" if k in scores else "-"
        line = (f"| {L['date']} | {m} | {L['cpu']} ({L['kind']}) | {L['amp']} | {L['steps']} | {L['hours']:.2f} | "
                f"{L['mpix_s'] or 0:.3f} | {info['steps_total']} | {info['hours_total']:.2f} | "
                f"{fmt('photo-blended')} | {fmt('photo-natural')} | {fmt('photo-unlike')} |")
        log = STATE / "log.md"
        if not log.exists():
            log.write_text("# Campaign log (training/campaign.py stop appends a line per model)\n\n"
                           "Validation: the EMA weights in PyTorch fp32, PSNR dB / SSIM, on evaluate.py's photo-blended "
                           "(135 crops), photo-natural (45) and photo-unlike (90; built unlike the training pairs) sets.\n\n"
                           "| date | model | CPU | precision | steps | hours | Mpix/s | total steps | total hours | "
                           "photo-blended | photo-natural | photo-unlike |\n|---|---|---|---|---:|---:|---:|---:|---:|---|---|---|\n")
        with open(log, "a") as f:
            f.write(line + "\n")
        print(line)
        # the run's log is kept with the state (a few kB)
        (STATE / "logs").mkdir(exist_ok=True)
        with open(STATE / "logs" / f"{L['date']}-{m}.log", "a") as f:
            f.write((RUNS / f"{m}.log").read_text())
        (RUNS / f"{m}.log").rename(RUNS / f"{m}.log.done")
        # the next start begins a new run (a fresh schedule) from the state just saved
        (RUNS / m).rename(RUNS / f"{m}-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start")
    s.add_argument("--models", default=DEFAULT_MODELS)
    s.add_argument("--minutes", type=float, default=120)
    s.add_argument("--threads", type=int, default=0)
    sub.add_parser("status")
    sub.add_parser("pause")
    sub.add_parser("resume")
    t = sub.add_parser("stop")
    t.add_argument("--no-eval", action="store_true")
    ad = sub.add_parser("adopt", help="make lean checkpoints from elsewhere a model's campaign state")
    ad.add_argument("model", choices=list(MODELS)); ad.add_argument("--trainer", required=True)
    ad.add_argument("--ema", required=True); ad.add_argument("--steps", type=int, required=True, help="the state's total steps")
    ad.add_argument("--hours", type=float, required=True); ad.add_argument("--note", required=True)
    ad.add_argument("--force", action="store_true")
    d = sub.add_parser("_drive")
    d.add_argument("models"); d.add_argument("minutes", type=float); d.add_argument("threads", type=int)
    a = p.parse_args()
    if a.cmd == "_drive":
        DRIVER_PID.write_text(str(os.getpid()))
        drive(a.models.split(","), a.minutes, a.threads)
        DRIVER_PID.unlink(missing_ok=True)
        return 0
    if a.cmd in ("pause", "resume"):
        d = driver_pid()
        if d is None:
            print("campaign: not running")
            return 0
        os.killpg(d, signal.SIGSTOP if a.cmd == "pause" else signal.SIGCONT)  # driver, data builder, trainers
        print(f"campaign {a.cmd}d")
        return 0
    return {"start": start, "status": status, "stop": stop, "adopt": adopt}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
