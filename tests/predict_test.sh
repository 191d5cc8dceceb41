#!/usr/bin/env bash
# The predict tool on the format-2 corpus (tests/data/format2): its classes and outputs against
# numpy's forward pass of the same saved weights, IDX images, --output written whole, and every
# bad input answered by one line naming the file, line and column, a non-zero exit and no file.
# Usage: predict_test.sh <predict-binary> <tests-dir> [onnx]   (onnx: the tool reads .onnx files)
set -uo pipefail
exe=$(realpath "$1") corpus=$(realpath "$2")/data/format2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cls=$corpus/format2_float_sigmoid.npz reg=$corpus/format2_double_leaky_dropout.npz
printf '1,0,0.5,2\n-1,0,0,3\n0.25,-2,1,0\n' >"$work/four.csv"
printf '1,2,3\n-4,0.5,6\n' >"$work/three.csv"
# numpy's forward pass: Dense 4-3 sigmoid, Dense 3-2 softmax; Dense 3-5 leaky 0.2, Dense 5-1.
/usr/bin/python3 - "$cls" "$reg" "$work" <<'PY' || fail "numpy oracle"
import sys
import numpy as np
cls, reg, work = sys.argv[1:4]
c, r = np.load(cls), np.load(reg)
x = np.loadtxt(f"{work}/four.csv", delimiter=",", ndmin=2).astype(np.float32)
h = 1 / (1 + np.exp(-(x @ c["layer0.W"].T + c["layer0.b"])))
z = h @ c["layer2.W"].T + c["layer2.b"]
p = np.exp(z - z.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
np.savetxt(f"{work}/want_proba", p, delimiter=",")
np.savetxt(f"{work}/want_class", p.argmax(1), fmt="%d")
x = np.loadtxt(f"{work}/three.csv", delimiter=",", ndmin=2)
a = x @ r["layer0.W"].T + r["layer0.b"]
a = np.where(a > 0, a, 0.2 * a)
np.savetxt(f"{work}/want_values", a @ r["layer3.W"].T + r["layer3.b"], delimiter=",")
np.savez(f"{work}/plain.npz", w=np.zeros(3))
PY
close() { # close FILE WANT TOL: the same numbers to a relative TOL
  /usr/bin/python3 -c "import numpy as np, sys; a, b = np.loadtxt('$1', delimiter=',', ndmin=2), np.loadtxt('$2', delimiter=',', ndmin=2); sys.exit(0 if a.shape == b.shape and np.allclose(a, b, rtol=$3, atol=0) else 1)"
}
"$exe" "$cls" "$work/four.csv" >"$work/class" 2>"$work/err" || fail "classes: $(cat "$work/err")"
diff -q "$work/class" "$work/want_class" >/dev/null || fail "classes $(tr '\n' ' ' <"$work/class")"
"$exe" "$cls" "$work/four.csv" --proba --output "$work/proba" || fail "--proba --output"
close "$work/proba" "$work/want_proba" 1e-5 || fail "probabilities: $(cat "$work/proba")"
"$exe" "$reg" "$work/three.csv" --proba >"$work/values" || fail "values"
close "$work/values" "$work/want_values" 1e-12 || fail "regression values: $(cat "$work/values")"
printf 'a,b,c,d\n1,0,0.5,2\n' >"$work/header.csv"
[ "$("$exe" "$cls" "$work/header.csv" --skip-lines 1)" = "$(head -1 "$work/class")" ] || fail "--skip-lines"
# IDX images: 2 images of 2x2 pixels, bytes times 1/255 as the model's four inputs.
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x02\xff\x00\x80\xff\x00\x00\x00\xff' \
  >"$work/images-ubyte"
[ "$("$exe" "$cls" "$work/images-ubyte" | wc -l)" = 2 ] || fail "IDX images"

expect_error() { # expect_error MESSAGE ARGS...: exit 1, MESSAGE on stderr, no output file
  local want=$1
  shift
  rm -f "$work/out"
  if "$exe" "$@" --output "$work/out" 2>"$work/err"; then fail "accepted: $*"; fi
  grep -qF -- "$want" "$work/err" || fail "for $*: expected '$want', got '$(cat "$work/err")'"
  [ "$(wc -l <"$work/err")" = 1 ] || fail "more than one line: $(cat "$work/err")"
  [ ! -e "$work/out" ] || fail "an output file after an error: $*"
}
printf '1,0,0.5,2\n1,2,3\n' >"$work/ragged.csv"
printf '1,0,x,2\n' >"$work/word.csv"
: >"$work/empty.csv"
expect_error "ragged.csv:2: 3 columns, but line 1 has 4" "$cls" "$work/ragged.csv"
expect_error "word.csv:1, column 3: 'x' is not a number" "$cls" "$work/word.csv"
expect_error "empty.csv: no data rows" "$cls" "$work/empty.csv"
expect_error "three.csv: 3 features a sample, but the model" "$cls" "$work/three.csv"
expect_error "pass --proba to write them" "$reg" "$work/three.csv"
expect_error "missing.npz: cannot open the archive" "$work/missing.npz" "$work/four.csv"
expect_error "plain.npz: no 'architecture' entry" "$work/plain.npz" "$work/four.csv"
if [ "${3:-}" = onnx ]; then # a build with mininn::onnx: PyTorch's exports, against PyTorch's outputs
  onnx=$(realpath "$2")/data/onnx
  /usr/bin/python3 - "$onnx/torch_outputs.json" "$work" <<'PY' || fail "PyTorch's outputs"
import json, sys
import numpy as np
d = json.load(open(sys.argv[1]))
for k in ("mlp", "tanh_sigmoid", "batchnorm_first"):
    x, y = np.array(d[k]["x"]).reshape(d[k]["x_shape"]), np.array(d[k]["y"]).reshape(d[k]["y_shape"])
    np.savetxt(f"{sys.argv[2]}/{k}_x.csv", x.reshape(len(x), -1), delimiter=",", fmt="%.9g")
    np.savetxt(f"{sys.argv[2]}/{k}_y", y, delimiter=",")
PY
  for k in mlp tanh_sigmoid batchnorm_first; do
    "$exe" "$onnx/torch_${k}_op17.onnx" "$work/${k}_x.csv" --proba >"$work/${k}_got" 2>"$work/err" ||
      fail "ONNX $k: $(cat "$work/err")"
    close "$work/${k}_got" "$work/${k}_y" 1e-5 || fail "ONNX $k: $(cat "$work/${k}_got")"
  done
  # a saved mininn model through to_onnx (beside predict), and back: the same classes and outputs
  to_onnx=$(dirname "$exe")/to_onnx
  "$to_onnx" "$cls" "$work/cls.onnx" >/dev/null || fail "to_onnx"
  [ "$("$exe" "$work/cls.onnx" "$work/four.csv")" = "$(cat "$work/class")" ] || fail "to_onnx: other classes"
  "$exe" "$work/cls.onnx" "$work/four.csv" --proba >"$work/onnx_proba" || fail "to_onnx: --proba"
  close "$work/onnx_proba" "$work/want_proba" 1e-5 || fail "to_onnx: probabilities $(cat "$work/onnx_proba")"
  if "$to_onnx" "$work/missing.npz" "$work/never.onnx" 2>"$work/err" || [ -e "$work/never.onnx" ]; then
    fail "to_onnx accepted a missing model"
  fi
  grep -q "^to_onnx: .*missing.npz" "$work/err" || fail "to_onnx: $(cat "$work/err")"
  printf 'not protobuf' >"$work/bad.onnx"
  expect_error "bad.onnx: not an ONNX model" "$work/bad.onnx" "$work/four.csv"
  echo "predict: PyTorch's ONNX exports give PyTorch's outputs; to_onnx's export gives the model's"
fi
echo "predict: classes, probabilities, regression values, IDX and every refusal as expected"
