"""Prints every array of an .npz archive, one per line: name dtype shape values... (repr of
each element, which round-trips exactly). Used by test_npz to check that numpy reads what
mininn saves."""
import json
import sys

import numpy as np

with np.load(sys.argv[1]) as z:
    for name in sorted(z.files):
        a = z[name]
        if a.dtype.kind == "S" and a.item().startswith(b"{"):
            # the architecture, read as JSON: each layer as op(key=value,...), then the scalar
            arch = json.loads(a.item().decode("utf-8"))
            layers = [l["op"] + ("(" + ",".join(f"{k}={v!r}" for k, v in l["attributes"].items()) + ")"
                                 if l["attributes"] else "") + "[" + ",".join(t["name"] for t in l["tensors"]) + "]"
                      for l in arch["layers"]]
            print(name, "json", arch["format"], arch["version"], *layers, arch["scalar"])
        elif a.dtype.kind == "S":
            print(name, "bytes", a.item().decode("utf-8"))
        else:
            print(name, a.dtype, "x".join(map(str, a.shape)), *[repr(float(v)) for v in a.ravel()])
