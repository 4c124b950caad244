#!/usr/bin/env bash
# GPU check for a lent CUDA machine (not run in the development session: it had no GPU).
#   1. builds karyon_inference + its tests + karyon-inference-bench against the venv's torch;
#   2. runs the inference ctest suite (CPU parity with torchvision, pool determinism, bad input);
#   3. runs the benchmark driver on CUDA with --check-cpu (CUDA output vs the CPU engine);
#   4. measures tiles/s for batch 1..32 in fp32 and fp16 (and bf16) on 512x512 tiles.
# Usage: tools/model/gpu_check.sh [OUT_DIR]   (results as JSON lines + a summary in OUT_DIR)
# Time: ~3 min build (-j16) + ~3 min runs on an H100. Needs the Debian packages of scripts/setup.sh
# (the top-level CMake configure looks for OpenSlide, OpenCV, CLI11, spdlog, nlohmann-json, GTest).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=${1:-${OUT:-$ROOT/out/gpu_check}}
mkdir -p "$OUT"
# Python with torch + torchvision + safetensors: the repo's venv if present, else the machine's.
if [ -n "${KARYON_PYTHON:-}" ]; then PY=$KARYON_PYTHON
elif [ -x "$ROOT/.venv/bin/python" ]; then PY=$ROOT/.venv/bin/python
else PY=$(command -v python3); fi
BUILD=${KARYON_GPU_BUILD:-$ROOT/build-gpu}
JOBS=${JOBS:-$(nproc)}
log() { echo "[gpu_check] $*" | tee -a "$OUT/summary.txt"; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/nvidia-smi.txt"
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' | tee -a "$OUT/summary.txt"
TORCH_CMAKE=$("$PY" -c 'import torch,os;print(os.path.join(os.path.dirname(torch.__file__),"share","cmake"))')
# Native arch of the lent GPU (H100/H200: 9.0) for Caffe2's config; we compile no CUDA code.
ARCH=$("$PY" -c 'import torch;p=torch.cuda.get_device_capability();print(f"{p[0]}.{p[1]}")' 2>/dev/null || echo 9.0)

log "configure + build ($BUILD, -j$JOBS, TORCH_CUDA_ARCH_LIST=$ARCH)"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKARYON_BUILD_GUI=OFF \
  -DCMAKE_PREFIX_PATH="$TORCH_CMAKE" -DKARYON_PYTHON="$PY" -DTORCH_CUDA_ARCH_LIST="$ARCH" > "$OUT/configure.log" 2>&1
cmake --build "$BUILD" --target karyon_inference_tests karyon-inference-bench -j "$JOBS" > "$OUT/build.log" 2>&1
log "build ok"

log "ctest -L inference"
(cd "$BUILD" && ctest -L inference --output-on-failure -j 4) > "$OUT/ctest.log" 2>&1 && log "ctest ok" || log "ctest FAILED (see ctest.log)"
tail -5 "$OUT/ctest.log" | tee -a "$OUT/summary.txt"

# Model + tiles: resnet50-FPN, nuclei config, random init (fixed seed), 64 tiles of 512x512.
WORK=$OUT/work
mkdir -p "$WORK"
"$PY" - "$WORK" <<'PYEOF'
import json, os, sys, torch
sys.path.insert(0, "tools/model"); sys.path.insert(0, "tests/inference")
import convert_torchvision as cv
from make_reference import synthetic_he
from safetensors.torch import save_file
w = sys.argv[1]
cfg = cv.full_config({"architecture": {"backbone": "resnet50", "anchor_sizes": [[8],[16],[32],[64],[128]]},
                      "thresholds": {"detections_per_img": 1000}})
cv.export(cv.randomise(cv.build_model(cfg), 5, fg_bias=1.5), cfg, os.path.join(w, "r50"), "fp32", "gpu-check", {"seed": 5})
save_file({f"tile{i}": torch.from_numpy(synthetic_he(512, 512, 900 + i)) for i in range(64)}, os.path.join(w, "tiles.safetensors"))
PYEOF
BENCH="$BUILD/inference/karyon-inference-bench"

log "CUDA vs CPU agreement (fp32 and fp16, first 4 tiles)"
for p in fp32 fp16; do
  "$BENCH" --model "$WORK/r50.json" --tiles "$WORK/tiles.safetensors" --device cuda:0 --batch 4 --precision $p \
    --check-cpu 4 | tee -a "$OUT/check_cpu.jsonl"
done

log "throughput: batch 1..32, fp32/fp16/bf16, cuda:0"
for p in fp32 fp16 bf16; do
  for b in 1 2 4 8 16 32; do
    timeout 120 "$BENCH" --model "$WORK/r50.json" --tiles "$WORK/tiles.safetensors" --device cuda:0 --batch $b \
      --precision $p | tee -a "$OUT/throughput.jsonl" || log "batch $b $p failed"
  done
done
log "cuda:all"
"$BENCH" --model "$WORK/r50.json" --tiles "$WORK/tiles.safetensors" --device cuda:all --batch 8 --precision fp16 \
  | tee -a "$OUT/throughput.jsonl" || true

log "torchvision reference on the same GPU (batch 8, fp32)"
"$PY" - "$WORK" <<'PYEOF' | tee -a "$OUT/throughput.jsonl"
import json, sys, time, torch
sys.path.insert(0, "tools/model")
import convert_torchvision as cv
from safetensors.torch import load_file
w = sys.argv[1]
m, _ = cv.load_model_card_weights(f"{w}/r50.json"); m = m.cuda()
t = load_file(f"{w}/tiles.safetensors"); tiles = [t[f"tile{i}"].permute(2,0,1).float().div(255).cuda() for i in range(len(t))]
with torch.inference_mode():
    m(tiles[:8]); torch.cuda.synchronize(); t0 = time.perf_counter()
    for i in range(0, len(tiles), 8): m(tiles[i:i+8])
    torch.cuda.synchronize(); s = time.perf_counter() - t0
print(json.dumps({"engine": "torchvision-python", "device": "cuda:0", "batch": 8, "tiles_per_s": len(tiles)/s,
                  "peak_gpu_mb": torch.cuda.max_memory_allocated()/2**20}))
PYEOF
log "done: $OUT"
