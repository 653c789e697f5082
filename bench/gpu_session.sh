#!/usr/bin/env bash
# Every GPU check in one go, for a lent GPU machine where each minute counts:
#
#     bash bench/gpu_session.sh tests conv step example    # any subset, in any order
#     (turns: bench/gan_step.py --turns at batch 64 and 512, the peers interleaved;
#      quick: the GPU cases of two test files; profile: cProfile of a DCGAN step;
#      ops: the host's cost per call and per op, bench/ops.py and profile_step --op-timers;
#      compare: this tree against the one in $BASE, paired, bench/compare_trees.py: make it
#      with `git archive <commit> minigrad kernels | tar -x -C base` inside the checkout,
#      so that the device copy carries it)
#
# Runs from the source tree (PYTHONPATH=.) with $PY (default python3), prints the tail of
# each part, and keeps the full logs in $OUT (the device tool's folder that comes back)
# or ./gpu-logs.
set -u
OUT=${OUT:-gpu-logs}
mkdir -p "$OUT"
export PYTHONPATH=. PYTHONUNBUFFERED=1
PY=${PY:-python3}

{ nvidia-smi -L
  $PY -c "import sys, numpy, numba, cupy; print(sys.version.split()[0], 'numpy', numpy.__version__,
'numba', numba.__version__, 'cupy', cupy.__version__)"
  $PY -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())" || true
} 2>&1 | tee "$OUT/env.log"

for part in "$@"; do
  echo "=== $part"
  case $part in
    tests)   # pytest-xdist, where installed (it is on the lent machines): 25 s instead of minutes
             parallel=$($PY -c "import xdist" 2>/dev/null && echo "-n 6")
             timeout 280 $PY -m pytest -m gpu -q $parallel -W ignore::DeprecationWarning \
               -p no:cacheprovider -rfE --tb=short > "$OUT/tests.log" 2>&1
             tail -30 "$OUT/tests.log" ;;
    ops)     timeout 60 $PY bench/ops.py --device gpu 2>&1 | tee "$OUT/ops.log"
             timeout 60 $PY bench/profile_step.py --device gpu --op-timers --steps 40 \
               --top 16 2>&1 | tee "$OUT/op-timers.log" ;;
    quick)   timeout 200 $PY -m pytest -m gpu -q -p no:cacheprovider -rfE --tb=short \
               tests/test_autograd.py tests/test_serialize.py 2>&1 | tail -15 ;;
    profile) timeout 120 $PY bench/profile_step.py --device gpu --steps 20 --top 45 \
               2>&1 | tee "$OUT/profile.log" ;;
    conv)    timeout 90 $PY bench/conv.py --device gpu 2>&1 | tee "$OUT/conv.log" ;;
    compare) [ -n "${BASE:-}" ] || { echo "compare: set BASE to the old tree"; continue; }
             for run in "dcgan 64 6" "wgan_gp 64 4" "dcgan 512 6" "wgan_gp 512 4"; do
               read -r bench batch rounds <<< "$run"
               timeout 150 $PY bench/compare_trees.py "$BASE" . \
                 --device gpu --bench "$bench" --batch-size "$batch" --rounds "$rounds" \
                 --steps 30 --warmup 10 2>&1 | tee -a "$OUT/compare.log" | tail -1
             done ;;
    step)    timeout 200 $PY bench/gan_step.py --device gpu --steps 50 --warmup 20 --rounds 3 \
               2>&1 | tee "$OUT/step64.log" | grep -v '^{' | tail -14
             timeout 200 $PY bench/gan_step.py --device gpu --batch-size 512 --steps 30 \
               --warmup 20 --rounds 3 2>&1 | tee "$OUT/step512.log" | grep -v '^{' | tail -14 ;;
    turns)   # the peers interleaved turn by turn (gan_step.py --turns): the steadiest ratio
             for batch in 64 512; do
               timeout 200 $PY bench/gan_step.py --device gpu --batch-size $batch --warmup 20 \
                 --turns 30 --turn-steps 5 2>&1 | tee "$OUT/turns$batch.log" | grep -v '^{' | tail -8
             done ;;
    example) timeout 400 $PY examples/dcgan_mnist.py --device gpu --offline --out /tmp/dcgan \
               2>&1 | tee "$OUT/example.log" | tail -25
             cp /tmp/dcgan/losses.png "$OUT/" 2>/dev/null
             cp "$(ls /tmp/dcgan/*.png | grep -v losses | sort | tail -1)" "$OUT/" 2>/dev/null ;;
    *) echo "unknown part: $part" ;;
  esac
done
