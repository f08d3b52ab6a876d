"""Reference values for the channels-first layout (N, C, d1, ..., dk).

Run with a Python that has torch and kornia (not needed by the tests):

    /work/venv/bin/python tests/data/gen_channels_first.py

Writes tests/data/channels_first.json: for each case the inputs (float64,
flattened in PyTorch's C order), the floss function and options it maps to,
and PyTorch's / kornia's loss, gradient (autograd of the summed output) and
Hessian diagonal (autograd twice), all in float64.

Mappings checked here once, by construction:
- `F.cross_entropy(x, y, weight, ignore_index, reduction, label_smoothing)`
  on (N, C, H, W) logits: floss_sparse_cross_entropy with positions = H W;
  PyTorch's 'mean' is floss MEAN without weight, WEIGHTED_MEAN with weight.
- `F.cross_entropy(x, t)` with probability targets t of shape (N, C, H, W):
  floss_cross_entropy (dense); 'mean' divides by N H W (floss MEAN).
- `kornia.losses.focal_loss(x, y, alpha, gamma, reduction, weight,
  ignore_index)`: kornia weights class 0 by 1 - alpha and every other class
  by alpha (not one alpha for all), times weight[c]; so floss's per-class
  alpha is [(1 - alpha) w_0, alpha w_1, ..., alpha w_(C-1)]. kornia's 'none'
  is a (N, C, *) map holding the term at the target class: its sum over
  dim 1 is floss's per-position NONE output. kornia's 'mean' divides the sum
  by N C S (every class slice, ignored pixels included), i.e. floss SUM / (N C S).
"""

import json
import math
import pathlib

import kornia
import torch
import torch.nn.functional as F

torch.manual_seed(7)
IGNORE = -100


def hessian_diagonal(fn, x):
    """d^2 fn / dx_k^2 for every k: one second backward pass per entry."""
    x = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(fn(x).sum(), x, create_graph=True)
    flat = g.reshape(-1)
    hess = torch.empty_like(flat)
    for k in range(flat.numel()):
        (row,) = torch.autograd.grad(flat[k], x, retain_graph=True)
        hess[k] = row.reshape(-1)[k]
    return hess


def value_and_grad(fn, x):
    x = x.detach().clone().requires_grad_(True)
    out = fn(x)
    (g,) = torch.autograd.grad(out.sum(), x)
    return out.detach(), g


def flat(t):
    return [float(v) for v in t.reshape(-1)]


def labels_for(n, c, dims, ignore):
    y = torch.randint(0, c, (n, *dims))
    if ignore:
        y.reshape(-1)[::5] = IGNORE
    return y


cases = []
shapes = [(2, 5, (3, 4)), (3, 4, (2, 3, 2)), (1, 3, (7,))]
for n, c, dims in shapes:
    x = torch.randn(n, c, *dims, dtype=torch.float64) * 3
    for weighted, ignore, eps in [(False, False, 0.0), (True, True, 0.1), (False, True, 0.2)]:
        y = labels_for(n, c, dims, ignore)
        w = torch.rand(c, dtype=torch.float64) + 0.5 if weighted else None
        for reduction in ["none", "sum", "mean"]:
            def fn(z, reduction=reduction, y=y, w=w, eps=eps):
                return F.cross_entropy(
                    z, y, weight=w, ignore_index=IGNORE, reduction=reduction, label_smoothing=eps
                )
            out, grad = value_and_grad(fn, x)
            floss_reduction = reduction
            if reduction == "mean" and weighted:
                floss_reduction = "weighted_mean"
            cases.append({
                "name": f"torch F.cross_entropy {tuple(x.shape)} w={weighted} ignore={ignore} eps={eps} {reduction}",
                "function": "sparse_cross_entropy",
                "shape": list(x.shape),
                "pred": flat(x),
                "labels": [int(v) for v in y.reshape(-1)],
                "weight": flat(w) if w is not None else None,
                "ignore_index": IGNORE,
                "label_smoothing": eps,
                "reduction": floss_reduction,
                "out": flat(out),
                "grad": flat(grad),
                "hess": flat(hessian_diagonal(fn, x)),
            })
    # Dense probability targets.
    t = torch.softmax(torch.randn(n, c, *dims, dtype=torch.float64), dim=1)
    for eps in [0.0, 0.15]:
        for reduction in ["none", "sum", "mean"]:
            def fn(z, reduction=reduction, eps=eps):
                return F.cross_entropy(z, t, reduction=reduction, label_smoothing=eps)
            out, grad = value_and_grad(fn, x)
            cases.append({
                "name": f"torch F.cross_entropy dense {tuple(x.shape)} eps={eps} {reduction}",
                "function": "cross_entropy",
                "shape": list(x.shape),
                "pred": flat(x),
                "target": flat(t),
                "label_smoothing": eps,
                "reduction": reduction,
                "out": flat(out),
                "grad": flat(grad),
                "hess": flat(hessian_diagonal(fn, x)),
            })
    # kornia focal loss.
    for alpha, gamma, weighted, ignore in [(None, 2.0, False, False), (0.25, 2.0, True, True), (0.6, 0.5, False, True)]:
        y = labels_for(n, c, dims, ignore)
        w = torch.rand(c, dtype=torch.float64) + 0.5 if weighted else None
        floss_alpha = torch.ones(c, dtype=torch.float64)
        if alpha is not None:
            floss_alpha = torch.tensor([1 - alpha] + [alpha] * (c - 1), dtype=torch.float64)
        if w is not None:
            floss_alpha = floss_alpha * w
        for reduction in ["none", "sum", "mean"]:
            def fn(z, reduction=reduction, y=y, w=w, alpha=alpha, gamma=gamma):
                loss = kornia.losses.focal_loss(
                    z, y, alpha, gamma=gamma, reduction=reduction, weight=w, ignore_index=IGNORE
                )
                # 'none' is a (N, C, *) map with the term at the target class.
                return loss.sum(dim=1) if reduction == "none" else loss
            out, grad = value_and_grad(fn, x)
            cases.append({
                "name": f"kornia focal_loss {tuple(x.shape)} alpha={alpha} gamma={gamma} w={weighted} ignore={ignore} {reduction}",
                "function": "focal_loss",
                "shape": list(x.shape),
                "pred": flat(x),
                "labels": [int(v) for v in y.reshape(-1)],
                "alpha": flat(floss_alpha),
                "gamma": gamma,
                "ignore_index": IGNORE,
                "label_smoothing": 0.0,
                # kornia's mean divides the sum by N C S: floss SUM, divided in the test.
                "reduction": "sum" if reduction == "mean" else reduction,
                "divide_by": float(math.prod(x.shape)) if reduction == "mean" else 1.0,
                "out": flat(out),
                "grad": flat(grad),
                "hess": flat(hessian_diagonal(fn, x)),
            })

meta = {
    "generator": "tests/data/gen_channels_first.py",
    "torch": torch.__version__,
    "kornia": kornia.__version__,
    "dtype": "float64",
}
path = pathlib.Path(__file__).with_name("channels_first.json")
path.write_text(json.dumps({"meta": meta, "cases": cases}, indent=None, separators=(",", ":")) + "\n")
print(f"{len(cases)} cases -> {path}")
