"""Prints every array of an .npz archive, one per line: name dtype shape values... (repr of
each element, which round-trips exactly). Used by test_npz to check that numpy reads what
mininn saves."""
import sys

import numpy as np

with np.load(sys.argv[1]) as z:
    for name in sorted(z.files):
        a = z[name]
        if a.dtype.kind == "S":
            print(name, "bytes", a.item().decode("utf-8"))
        else:
            print(name, a.dtype, "x".join(map(str, a.shape)), *[repr(float(v)) for v in a.ravel()])
