# f32 sparse cross-entropy accuracy (issue 7, item 4): 2048 x 1000 logits
# N(0, 10^2), per-row relative error against a float64 reference computed
# from the same f32 inputs. Run from the repository root after `make lib`:
#   FLOSS_LIBRARY=target/release/libfloss.so python3 bench/accuracy.py
import numpy as np, sys
sys.path.insert(0, "python")
import floss
rng = np.random.default_rng(0)
n, c = 2048, 1000
z = (rng.standard_normal((n, c)) * 10).astype(np.float32)
y = rng.integers(0, c, n)
got = floss.sparse_cross_entropy(z, y, logits=True, reduction="none")
z64 = z.astype(np.float64)
m = z64.max(axis=1, keepdims=True)
lse = m[:, 0] + np.log(np.exp(z64 - m).sum(axis=1))
want = lse - z64[np.arange(n), y]
rel = np.abs(got.astype(np.float64) - want) / np.abs(want)
print("max rel %.3g, rows where label is top excluded: %.3g" % (rel.max(), rel[z.argmax(1) != y].max()))
