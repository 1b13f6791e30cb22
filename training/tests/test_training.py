"""Small tests of training/: run where PyTorch is installed (scripts/test.sh)."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

HERE = Path(__file__).resolve().parents[1]
TIMEOUT = 900  # seconds for any subprocess: a hung one fails its test instead of CI
sys.path.insert(0, str(HERE))
from csgis import losses, weights  # noqa: E402
from csgis.model import CSGISNet, count_params, randomize_, receptive_radius  # noqa: E402
from csgis.synth import NUM_CLASSES, make_batch  # noqa: E402


def test_paper_configuration_matches_the_documented_facts():
    assert count_params(CSGISNet(64, 12)) == 2_528_519
    assert count_params(CSGISNet(32, 6)) == 469_959
    assert receptive_radius(12) == 135


def test_receptive_radius_is_sufficient():
    """Nothing beyond the radius reaches an output pixel (what exact tiling relies on);
    nearby pixels do (the test can fail)."""
    net = randomize_(CSGISNet(4, 1), 3).eval().double()
    r = receptive_radius(1)
    x = torch.rand(1, 3, 2 * r + 9, 2 * r + 9, dtype=torch.float64)
    c = r + 4
    with torch.no_grad():
        a = net(x)
    for off, matters in ((r + 1, False), (5, True)):
        for dy, dx in ((0, off), (off, 0), (-off, 0), (0, -off)):
            y = x.clone()
            y[0, :, c + dy, c + dx] += 1
            with torch.no_grad():
                b = net(y)
            same = torch.equal((a[0] + a[1])[0, :, c, c], (b[0] + b[1])[0, :, c, c]) and torch.equal(a[2][0, :, c, c], b[2][0, :, c, c])
            assert same != matters, (off, dy, dx)


def test_weights_roundtrip(tmp_path):
    net = randomize_(CSGISNet(4, 1), 5)
    st = weights.state_for_export(net.state_dict())
    weights.save(tmp_path / "m.safetensors", st, 4, 1, "RGB", "test")
    back, meta = weights.load(tmp_path / "m.safetensors")
    assert meta["dim"] == "4" and meta["num_block"] == "1" and meta["channel_order"] == "RGB"
    assert set(back) == set(st)
    for k in st:
        assert torch.equal(back[k], st[k])


def test_official_checkpoint_is_marked_bgr(tmp_path):
    net = randomize_(CSGISNet(4, 2), 6)
    torch.save({"net": net.state_dict(), "epoch": 3}, tmp_path / "official.pth")
    out = tmp_path / "conv.safetensors"
    subprocess.run([sys.executable, str(HERE / "export.py"), "official", str(tmp_path / "official.pth"), str(out)], check=True, timeout=TIMEOUT)
    _, meta = weights.load(out)
    assert meta["channel_order"] == "BGR" and meta["dim"] == "4" and meta["num_block"] == "2"


def test_synthetic_batch():
    tex = torch.rand(4, 1, 144, 144)
    b = make_batch(tex, 2, 64, torch.Generator().manual_seed(0), "cpu")
    assert b["input"].shape == b["gt"].shape == b["over"].shape == (2, 3, 64, 64)
    assert 0 <= b["input"].min() and b["input"].max() <= 1
    assert set(b["edge"].unique().tolist()) <= {0.0, 1.0}
    assert b["cls"].max() < NUM_CLASSES
    assert (b["input"] - b["gt"]).abs().mean() > 0.005  # texture was added


def test_mssim_is_four_for_identical_images():
    x = torch.rand(1, 3, 64, 64)
    assert abs(float(losses.mssim(x, x)) - 4) < 1e-4


def test_training_step_and_resume(tmp_path):
    # a tiny texture bank, so the test needs neither prepare.py's output nor the datasets
    rng = np.random.default_rng(0)
    for name in ("textures_train.npy", "textures_val.npy"):
        np.save(tmp_path / name, rng.integers(0, 256, (4, 144, 144), dtype=np.uint8))
    cmd = [sys.executable, str(HERE / "train.py"), "--data", str(tmp_path), "--dim", "4", "--blocks", "1", "--out", str(tmp_path / "run"),
           "--steps", "2", "--batch", "2", "--crop", "32", "--device", "cpu", "--log-every", "1"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=TIMEOUT)
    r = subprocess.run(cmd[:-4] + ["--steps", "3", "--resume", "--device", "cpu", "--log-every", "1"], check=True, capture_output=True, text=True, timeout=TIMEOUT)
    assert "resumed at step 2" in r.stdout


def test_ema_export_and_init(tmp_path):
    """--ema with --export-dir writes lean checkpoints (raw and EMA weights, which differ);
    export.py turns the EMA one into engine weights and --init starts from it."""
    rng = np.random.default_rng(1)
    for name in ("textures_train.npy", "textures_val.npy"):
        np.save(tmp_path / name, rng.integers(0, 256, (4, 144, 144), dtype=np.uint8))
    base = [sys.executable, str(HERE / "train.py"), "--data", str(tmp_path), "--dim", "4", "--blocks", "1",
            "--batch", "2", "--crop", "32", "--device", "cpu", "--log-every", "1"]
    subprocess.run(base + ["--out", str(tmp_path / "a"), "--steps", "4", "--ema", "0.5", "--schedule", "cosine",
                           "--warmup", "2", "--freeze-bn", "--export-dir", str(tmp_path / "x")], check=True, capture_output=True, timeout=TIMEOUT)
    raw = torch.load(tmp_path / "x" / "a-trainer.pt", weights_only=False)
    ema = torch.load(tmp_path / "x" / "a-ema.pt", weights_only=False)
    assert "opt" not in raw and ema["is_ema"] and not raw["is_ema"] and ema["step"] == 4
    k = "net.descriptor.conv_in.weight"
    assert not torch.equal(raw["trainer"][k], ema["trainer"][k])
    assert torch.equal(ema["model"]["descriptor.conv_in.weight"], ema["trainer"][k])
    subprocess.run([sys.executable, str(HERE / "export.py"), "checkpoint", str(tmp_path / "x" / "a-ema.pt"),
                    str(tmp_path / "a.safetensors")], check=True, capture_output=True, timeout=TIMEOUT)
    net, meta = weights.load_model(tmp_path / "a.safetensors")
    assert torch.equal(net.state_dict()["descriptor.conv_in.weight"], ema["model"]["descriptor.conv_in.weight"])
    assert "EMA" in meta["provenance"]
    r = subprocess.run(base + ["--out", str(tmp_path / "b"), "--steps", "1", "--init", str(tmp_path / "x" / "a-ema.pt")],
                       check=True, capture_output=True, text=True, timeout=TIMEOUT)
    assert "initialised from" in r.stdout


def test_committed_fixtures_are_reproducible(tmp_path):
    """The reference outputs in Tests/Fixtures come from this model code."""
    io, _ = weights.load(HERE.parent / "Tests" / "Fixtures" / "tiny-4x1-io.safetensors")
    net, _ = weights.load_model(HERE.parent / "Tests" / "Fixtures" / "tiny-4x1.safetensors")
    x = io["input"].permute(2, 0, 1)[None].double()
    with torch.no_grad():
        o1, o2, e, _ = net.double()(x)
    assert torch.allclose(o1[0].permute(1, 2, 0).float(), io["out1"], atol=1e-6)
    assert torch.allclose(e[0].permute(1, 2, 0).float(), io["edge"], atol=1e-6)


# ---- natural-photo data: flattening, procedural textures, composition, prepare + evaluate ----

def _step_with_texture(seed=0, size=96):
    """A vertical step edge (0.2 | 0.8) under a strong fine checker texture."""
    rng = np.random.default_rng(seed)
    img = np.full((size, size, 3), 0.2, np.float32)
    img[:, size // 2:] = 0.8
    y, x = np.mgrid[0:size, 0:size]
    tex = (((x // 2) + (y // 2)) % 2 * 2 - 1).astype(np.float32) * 0.06 + rng.normal(0, 0.01, (size, size))
    return img, np.clip(img + tex[..., None], 0, 1).astype(np.float32)


@pytest.mark.parametrize("kind", ["l0", "rtv"])
def test_flattening_removes_texture_and_keeps_the_edge(kind):
    from csgis import flatten
    clean, textured = _step_with_texture()
    out = flatten.l0(textured, 0.03) if kind == "l0" else flatten.rtv(textured, 0.01, 2.0)
    left, right = out[8:-8, 8:40], out[8:-8, 56:-8]
    assert left.std() < 0.25 * textured[8:-8, 8:40].std(), "texture survived"
    assert abs(float(right.mean() - left.mean()) - 0.6) < 0.08, "the edge was flattened away"
    # (L0 may shift both sides' levels on an image this small; the contrast is what must stay)


def test_random_flatten_is_reproducible_and_varied():
    from csgis import flatten
    _, img = _step_with_texture(1)
    a = flatten.random_flatten(img, np.random.default_rng(3))
    b = flatten.random_flatten(img, np.random.default_rng(3))
    assert a[1] == b[1] and np.array_equal(a[0], b[0])
    kinds = {flatten.random_flatten(img[:32, :32], np.random.default_rng(s))[1].split()[0] for s in range(12)}
    assert kinds == {"l0", "rtv"}


def test_procedural_textures():
    from csgis import procedural
    bank = procedural.bank(2, seed=4)
    assert len(bank) == 2 * len(procedural.KINDS)
    for t in bank:
        assert t.shape == (procedural.SIZE, procedural.SIZE) and t.dtype == np.uint8
        assert t.std() > 10, "a texture must have contrast"
    assert not np.array_equal(bank[0], procedural.bank(2, seed=5)[0]), "another seed, other textures"


def test_compose_modes():
    from csgis.photoset import compose
    g = torch.Generator().manual_seed(0)
    gt = torch.full((3, 3, 64, 64), 0.5)
    orig = torch.rand(3, 3, 64, 64)
    seg = torch.zeros(3, 64, 64, dtype=torch.long)
    seg[:, :, 32:] = 1
    tex = torch.rand(8, 1, 144, 144)
    inp, modes = compose(gt, orig, seg, tex, g, "cpu", modes=torch.tensor([0, 1, 2]), amp_range=(0.05, 0.05))
    assert modes.tolist() == [0, 1, 2]
    # natural: the photo itself, at most a faint overlay
    assert (inp[0] - orig[0]).abs().max() < 0.05 * 0.25 * 6
    # whole-image: one texture layer (the same on both halves' statistics), added to the ground truth
    assert (inp[1] - gt[1]).abs().mean() > 0.01
    # per region: the two segments carry different textures
    left, right = (inp[2] - gt[2])[:, :, :32], (inp[2] - gt[2])[:, :, 32:]
    assert not torch.allclose(left, right[:, :, :32], atol=1e-3)


def test_prepare_builds_photo_sets_and_evaluate_reports_them(tmp_path):
    """The whole data pipeline on the installable sources (scikit-image's photos), then the
    evaluation on a tiny random model: every table and the sheet come out."""
    out = tmp_path / "data"
    r = subprocess.run([sys.executable, str(HERE / "prepare.py"), "--installable", "--no-system-photos", "--out", str(out), "--jobs", "2"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    z = np.load(out / "photos_train.npz")
    assert z["orig"].shape[1:] == (256, 256, 3) and z["gt"].shape == z["orig"].shape and z["seg"].shape == z["orig"].shape[:3]
    v = np.load(out / "photoval_val.npz")
    assert len(v["blended_input"]) >= 3 and v["blended_input"].shape == v["blended_gt"].shape
    assert np.abs(v["blended_input"].astype(int) - v["blended_gt"]).mean() > 1, "validation inputs carry texture"
    assert (out / "photoval_tune.npz").exists()
    net = randomize_(CSGISNet(4, 1), 7)
    weights.save(tmp_path / "tiny.safetensors", weights.state_for_export(net.state_dict()), 4, 1, "RGB", "test")
    r = subprocess.run([sys.executable, str(HERE / "evaluate.py"), "--quick", "--data", str(out), "--datasets", str(tmp_path / "none"),
                        "--models", f"tiny={tmp_path / 'tiny.safetensors'}", "--out", str(tmp_path / "eval")],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr[-2000:]
    md = (tmp_path / "eval.md").read_text()
    for title in ("photo-blended", "photo-natural", "synthetic"):
        assert f"### {title}" in md
    assert "fastGlobalSmootherFilter" in md and "| tiny |" in md
    assert (tmp_path / "eval-photos.png").exists()


def test_training_on_photos(tmp_path):
    """train.py picks the photo bank when prepare.py built one, and logs its throughput."""
    rng = np.random.default_rng(2)
    for name in ("textures_train.npy", "textures_val.npy"):
        np.save(tmp_path / name, rng.integers(0, 256, (4, 144, 144), dtype=np.uint8))
    t = lambda *s: rng.integers(0, 256, s, dtype=np.uint8)
    np.savez(tmp_path / "photos_train.npz", orig=t(3, 256, 256, 3), gt=t(3, 256, 256, 3), seg=t(3, 256, 256))
    r = subprocess.run([sys.executable, str(HERE / "train.py"), "--data", str(tmp_path), "--dim", "4", "--blocks", "1",
                        "--out", str(tmp_path / "run"), "--steps", "2", "--batch", "2", "--crop", "32", "--device", "cpu",
                        "--log-every", "1", "--amp", "none"], capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Mpix/s" in r.stdout
    ck = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    assert "natural photos" in ck["provenance"]


def test_sigterm_ends_a_run_cleanly_and_the_campaign_state_continues_it(tmp_path):
    """SIGTERM ends train.py like --wall-limit (saved, exported, validated); campaign.py keeps
    the raw and EMA weights in fp16, counts the run's steps once, and --init continues from
    that state with its EMA."""
    import signal
    import time
    import campaign
    rng = np.random.default_rng(3)
    for name in ("textures_train.npy", "textures_val.npy"):
        np.save(tmp_path / name, rng.integers(0, 256, (4, 144, 144), dtype=np.uint8))
    runs, state = tmp_path / "runs", tmp_path / "state"
    state.mkdir()
    base = [sys.executable, str(HERE / "train.py"), "--data", str(tmp_path), "--dim", "4", "--blocks", "1", "--batch", "2",
            "--crop", "32", "--device", "cpu", "--log-every", "1", "--amp", "none", "--ema", "0.9"]
    p = subprocess.Popen(base + ["--out", str(runs / "lite"), "--export-dir", str(runs / "lite" / "export")],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = runs / "lite" / "log.txt"
    t = time.time()
    while not (log.exists() and "step 3 " in log.read_text()):
        assert time.time() - t < TIMEOUT and p.poll() is None, "the run did not reach step 3"
        time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    out, _ = p.communicate(timeout=TIMEOUT)
    assert p.returncode == 0, out[-2000:]
    assert (runs / "lite" / "metrics.json").exists() and (runs / "lite" / "export" / "lite-ema.pt").exists()
    steps = torch.load(runs / "lite" / "last.pt", weights_only=False)["step"]
    assert 3 <= steps < 1000
    campaign.RUNS, campaign.STATE = runs, state
    info = campaign.save_state("lite", "fp32")
    assert info["steps_total"] == steps and info["sessions"] == 1
    assert campaign.save_state("lite", "fp32")["steps_total"] == steps, "a second stop of one run counts it once"
    st = torch.load(state / "lite.pt", weights_only=False)
    k = "net.descriptor.conv_in.weight"
    assert st["trainer"][k].dtype == torch.float16 and st["ema_trainer"][k].dtype == torch.float16
    assert not torch.equal(st["trainer"][k], st["ema_trainer"][k])
    r = subprocess.run(base + ["--out", str(tmp_path / "next"), "--steps", "1", "--init", str(state / "lite.pt")],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0 and "initialised from" in r.stdout, r.stderr[-2000:]


def test_the_unlike_set_is_built_unlike_the_training_pairs_and_reproducibly(tmp_path):
    """csgis/unlike.py: held-out photos only, 320x224 crops, colour textures, deterministic."""
    import cv2
    from csgis import photos, unlike
    rng = np.random.default_rng(4)
    (tmp_path / "photos" / "p").mkdir(parents=True)
    names = [f"photo{i}.png" for i in range(40)]
    val = [n for n in names if photos.split_of(f"p/{n}") == "val"][:2]
    train = [n for n in names if photos.split_of(f"p/{n}") == "train"][:1]
    for n in val + train:
        cv2.imwrite(str(tmp_path / "photos" / "p" / n), rng.integers(0, 256, (300, 400, 3), dtype=np.uint8))
    (tmp_path / "textures" / "dtd" / "c").mkdir(parents=True)
    for i in range(6):
        cv2.imwrite(str(tmp_path / "textures" / "dtd" / "c" / f"t{i}.png"), rng.integers(0, 256, (200, 200, 3), dtype=np.uint8))
    photos.SKIMAGE_PHOTOS, keep = [], photos.SKIMAGE_PHOTOS
    try:
        a = unlike.build(tmp_path, split="val", crops=2)
        b = unlike.build(tmp_path, split="val", crops=2)
    finally:
        photos.SKIMAGE_PHOTOS = keep
    assert a["input"].shape == (2 * len(val), 224, 320, 3) and a["gt"].shape == a["input"].shape
    assert np.array_equal(a["input"], b["input"]) and np.array_equal(a["gt"], b["gt"])
    assert not np.array_equal(a["input"], a["gt"])


def test_int8_calibration_follows_the_engine_layer_order(tmp_path):
    """export.py calibrate adds one max per convolution, in the order of the network's
    Conv2d modules (the engine's layer order), each the tensor the engine keeps: after BN
    and ReLU, and after the skip sum for a block's last conv."""
    from csgis.calibrate import TENSOR, activation_max
    net = randomize_(CSGISNet(4, 1), 3).eval()
    x = torch.rand(2, 3, 24, 20, generator=torch.Generator().manual_seed(1))
    names, peak = activation_max(net, x)
    convs = [n for n, m in net.named_modules() if isinstance(m, torch.nn.Conv2d)]
    assert names == convs and len(peak) == 1 + 3 + 3 + 1 + 3 * 3 + 2 + 1 + 6 * 3 + 1
    with torch.no_grad():
        y = net.descriptor.conv_in(x)
        assert peak[0] == pytest.approx(float(y.abs().max()))
        blk = net.descriptor.res16[0]
        t = torch.relu(blk.bn_conv_3x3_1(blk.conv_3x3_1(y)))
        assert peak[1] == pytest.approx(float(t.max()))
        assert peak[3] == pytest.approx(float(blk(y).abs().max()))
        assert peak[names.index("interpreter1.6")] == pytest.approx(float(net(x)[2].abs().max()))
    src = tmp_path / "m.safetensors"
    weights.save(src, weights.state_for_export(net.state_dict()), 4, 1, "RGB", "test", "F16", extra={"note": "kept"})
    np.savez(tmp_path / "photos_train.npz", orig=np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8))
    out = tmp_path / "cal.safetensors"
    subprocess.run([sys.executable, str(HERE / "export.py"), "calibrate", str(src), str(out), "--data", str(tmp_path)],
                   check=True, capture_output=True, timeout=TIMEOUT)
    t, meta = weights.load(out)
    t0, _ = weights.load(src)
    assert t[TENSOR].shape == (len(convs),) and (t[TENSOR] > 0).all()
    assert all(torch.equal(t[k], v) for k, v in t0.items()), "the weights are unchanged"
    assert meta["note"] == "kept" and "photos_train.npz" in meta["int8_calibration"]
    weights.load_model(out)  # the calibration does not upset loading
