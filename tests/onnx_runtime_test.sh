#!/usr/bin/env bash
# mininn -> ONNX -> onnxruntime 1.30: every architecture's export (and, given the MNIST
# directory, a network trained on MNIST) run by onnxruntime against mininn's outputs
# (tests/onnx_runtime_check.js). onnxruntime comes from npm (onnxruntime-node, installed with
# --ignore-scripts: its Linux library ships in the package, its install script wants a host that
# cannot be reached), into CACHE_DIR once; node and npm from Debian when missing.
# Usage: onnx_runtime_test.sh <onnx_runtime_export> <tests-dir> <cache-dir> [mnist-dir]
set -euo pipefail
exe=$1 tests=$(realpath "$2") cache=$3 mnist=${4:-}
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
mkdir -p "$cache"
if [ ! -f "$cache/node_modules/onnxruntime-node/package.json" ]; then
  (cd "$cache" && npm install --ignore-scripts --no-audit --no-fund onnxruntime-node@1.30.0 >/dev/null) ||
    { echo "FAIL: npm could not install onnxruntime-node@1.30.0 into $cache"; exit 1; }
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$exe" "$work" ${mnist:+"$mnist"}
NODE_PATH="$cache/node_modules" node "$tests/onnx_runtime_check.js" "$work"
