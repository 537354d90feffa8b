#!/usr/bin/env bash
# Installs every build, test and benchmark dependency of QBench from Debian bookworm's packages.
# Idempotent: packages already present are skipped by apt; safe to run on every CI start.
# Usage: tools/install-deps.sh [--with-peers | --build]
#   --with-peers  also installs the peers bench/ measures against: PyTorch 1.13 and
#                 torchvision from Debian (also what tools/train_fashion_mnist.py needs) and
#                 ONNX Runtime from npm for bench/. No test needs them: PyTorch is 173 packages.
# Always: ONNX Runtime from npm for the worker's "ort" device runner (worker/runners/).
#   --build       only what compiling the binaries needs (deploy/Dockerfile's build stage):
#                 no PostgreSQL server, Python, PyTorch, clang, test data or Node.js
set -euo pipefail

build=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  # engine
  libdnnl-dev ocl-icd-opencl-dev opencl-c-headers   # oneDNN 2.6; its CMake config insists on OpenCL
  libonnx-dev libprotobuf-dev protobuf-compiler     # ONNX 1.12 protobuf definitions, protobuf 3.21
  libjpeg-dev libpng-dev zlib1g-dev                 # image decoding, gz for IDX files
  nlohmann-json3-dev
  libssl-dev                                        # SHA-256 of calibration sample sets
  # service
  libgrpc++-dev protobuf-compiler-grpc libabsl-dev libpqxx-dev libpq-dev
  libgtest-dev libgmock-dev libbenchmark-dev       # CMake configures the tests and benchmarks too
)
pkgs=(
  "${build[@]}"
  postgresql postgresql-15
  # tests and benchmarks
  libonnx-testdata dataset-fashion-mnist
  python3 python3-numpy python3-onnx
  time
  clang libclang-rt-14-dev                          # tools/fuzz.sh: libFuzzer with ASan and UBSan
  docker-compose                                    # deploy_test: validates deploy/compose*.yml
)
# Node.js (for ONNX Runtime's npm package in bench/): the machine image ships its own nodejs
# with npm; Debian's npm conflicts with it, so only install Debian's when node is absent.
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
[[ "${1:-}" == "--with-peers" ]] && pkgs+=(python3-torch python3-torchvision)
[[ "${1:-}" == "--build" ]] && pkgs=("${build[@]}")

need=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if ((${#need[@]})); then
  echo "install-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "install-deps: all ${#pkgs[@]} packages present"
fi

here="$(cd "$(dirname "$0")/.." && pwd)"
# The "ort" device runner (docs/devices.md): the exact version its package-lock.json pins.
if [[ "${1:-}" != "--build" && ! -d "$here/worker/runners/node_modules/onnxruntime-node" ]]; then
  # --ignore-scripts: the install script downloads GPU binaries and fails offline; the CPU library is in the package.
  (cd "$here/worker/runners" && npm ci --no-audit --no-fund --ignore-scripts >/dev/null)
fi
if [[ "${1:-}" == "--with-peers" ]]; then
  if [ ! -d "$here/bench/node_modules/onnxruntime-node" ]; then
    # The package's install script downloads extra binaries and fails offline; the CPU library is inside the package.
    (cd "$here/bench" && npm install --no-audit --no-fund --ignore-scripts onnxruntime-node@1.20 >/dev/null)
  fi
fi
