#!/usr/bin/env bash
# The prepared run for any lent GPU machine: trains base (64/12) and lite (32/6) on the
# natural-photo data in parallel for WALL seconds, continuing from CKPT_BASE / CKPT_LITE
# (default: the latest lean checkpoints in checkpoints/), with BatchNorm frozen, bf16,
# channels_last, host-side scalar randomness (no per-step device sync), torch.compile,
# a warm-up + cosine schedule and a weight EMA. Lean checkpoints and logs land in $OUT every
# minute, so a run cut short still brings its latest weights back; at the end both EMA
# checkpoints are exported to $OUT/csgis-{base,lite}.safetensors.
# The data does not fit the 64 MiB the device tool carries raw: pack it here, unpack there:
#   here:  python3 training/carry_data.py pack .devcarry        (.devcarry is git-ignored)
#   run:   carry [".devcarry"], command:
#          python3 training/carry_data.py unpack .devcarry && WALL=420 bash training/gpu_photos.sh
# Then here: python3 training/evaluate.py --models csgis-base=OUT/csgis-base.safetensors ...
# and make the run the campaign's state (training/campaign.sh continues from it on the CPUs):
#   python3 training/campaign.py adopt base --trainer OUT/base-photo-trainer.pt --ema OUT/base-photo-ema.pt \
#     --steps N --hours H --note '...'   (--force replaces an existing state)
set -u
WALL=${WALL:-420}
BATCH=${BATCH:-32}
CROP=${CROP:-192}
CKPT_BASE=${CKPT_BASE:-checkpoints/base-photo.pt}
CKPT_LITE=${CKPT_LITE:-checkpoints/lite-photo.pt}
[ -f "$CKPT_BASE" ] || CKPT_BASE=checkpoints/base-trainer.pt
[ -f "$CKPT_LITE" ] || CKPT_LITE=checkpoints/lite-trainer.pt
COMPILE=${COMPILE:---compile}
cd "$(dirname "$0")"
export PYTHONUNBUFFERED=1
O=${OUT:-/tmp/out}; mkdir -p "$O"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no GPU: running on the CPU"
python3 -c "import torch; print('torch', torch.__version__)"
common=(--photo-frac 1 --no-semantic --freeze-bn --clip-grad 1.0 --schedule cosine --warmup 200 --lr 3e-4 --ema 0.999
        --batch "$BATCH" --crop "$CROP" --wall-limit "$WALL" --log-every 50 --ckpt-every 100000
        --export-dir "$O" --export-every 60 $COMPILE)
python3 train.py --dim 64 --blocks 12 --init "$CKPT_BASE" --out runs/base-photo --seed 21 "${common[@]}" > "$O/base-photo.log" 2>&1 &
python3 train.py --dim 32 --blocks 6 --init "$CKPT_LITE" --out runs/lite-photo --seed 22 "${common[@]}" > "$O/lite-photo.log" 2>&1 &
sleep 90; tail -n 2 "$O"/*.log; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader 2>/dev/null || true
wait
for m in base lite; do
  [ -f "$O/$m-photo-ema.pt" ] && python3 export.py checkpoint "$O/$m-photo-ema.pt" "$O/csgis-$m.safetensors"
done
tail -n 3 "$O"/*.log
ls -la "$O"
