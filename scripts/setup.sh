#!/usr/bin/env bash
# Brings a fresh Debian 12 machine to a working Karyon build:
#   1. Debian packages (compilers, Qt 6, OpenSlide, OpenCV, ...), installed only when missing;
#   2. a Python venv (.venv) with the pinned torch/torchvision wheels from PyPI, whose
#      torch/share/cmake is the LibTorch we build against;
#   3. a CMake configure + build in build/ (KARYON_BUILD_DIR overrides).
# Idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

TORCH_VERSION=2.11.0
TORCHVISION_VERSION=0.26.0
APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libopenslide-dev libtiff-dev libjpeg-dev libturbojpeg0-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  qt6-base-dev nlohmann-json3-dev libgtest-dev libgmock-dev libsqlite3-dev
  libcli11-dev libspdlog-dev libsqlitecpp-dev zlib1g-dev libpugixml-dev libssl-dev
  python3 python3-venv python3-openslide python3-numpy python3-pil python3-scipy
  xvfb xauth time
  clang libclang-rt-dev llvm   # tools/fuzz: libFuzzer + ASan/UBSan runtimes, llvm-symbolizer (scripts/test.sh --asan)
  slurmctld slurmd slurm-client   # tests/batch: throw-away one-node Slurm cluster (job-array test)
)

# --- 1. Debian packages ------------------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages: all present"
fi

# --- 2. Python venv with the pinned wheels ------------------------------------------------
# Debian's python3 (not a pyenv one) so that --system-site-packages exposes python3-openslide,
# the reference reader the tests compare against.
VENV=$ROOT/.venv
if [ ! -x "$VENV/bin/python" ]; then
  say "creating Python venv in .venv"
  /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi
have_torch=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("torch"), m.version("torchvision"))' 2>/dev/null || true)
if [ "$have_torch" != "$TORCH_VERSION $TORCHVISION_VERSION" ]; then
  say "installing torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION from PyPI (large download, once)"
  "$VENV/bin/pip" install -q --disable-pip-version-check "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" safetensors
else
  say "torch $TORCH_VERSION / torchvision $TORCHVISION_VERSION: present"
fi

# --- 3. configure + build -------------------------------------------------------------------
BUILD=${KARYON_BUILD_DIR:-$ROOT/build}
TORCH_CMAKE=$("$VENV/bin/python" -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "share", "cmake"))')
if [ ! -f "$BUILD/build.ninja" ]; then
  say "configuring $BUILD"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_PREFIX_PATH="$TORCH_CMAKE" -DKARYON_PYTHON="$VENV/bin/python" \
        ${KARYON_CMAKE_ARGS:-} >/dev/null
fi
say "building (${KARYON_JOBS:-$(nproc)} jobs)"
cmake --build "$BUILD" -j "${KARYON_JOBS:-$(nproc)}"
say "ready: $BUILD/app/karyon-cli"
