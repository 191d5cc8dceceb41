"""Writes layers.txt, the PyTorch oracle of tests/test_conv2d.cpp, test_pooling.cpp and
test_normalization.cpp: for each case, a layer's input, parameters and an upstream gradient g,
and PyTorch 1.13's output y and the gradients of sum(y * g) with respect to the input and every
parameter, in float32 and in float64. A BatchNorm case has three training steps (x0, y0, dx0,
...), the running statistics after them, and a step in evaluation mode (xe, ye, dxe, ...).
Run from this folder with Debian's python3-torch:

    /usr/bin/python3 gen_layers.py

Tensors are written in mininn's layout, samples as columns: a batch x [n, C, H, W] is the
matrix [C*H*W, n], and a convolution's weight [Cout, C, k, k] the matrix [Cout, C*k*k]. Each
value is written as the exact decimal of the double that holds it.
"""
import torch
from torch import nn

torch.manual_seed(138)
torch.set_num_threads(1)

# name: (kind, channels, height, width, samples, settings)
CASES = {
    "conv_3x3": ("conv", 1, 6, 6, 4, dict(out=3, k=3, s=1, p=0, bias=True)),
    "conv_stride2_pad1_nonsquare": ("conv", 2, 7, 5, 3, dict(out=4, k=3, s=2, p=1, bias=True)),
    "conv_pad2_nobias": ("conv", 3, 5, 5, 2, dict(out=2, k=2, s=1, p=2, bias=False)),
    "conv_5x5_pad2": ("conv", 1, 12, 10, 2, dict(out=6, k=5, s=1, p=2, bias=True)),
    "conv_stride3_many": ("conv", 5, 9, 8, 3, dict(out=7, k=4, s=3, p=1, bias=True)),
    "maxpool_2": ("maxpool", 2, 6, 8, 3, dict(k=2, s=2, p=0)),
    "maxpool_3_stride2_pad1": ("maxpool", 3, 7, 5, 2, dict(k=3, s=2, p=1)),
    "maxpool_overlap": ("maxpool", 1, 5, 6, 4, dict(k=3, s=1, p=0)),
    "avgpool_2": ("avgpool", 2, 6, 8, 3, dict(k=2, s=2, p=0, include=True)),
    "avgpool_3_pad1_counted": ("avgpool", 3, 7, 5, 2, dict(k=3, s=2, p=1, include=True)),
    "avgpool_3_pad1_not_counted": ("avgpool", 3, 7, 5, 2, dict(k=3, s=2, p=1, include=False)),
    # height 0: BatchNorm1d over features, LayerNorm over a plain sample
    "batchnorm1d": ("batchnorm", 5, 0, 0, 7, dict(eps=1e-5, momentum=0.1)),
    "batchnorm1d_two_samples": ("batchnorm", 3, 0, 0, 2, dict(eps=1e-3, momentum=0.3)),
    "batchnorm2d": ("batchnorm", 3, 4, 5, 3, dict(eps=1e-5, momentum=0.1)),
    "batchnorm2d_one_channel_nonsquare": ("batchnorm", 1, 3, 7, 2, dict(eps=1e-3, momentum=0.25)),
    "layernorm_features": ("layernorm", 6, 0, 0, 4, dict(eps=1e-5)),
    "layernorm_image": ("layernorm", 2, 3, 4, 3, dict(eps=1e-3)),
}


def columns(t):
    """[n, ...] -> [prod(...), n]"""
    return t.reshape(t.shape[0], -1).T


def write(out, name, t):
    t = t.detach().double()
    rows, cols = (t.shape[0], t.shape[1]) if t.dim() == 2 else (t.shape[0], 1)
    values = " ".join(repr(v) for v in t.reshape(-1).tolist())
    out.write(f"tensor {name} {rows} {cols} {values}\n")


def header(out, name, dtype, attrs):
    out.write(f"case {name} {'float' if dtype == torch.float32 else 'double'}\n")
    for key, value in attrs.items():
        out.write(f"attr {key} {value!r}\n")


def step(out, layer, shape, dtype, suffix):
    """One forward and backward pass of layer on a fresh input, written with suffix."""
    x = (torch.randn(*shape, dtype=dtype) * 2 + 0.5).requires_grad_()
    y = layer(x)
    g = torch.randn_like(y)
    layer.zero_grad()
    (y * g).sum().backward()
    for key, t in (("x", x), ("g", g), ("y", y), ("dx", x.grad)):
        write(out, key + suffix, columns(t))
    write(out, "dgamma" + suffix, layer.weight.grad.reshape(-1))
    write(out, "dbeta" + suffix, layer.bias.grad.reshape(-1))


def run_norm(out, name, kind, c, h, w, n, st, dtype):
    shape = (n, c, h, w) if h else (n, c)
    if kind == "batchnorm":
        layer = (nn.BatchNorm2d if h else nn.BatchNorm1d)(c, eps=st["eps"], momentum=st["momentum"])
    else:
        layer = nn.LayerNorm(shape[1:], eps=st["eps"])
    layer = layer.to(dtype)
    with torch.no_grad():
        layer.weight.normal_(1, 0.5)
        layer.bias.normal_(0, 0.5)
    header(out, name, dtype, dict(channels=c, height=h or 1, width=w or 1, **st))
    write(out, "gamma", layer.weight.reshape(-1))
    write(out, "beta", layer.bias.reshape(-1))
    if kind == "layernorm":
        step(out, layer, shape, dtype, "")
    else:
        for s in range(3):
            step(out, layer, shape, dtype, str(s))
        write(out, "running_mean", layer.running_mean)
        write(out, "running_var", layer.running_var)
        layer.eval()
        step(out, layer, shape, dtype, "e")
    out.write("end\n")


def run(out, name, kind, c, h, w, n, st, dtype):
    if kind in ("batchnorm", "layernorm"):
        return run_norm(out, name, kind, c, h, w, n, st, dtype)
    x = torch.randn(n, c, h, w, dtype=dtype, requires_grad=True)
    if kind == "conv":
        layer = nn.Conv2d(c, st["out"], st["k"], stride=st["s"], padding=st["p"], bias=st["bias"]).to(dtype)
    elif kind == "maxpool":
        layer = nn.MaxPool2d(st["k"], stride=st["s"], padding=st["p"])
    else:
        layer = nn.AvgPool2d(st["k"], stride=st["s"], padding=st["p"], count_include_pad=st["include"])
    y = layer(x)
    g = torch.randn_like(y)
    (y * g).sum().backward()
    header(out, name, dtype, {k: int(v) for k, v in dict(channels=c, height=h, width=w, **st).items()})
    write(out, "x", columns(x))
    write(out, "g", columns(g))
    write(out, "y", columns(y))
    write(out, "dx", columns(x.grad))
    if kind == "conv":
        write(out, "W", layer.weight.reshape(layer.weight.shape[0], -1))
        write(out, "dW", layer.weight.grad.reshape(layer.weight.shape[0], -1))
        if layer.bias is not None:
            write(out, "b", layer.bias)
            write(out, "db", layer.bias.grad)
    out.write("end\n")


with open("layers.txt", "w") as out:
    out.write(f"# written by gen_layers.py with PyTorch {torch.__version__}\n")
    for name, (kind, c, h, w, n, st) in CASES.items():
        for dtype in (torch.float32, torch.float64):
            run(out, name, kind, c, h, w, n, st, dtype)
