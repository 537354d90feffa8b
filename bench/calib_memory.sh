#!/bin/bash
# Peak memory of calibration against the number of calibration samples (issue 3: "calibration
# over 10x more samples uses no more than 1.2x the peak memory", measured with /usr/bin/time -v).
#
# For each model, qbench-export calibrates (W8A8 by default: percentile over streaming
# histograms, batch 64, 1 thread) on N and on 10N samples, quantizes and writes the QDQ model;
# nothing else runs, so the process's peak RSS is that of import + calibration + quantization.
# Prints both "Maximum resident set size" values and their ratio (goal <= 1.2).
#
# Models: Fashion-MNIST cnn_bn and resnet on the Fashion training set (60000 images), and, when
# ../shared (or $QB_SHARED) exists, ResNet-20 on the CIFAR-10 test JPEGs (10000 images).
#
# Usage: bench/calib_memory.sh [-n N] [-c CONFIG] [-x PATH/TO/qbench-export]
#        (default N=1000, CONFIG=w8a8, qbench-export from $QBENCH_EXPORT, build-h5/ or build/)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
n=1000
config=w8a8
export_bin=${QBENCH_EXPORT:-}
while getopts "n:c:x:h" opt; do
  case $opt in
    n) n=$OPTARG ;;
    c) config=$OPTARG ;;
    x) export_bin=$OPTARG ;;
    *) sed -n '2,15p' "$0"; exit 2 ;;
  esac
done
if [[ -z $export_bin ]]; then
  for b in "$root/build-h5/bench/qbench-export" "$root/build/bench/qbench-export"; do
    [[ -x $b ]] && { export_bin=$b; break; }
  done
fi
[[ -x ${export_bin:-} ]] || { echo "calib_memory.sh: qbench-export not found (build it, or -x PATH)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "calib_memory.sh: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }

shared=${QB_SHARED:-$(dirname "$root")/shared}
export QB_SHARED=$shared OMP_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fm=$root/models/fashion_mnist
models=("fashion cnn_bn|$fm/cnn_bn.onnx|$fm/train_dataset.json"
        "fashion resnet|$fm/resnet.onnx|$fm/train_dataset.json")
if [[ -d $shared/models ]]; then
  models+=("resnet20-cifar10|$shared/models/resnet20_cifar10_pre.onnx|$root/bench/datasets/cifar10-jpeg.json")
fi

# Peak RSS in KiB of one calibration + quantization run with $2 samples of model $1.
peak_kib() {
  local model=$1 calib=$2 samples=$3 log=$work/time.log
  if ! /usr/bin/time -v "$export_bin" --model "$model" --calib "$calib" --samples "$samples" \
      --config "$config" --out "$work/q.onnx" >"$work/out.json" 2>"$log"; then
    echo "calib_memory.sh: qbench-export failed on $model with $samples samples:" >&2
    grep -v '^\s' "$log" >&2 || true
    return 1
  fi
  awk -F': ' '/Maximum resident set size/ {print $2}' "$log"
}

big=$((10 * n))
printf '%s, qbench-export, peak RSS (/usr/bin/time -v), %s vs %s calibration samples\n' "$config" "$n" "$big"
printf '%-18s %12s %12s %12s %7s  %s\n' model "RSS N MiB" "RSS 10N MiB" "delta MiB" ratio goal
for row in "${models[@]}"; do
  IFS='|' read -r name model calib <<<"$row"
  small_kib=$(peak_kib "$model" "$calib" "$n")
  large_kib=$(peak_kib "$model" "$calib" "$big")
  awk -v name="$name" -v a="$small_kib" -v b="$large_kib" 'BEGIN {
    r = b / a
    printf "%-18s %12.1f %12.1f %12.1f %7.3f  %s\n", name, a / 1024, b / 1024, (b - a) / 1024, r, (r <= 1.2 ? "met" : "MISSED")
  }'
done
