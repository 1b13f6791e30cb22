#!/usr/bin/env bash
# One prepared run on a lent GPU machine: trains the base model (64/12) and three lite
# models (32/6: regression only, + contrastive, + contrastive + semantic = the shipped lite)
# in parallel for WALL seconds each, exports them and copies results to $OUT.
# Needs training/data (python3 training/prepare.py) carried along.
set -u
WALL=${WALL:-400}
cd "$(dirname "$0")"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
mkdir -p runs
python3 train.py --dim 64 --blocks 12 --batch 16 --out runs/base --wall-limit "$WALL" --log-every 200 > runs/base.out 2>&1 &
python3 train.py --dim 32 --blocks 6 --batch 16 --out runs/lite --wall-limit "$WALL" --log-every 200 > runs/lite.out 2>&1 &
python3 train.py --dim 32 --blocks 6 --batch 16 --out runs/lite-con --no-semantic --wall-limit "$WALL" --log-every 200 > runs/lite-con.out 2>&1 &
python3 train.py --dim 32 --blocks 6 --batch 16 --out runs/lite-reg --no-semantic --no-contrastive --wall-limit "$WALL" --log-every 200 > runs/lite-reg.out 2>&1 &
sleep 60; tail -n 2 runs/*.out; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
wait
tail -n 3 runs/*.out
O=${OUT:-/tmp/out}; mkdir -p "$O"
for r in base lite lite-con lite-reg; do python3 export.py checkpoint runs/$r/last.pt "$O/$r.safetensors"; done
python3 -c "import torch; c=torch.load('runs/base/last.pt', weights_only=False); c.pop('opt'); torch.save(c, '$O/base-trainer.pt')"
cp runs/lite/last.pt "$O/lite-last.pt"
tar cf "$O/logs.tar" runs/*.out runs/*/log.txt runs/*/metrics.json
ls -la "$O"
