"""The channels-first layout through the Python binding (``class_axis``):
PyTorch / kornia reference values (``tests/data/channels_first.json``, made by
``tests/data/gen_channels_first.py``; torch is not needed here), per-position
outputs in the input's shape, and agreement with the row layout on the
transposed array. Needs numpy (skipped without it)."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import floss  # noqa: E402

try:
    import numpy as np
except ImportError:  # pragma: no cover
    np = None

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
REFERENCE = os.path.join(ROOT, "tests", "data", "channels_first.json")


def rows_of(x, axis=1):
    """(N, C, ...) -> (N * prod(...), C): the classes last, positions in order."""
    moved = np.moveaxis(x, axis, -1)
    return np.ascontiguousarray(moved.reshape(-1, x.shape[axis]))


@unittest.skipIf(np is None, "numpy is not installed")
class ChannelsFirst(unittest.TestCase):
    def setUp(self):
        rng = np.random.default_rng(3)
        self.x = rng.normal(0.0, 3.0, (2, 4, 3, 5))
        self.y = rng.integers(0, 4, (2, 3, 5))
        self.y[0, 1, 2] = -100
        self.t = rng.dirichlet(np.ones(4), (2, 3, 5)).transpose(0, 3, 1, 2).copy()

    def test_matches_pytorch_and_kornia(self):
        with open(REFERENCE) as f:
            cases = json.load(f)["cases"]
        self.assertGreater(len(cases), 60)
        for case in cases:
            shape = tuple(case["shape"])
            x = np.array(case["pred"]).reshape(shape)
            red = case["reduction"]
            common = dict(logits=True, reduction=red, class_axis=1, grad=True, hess=True,
                          label_smoothing=case["label_smoothing"])
            if case["function"] == "cross_entropy":
                t = np.array(case["target"]).reshape(shape)
                out, g, h = floss.cross_entropy(x, t, **common)
            else:
                y = np.array(case["labels"], dtype=np.int64).reshape(shape[:1] + shape[2:])
                common["ignore_index"] = case["ignore_index"]
                if case["function"] == "sparse_cross_entropy":
                    w = None if case["weight"] is None else np.array(case["weight"])
                    out, g, h = floss.sparse_cross_entropy(x, y, weight=w, **common)
                else:
                    out, g, h = floss.focal_loss(x, y, alpha=np.array(case["alpha"]),
                                                 gamma=case["gamma"], **common)
            scale = 1.0 / case.get("divide_by", 1.0)
            want = np.array(case["out"])
            if red == "none":
                self.assertEqual(out.shape, shape[:1] + shape[2:], case["name"])
            np.testing.assert_allclose(np.ravel(out) * scale, want, rtol=1e-9, atol=1e-13,
                                       err_msg=case["name"])
            self.assertEqual(g.shape, shape)
            np.testing.assert_allclose(g.ravel() * scale, case["grad"], rtol=1e-9, atol=1e-13,
                                       err_msg=case["name"])
            np.testing.assert_allclose(h.ravel() * scale, case["hess"], rtol=1e-9, atol=1e-13,
                                       err_msg=case["name"])

    def test_equals_the_row_layout_on_the_transposed_array(self):
        x, y, t = self.x, self.y, self.t
        for dtype in (np.float32, np.float64):
            xs, ts = x.astype(dtype), t.astype(dtype)
            calls = [
                (floss.entropy, (), dict(logits=True)),
                (floss.cross_entropy, (ts,), dict(logits=True, label_smoothing=0.1)),
                (floss.kl_divergence, (ts,), dict(logits=True)),
                (floss.sparse_cross_entropy, (y,), dict(logits=True, ignore_index=-100)),
                (floss.balanced_cross_entropy, (y,), dict(logits=True, ignore_index=-100)),
                (floss.focal_loss, (y,), dict(logits=True, ignore_index=-100, gamma=2.0,
                                              alpha=[0.25, 0.75, 0.75, 0.75])),
            ]
            for fn, extra, kw in calls:
                # One-hot logits (labels, no smoothing): the row call takes the
                # row-major engine, channels-first the class-major one; the same
                # values to rounding (64 ulps of the array's largest entry).
                # Every other call: the same bits.
                one_hot = bool(extra) and extra[0] is y
                same = (lambda a, b, name: np.testing.assert_allclose(
                    a, b, rtol=0, atol=64 * np.finfo(dtype).eps * max(np.max(np.abs(b)), 1.0),
                    err_msg=name)) if one_hot else np.testing.assert_array_equal
                for red in ("none", "sum", "mean"):
                    out, g, h = fn(xs, *extra, class_axis=1, reduction=red, grad=True,
                                   hess=True, **kw)
                    row_extra = tuple(rows_of(e) if e.ndim == 4 else e.ravel() for e in extra)
                    r_out, r_g, r_h = fn(rows_of(xs), *row_extra, reduction=red, grad=True,
                                         hess=True, **kw)
                    name = "%s %s %s" % (fn.__name__, dtype.__name__, red)
                    if red == "none":
                        self.assertEqual(out.shape, (2, 3, 5), name)
                        same(out.ravel(), r_out, name)
                    else:
                        same(np.array([out]), np.array([r_out]), name)
                    self.assertEqual(g.dtype, dtype)
                    same(g, np.moveaxis(r_g.reshape(2, 3, 5, 4), -1, 1), name)
                    same(h, np.moveaxis(r_h.reshape(2, 3, 5, 4), -1, 1), name)

    def test_mean_divides_by_the_counted_positions(self):
        total = floss.sparse_cross_entropy(self.x, self.y, logits=True, class_axis=1,
                                           ignore_index=-100, reduction="sum")
        mean = floss.sparse_cross_entropy(self.x, self.y, logits=True, class_axis=1,
                                          ignore_index=-100)
        self.assertAlmostEqual(mean, total / (2 * 3 * 5 - 1), places=12)

    def test_other_class_axes_and_empty_shapes(self):
        # Classes on axis 2 of (2, 3, 4, 5): N = 6, S = 5.
        x = np.moveaxis(self.x, 1, 2).copy()
        y = self.y
        out = floss.sparse_cross_entropy(x, y.reshape(2, 3, 5), logits=True, class_axis=2,
                                         ignore_index=-100, reduction="none")
        want = floss.sparse_cross_entropy(self.x, y, logits=True, class_axis=1,
                                          ignore_index=-100, reduction="none")
        np.testing.assert_array_equal(out, want)
        # class_axis = -1 is the row layout.
        rows = rows_of(self.x)
        np.testing.assert_array_equal(
            floss.entropy(rows.reshape(2, 3, 5, 4), logits=True, class_axis=-1, reduction="none"),
            floss.entropy(rows, logits=True, reduction="none").reshape(2, 3, 5))
        empty = floss.entropy(np.zeros((2, 4, 0)), logits=True, class_axis=1, reduction="none")
        self.assertEqual(empty.shape, (2, 0))

    def test_bad_shapes_raise(self):
        with self.assertRaises(ValueError):
            floss.entropy(self.x, class_axis=4)
        with self.assertRaises(ValueError):
            floss.sparse_cross_entropy(self.x, self.y[:, :2], logits=True, class_axis=1)
        with self.assertRaises(ValueError):
            floss.sparse_cross_entropy(self.x, self.y, c=3, logits=True, class_axis=1)
        y = self.y.copy()
        y[1, 2, 4] = 9
        with self.assertRaises(floss.FlossError) as e:
            floss.sparse_cross_entropy(self.x, y, logits=True, class_axis=1, ignore_index=-100)
        self.assertEqual(e.exception.status, floss.ERR_LABEL)
        self.assertIn("labels[29] = 9", str(e.exception))


if __name__ == "__main__":
    unittest.main()
