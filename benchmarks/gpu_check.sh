#!/usr/bin/env bash
# One prepared GPU session (device machine): CUDA tests of CodedLinear, a coded CIFAR-10
# step per scheme, and a short `uepmm train cifar10 --device cuda` run on generated
# CIFAR-format batches.  Usage:  OUT=/some/dir bash benchmarks/gpu_check.sh
set -uo pipefail
export PYTHONPATH=src PYTHONUNBUFFERED=1
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, numpy, scipy; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'numpy', numpy.__version__)" | tee -a "$OUT/gpu.txt"
timeout 200 python3 -m pytest tests/nn -q -p no:cacheprovider -k "cuda or device" 2>&1 | tail -15 | tee "$OUT/pytest_cuda.log"
timeout 150 python3 benchmarks/bench_cifar.py --device cuda --steps 30 2>&1 | tail -25 | tee "$OUT/bench_cifar.log"
python3 - "$OUT" <<'PY' 2>&1 | tail -20 | tee "$OUT/train_cifar.log"
import sys, time, numpy as np
from uepmm.nn.datasets import write_cifar10_batches
from uepmm.cli import main
out = sys.argv[1]
import os
DEVICE = os.environ.get("DEVICE", "cuda")
rng = np.random.default_rng(0)
# learnable synthetic CIFAR-format data: class = brightest colour channel
labels = rng.integers(0, 10, 1280)
images = rng.integers(0, 120, (1280, 3, 32, 32)).astype(np.uint8)
images[np.arange(1280), labels % 3] += 100
d = write_cifar10_batches(f"{out}/cifar", images[:1024], labels[:1024], images[1024:], labels[1024:])
t = time.time()
main(["train", "cifar10", "--scheme", "centralized", "uncoded", "ew", "--partition", "rxc", "--deadline", "1",
      "--epochs", "4", "--clean-epochs", "1", "--data-dir", str(d), "--device", DEVICE, "--eval-every", "8",
      "--out", f"{out}/runs", "--no-progress"])
print("train cifar10 %s: %.1f s" % (DEVICE, time.time() - t))
import csv, glob
for f in sorted(glob.glob(f"{out}/runs/*.csv")):
    rows = list(csv.DictReader(open(f)))
    print(f.split('/')[-1], "last:", {k: rows[-1][k] for k in list(rows[-1])[:5]})
PY
rm -rf "$OUT/cifar"
