#!/usr/bin/python3
"""PyTorch 1.13 (Debian python3-torch) on the seed network mininn saved: one thread, no
autograd (torch.inference_mode), nn.Sequential(Linear, Sigmoid, Linear, Softmax) holding the
.npz's weights, timed eager and as TorchScript (scripted, frozen, passed through
optimize_for_inference, and warmed up on each batch size before it is timed). Each figure is
the median of 15 rounds, each round at least 20 ms of calls, as ort_infer.js times
onnxruntime; a batch-1 call takes a different image each time (the 256 that ort_infer.js
cycles through), batch 32 is test images 1000-1031. Prints key=value lines: torch_eager_b1_us,
torch_eager_b32_us, torch_script_b1_us, torch_script_b32_us, and torch_eager_max_diff /
torch_script_max_diff against OUT_DIR/mininn_b32.f32; exits 1 if either is above 1e-5.

PyTorch keeps samples as rows, as ONNX does: a batch is [n, 784], and Linear's weight [out, in]
is mininn's W as it is.

    torch_infer.py OUT_DIR   (OUT_DIR as ort_export.py left it)
"""
import json
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # read when the BLAS library loads, with torch

import numpy as np  # noqa: E402
import torch  # noqa: E402

TOLERANCE = 1e-5


def per_call_us(run):
    """Microseconds a call of run(c) takes: the median of 15 rounds of calls c = 0, 1, ...,
    each round at least 20 ms."""
    calls = 1
    while True:
        t0 = time.perf_counter_ns()
        for c in range(calls):
            run(c)
        if time.perf_counter_ns() - t0 > 2e7:
            break
        calls *= 2
    t = []
    for _ in range(15):
        t0 = time.perf_counter_ns()
        for c in range(calls):
            run(c)
        t.append((time.perf_counter_ns() - t0) / 1e3 / calls)
    return sorted(t)[7]


def main(out):
    torch.set_num_threads(1)
    npz = np.load(os.path.join(out, "seed.npz"))
    names = [layer["op"] for layer in json.loads(npz["architecture"].item())["layers"]]
    assert names == ["Dense", "Sigmoid", "Dense", "Softmax"], names
    model = torch.nn.Sequential(torch.nn.Linear(784, 64), torch.nn.Sigmoid(), torch.nn.Linear(64, 10),
                                torch.nn.Softmax(dim=1))
    with torch.no_grad():
        for i in (0, 2):
            model[i].weight.copy_(torch.from_numpy(npz[f"layer{i}.W"].astype(np.float32)))
            model[i].bias.copy_(torch.from_numpy(npz[f"layer{i}.b"].astype(np.float32)))
    model.eval()
    script = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(model)))

    images = np.fromfile(os.path.join(out, "images.f32"), np.float32).reshape(-1, 784)
    one = [torch.from_numpy(images[j * 37 % 3000:j * 37 % 3000 + 1].copy()) for j in range(256)]
    b32 = torch.from_numpy(images[1000:1032].copy())
    want = torch.from_numpy(np.fromfile(os.path.join(out, "mininn_b32.f32"), np.float32).reshape(10, 32).T.copy())

    results, worst = {}, {}
    with torch.inference_mode():
        for name, net in (("eager", model), ("script", script)):
            for _ in range(20):  # the profiling executor specialises a scripted graph in its first calls
                net(one[0])
                net(b32)
            results[f"torch_{name}_b1_us"] = per_call_us(lambda c, net=net: net(one[c % 256]))
            results[f"torch_{name}_b32_us"] = per_call_us(lambda c, net=net: net(b32))
            worst[name] = (net(b32) - want).abs().max().item()
    for k, v in results.items():
        print(f"{k}={v:.3f}")
    for name, v in worst.items():
        print(f"torch_{name}_max_diff={v:.2e}")
    print(f"torch_threads={torch.get_num_threads()}")
    bad = [name for name, v in worst.items() if not v <= TOLERANCE]
    if bad:
        print(f"torch_infer.py: {', '.join(bad)} differs from mininn by more than {TOLERANCE}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: torch_infer.py OUT_DIR")
    sys.exit(main(sys.argv[1]))
