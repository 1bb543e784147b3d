#!/usr/bin/env bash
# GPU checks for quantmm.fast (run on a machine with CuPy and a GPU, from the repository root):
# installs quantmm into a scratch target, runs every CuPy test (bit-identical bytes/codes against
# NumPy) and the GPU benchmarks (E8 closest point; NestedLatticeMatmul encode against cupy.copy).
# Results go to ${OUT:-/tmp/quantmm-gpu}. The tests run from a copy outside the checkout, so the
# checkout's own quantmm/ folder cannot shadow the installed package.
set -o pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/quantmm-gpu}
mkdir -p "$OUT"
ROOT=$(pwd)
SITE=$(mktemp -d)
python3 -m pip install -q --no-deps --no-build-isolation --target "$SITE" . >"$OUT/install.log" 2>&1 \
    || { cat "$OUT/install.log"; exit 1; }
export PYTHONPATH=$SITE
WORK=$(mktemp -d)
cp -r "$ROOT/tests" "$ROOT/benchmarks" "$ROOT/pyproject.toml" "$WORK/"
cd "$WORK" || exit 1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -c "import quantmm.fast, cupy; print(quantmm.fast.__file__, 'cupy', cupy.__version__)"
python3 -m pytest -p no:cacheprovider tests -q -k "cupy or gpu" 2>&1 | tee "$OUT/gpu_tests.log" | tail -15
QUANTMM_BENCH_COLUMNS=${QUANTMM_BENCH_COLUMNS:-4096} python3 -m pytest -p no:cacheprovider \
    benchmarks -k "gpu or cupy" --benchmark-json="$OUT/bench.json" -q 2>&1 | tee "$OUT/bench.log" | tail -30
python3 - "$OUT/bench.json" <<'PY'
import json, sys
for bench in json.load(open(sys.argv[1]))["benchmarks"]:
    print(bench["name"], {k: v for k, v in bench["extra_info"].items()})
PY
