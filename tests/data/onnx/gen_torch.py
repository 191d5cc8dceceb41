"""Writes the ONNX corpus of tests/test_onnx.cpp and tests/test_onnx_images.cpp: small
multilayer perceptrons and CNNs exported by PyTorch 1.13's torch.onnx.export, and each one's
input and PyTorch's own output in torch_outputs.json. Run from this folder with Debian's python3-torch:

    /usr/bin/python3 gen_torch.py
"""
import json

import torch
from torch import nn

torch.manual_seed(11)
torch.set_num_threads(1)


def bn(width):
    b = nn.BatchNorm1d(width)
    with torch.no_grad():  # running statistics and an affine part that are not the identity
        b.running_mean.uniform_(-1, 1)
        b.running_var.uniform_(0.5, 2)
        b.weight.uniform_(0.5, 1.5)
        b.bias.uniform_(-0.5, 0.5)
    return b


models = {
    "mlp": (nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.Softmax(dim=1)), [5, 4]),
    "nobias": (nn.Sequential(nn.Linear(4, 3, bias=False)), [5, 4]),
    "leaky": (nn.Sequential(nn.Linear(4, 3), nn.LeakyReLU(0.1), nn.Linear(3, 2)), [5, 4]),
    "tanh_sigmoid": (nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 1), nn.Sigmoid()), [5, 4]),
    "dropout": (nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.3), nn.ReLU(), nn.Linear(3, 2)), [5, 4]),
    "batchnorm": (nn.Sequential(nn.Linear(4, 3), bn(3), nn.ReLU(), nn.Linear(3, 2), nn.Softmax(dim=-1)), [5, 4]),
    "batchnorm_first": (nn.Sequential(bn(4), nn.Linear(4, 2)), [5, 4]),
    "flatten": (nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.Sigmoid()), [5, 1, 2, 2]),
}
out = {}


def export(models):
    for name, (model, shape) in models.items():
        export_one(name, model, shape)


def export_one(name, model, shape, opsets=(13, 17)):
    model.eval()
    x = torch.randn(*shape)
    with torch.no_grad():
        y = model(x)
    for opset in opsets:
        for fold in (True, False):
            path = f"torch_{name}_op{opset}{'' if fold else '_nofold'}.onnx"
            torch.onnx.export(model, x, path, opset_version=opset, do_constant_folding=fold,
                              input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "n"}})
    out[name] = {"x_shape": shape, "x": x.flatten().tolist(), "y_shape": list(y.shape), "y": y.flatten().tolist(),
                 "opsets": list(opsets)}


export(models)
# Added later, and drawn after the others, so that their files stay as they were.
export({"log_softmax": (nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 3), nn.LogSoftmax(dim=1)), [5, 4])})


def bn2d(channels):
    b = nn.BatchNorm2d(channels)
    with torch.no_grad():
        b.running_mean.uniform_(-1, 1)
        b.running_var.uniform_(0.5, 2)
        b.weight.uniform_(0.5, 1.5)
        b.bias.uniform_(-0.5, 0.5)
    return b


class RowsToImage(nn.Module):
    """A Linear whose rows become a 2 x 3 x 3 image by x.reshape(-1, 2, 3, 3), then a Conv2d."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 18)
        self.conv = nn.Conv2d(2, 2, 2)
        self.pool = nn.MaxPool2d(2, stride=1)

    def forward(self, x):
        return torch.flatten(self.pool(self.conv(torch.relu(self.fc(x)).reshape(-1, 2, 3, 3))), 1)


# CNNs, drawn after the others. The first conv's BatchNorm2d folds into it; the second conv has
# no bias, and its BatchNorm2d gives it one.
export({
    "cnn": (nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), bn2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 6, 3, stride=2, padding=1, bias=False), bn2d(6), nn.ReLU(),
                          nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False), nn.Flatten(),
                          nn.Linear(54, 3), nn.LogSoftmax(dim=1)), [5, 1, 10, 10]),
    "cnn_avg_include_pad": (nn.Sequential(nn.Conv2d(2, 3, 3), nn.Tanh(), bn2d(3),
                                          nn.AvgPool2d(2, stride=2, padding=1), nn.Flatten(), nn.Linear(27, 2)),
                            [4, 2, 7, 6]),
    "cnn_rows_to_image": (RowsToImage(), [3, 6]),
})
# LayerNorm exports as LayerNormalization from opset 17 (as reductions before it).
export_one("cnn_layernorm", nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.LayerNorm([4, 5, 5]), nn.ReLU(),
                                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)),
           [3, 3, 5, 5], opsets=(17,))
with open("torch_outputs.json", "w") as f:
    json.dump(out, f, indent=0)
