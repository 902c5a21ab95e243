#!/usr/bin/env bash
# The book's checks on a GPU machine that has JAX (CUDA), flax, optax, sympy, scikit-learn and PyTorch but no
# Jupyter stack (the lent H200 of this workplace). Not part of `make test` (CI has no GPU).
# Needs wheels for the rest in .whl/ (altair, ipython, ipywidgets, nbformat and their pure-Python needs):
#   python3 -m pip download --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 \
#     --platform any -d .whl altair==6.3.0 ipython ipywidgets==8.1.9 nbformat==5.11.1
# then drop from .whl/ what the machine already has. Writes logs and the GPU performance page under $OUT.
# Usage: OUT=/some/dir bash benchmarks/gpu_check.sh [chapters...]
set -u -o pipefail
OUT=${OUT:-/tmp/gpu_check}; mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD/lib PYTHONUNBUFFERED=1 KEXUE_STATIC=1 MPLBACKEND=agg PYTHONHASHSEED=0
nvidia-smi -L
python3 -c "import jax, flax, optax; print('jax', jax.__version__, 'flax', flax.__version__, 'optax', optax.__version__, jax.devices())"
status=0
echo "== training-loop tests on the GPU"
timeout 240 python3 -m pytest tests/test_train.py -q -p no:cacheprovider -x 2>&1 | tee "$OUT/test_train.log" | tail -5 || status=1
echo "== chapters on the GPU (claims must hold here too)"
chapters=("$@"); [ ${#chapters[@]} -gt 0 ] || chapters=(chapters/0[1-4]_*.ipynb)
timeout 300 python3 benchmarks/run_inprocess.py "${chapters[@]}" > "$OUT/chapters.log" 2>&1 || status=1
grep -E "\.ipynb: " "$OUT/chapters.log"
echo "== training-loop benchmark (JAX variants; PyTorch here would run on the CPU)"
JAX_PLATFORMS=cuda timeout 230 python3 benchmarks/bench_train.py --only abce --fragment "The same benchmark on a GPU (NVIDIA H200)" --out "$OUT/train_gpu.md" > "$OUT/bench.log" 2>&1 || status=1
tail -4 "$OUT/bench.log"
exit $status
