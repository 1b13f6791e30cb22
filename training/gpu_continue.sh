#!/usr/bin/env bash
# The second prepared run on a lent GPU machine (after gpu_train.sh): continues the shipped
# base (64/12) and lite (32/6) models from checkpoints/*-trainer.pt with BatchNorm frozen
# (the cure for the blow-ups of the first run), larger 192x192 crops (more of the 135-px
# receptive radius in view), a warm-up + cosine schedule and a weight EMA. Both train in
# parallel for WALL seconds; lean checkpoints and logs land in $OUT every minute, so a run
# cut short still brings back its latest weights. Needs training/data on the machine: the
# raw banks do not fit the 64 MiB the device tool carries, so pack them here and unpack there:
#   here:  python3 training/carry_data.py pack .devcarry   (.devcarry listed in .git/info/exclude)
#   run:   carry [".devcarry"], command
#          python3 training/carry_data.py unpack .devcarry && WALL=480 bash training/gpu_continue.sh
set -u
WALL=${WALL:-470}
BATCH=${BATCH:-24}
CROP=${CROP:-192}
cd "$(dirname "$0")"
export PYTHONUNBUFFERED=1
O=${OUT:-/tmp/out}; mkdir -p "$O"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python3 -c "import torch; print('torch', torch.__version__)"
common=(--freeze-bn --clip-grad 1.0 --schedule cosine --warmup 300 --lr 3e-4 --ema 0.999
        --batch "$BATCH" --crop "$CROP" --wall-limit "$WALL" --log-every 100 --ckpt-every 100000
        --export-dir "$O" --export-every 60)
python3 train.py --dim 64 --blocks 12 --init checkpoints/base-trainer.pt --out runs/base2 --seed 11 "${common[@]}" > "$O/base2.log" 2>&1 &
python3 train.py --dim 32 --blocks 6 --init checkpoints/lite-trainer.pt --out runs/lite2 --seed 12 "${common[@]}" > "$O/lite2.log" 2>&1 &
sleep 60; tail -n 2 "$O"/*.log; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader || true
wait
tail -n 3 "$O"/*.log
ls -la "$O"
