"""Tests of the Python binding; standard library only (numpy tests run when
numpy is installed and are skipped otherwise).

Run from python/: FLOSS_LIBRARY=/abs/path/libfloss.so python3 -m unittest discover -s tests -v
"""

import array
import json
import math
import os
import re
import subprocess
import sys
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import floss  # noqa: E402

try:
    import numpy as np
except ImportError:
    np = None

VECTORS = os.path.join(HERE, "..", "..", "tests", "data", "vectors.json")
with open(VECTORS) as f:
    REFERENCE = json.load(f)

# Tolerances of the Rust reference tests (tests/common/mod.rs): (rel, abs).
F64_VALUE, F64_DERIV = (1e-9, 1e-12), (1e-7, 1e-10)
F32_VALUE, F32_DERIV = (2e-3, 1e-5), (5e-3, 1e-4)


def number(v):
    """A JSON number or one of "inf", "-inf", "nan"."""
    return float(v)


def flat(x):
    """Flattens a float, list, nested list or numpy array to a list of floats."""
    if isinstance(x, float):
        return [x]
    if np is not None and isinstance(x, np.ndarray):
        return [float(v) for v in x.ravel()]
    out = []
    for v in x:
        out.extend(flat(v) if isinstance(v, (list, tuple)) else [float(v)])
    return out


def assert_close(test, got, want, tol, what):
    got, want = flat(got), [number(w) for w in want]
    test.assertEqual(len(got), len(want), what + ": length")
    rel, abs_ = tol
    for k, (g, w) in enumerate(zip(got, want)):
        if math.isnan(w):
            ok = math.isnan(g)
        elif math.isinf(w):
            ok = g == w
        else:
            ok = abs(g - w) <= abs_ + rel * abs(w)
        test.assertTrue(ok, "%s[%d]: got %r, want %r" % (what, k, g, w))


def softmax_rows(logits, c):
    rows = []
    for i in range(0, len(logits), c):
        row = logits[i:i + c]
        m = max(row)
        e = [math.exp(v - m) for v in row]
        s = sum(e)
        rows.append([v / s for v in e])
    return rows


def run_case(case, conv, f32):
    """Calls the binding on a reference case; `conv` turns a list of floats
    into the input type under test (list, array.array('f'), numpy array)."""
    fn, inp = case["fn"], case["inputs"]
    o, p = case.get("options") or {}, case.get("params") or {}
    ignore = o.get("ignore_index", REFERENCE["no_ignore"])
    kw = dict(logits=o.get("input") == "logits", reduction=o.get("reduction", "mean"),
              log_base=o.get("log_base", 0.0), grad=True, hess=True)
    smooth = dict(label_smoothing=o.get("label_smoothing", 0.0))
    lab = dict(ignore_index=None if ignore == REFERENCE["no_ignore"] else ignore, **smooth)
    vec = (lambda v: None if v is None else conv([number(x) for x in v]))
    if fn in ("class_weights", "differential_entropy", "differential_entropy_density"):
        if fn == "class_weights":
            dtype = "float32" if f32 else "float64"
            ig = p["ignore_index"]
            return floss.class_weights(inp["labels"], inp["c"], p["scheme"], p["beta"],
                                       None if ig == REFERENCE["no_ignore"] else ig, dtype=dtype)
        if fn == "differential_entropy":
            return floss.differential_entropy(conv(inp["samples"]), p["method"], p["window"],
                                              o.get("log_base", 0.0))
        return floss.differential_entropy_density(conv(inp["density"]), p["dx"],
                                                  o.get("log_base", 0.0))
    pred = conv([number(x) for x in inp["pred"]])
    c = inp.get("c")
    if fn == "entropy":
        return floss.entropy(pred, c, **kw)
    if fn in ("cross_entropy", "kl_divergence"):
        return getattr(floss, fn)(pred, conv(inp["target"]), c, **kw, **smooth)
    if fn == "sparse_cross_entropy":
        return floss.sparse_cross_entropy(pred, inp["labels"], c, weight=vec(p.get("weight")),
                                          **kw, **lab)
    if fn == "balanced_cross_entropy":
        return floss.balanced_cross_entropy(pred, inp["labels"], c, alpha=vec(p.get("alpha")),
                                            **kw, **lab)
    if fn == "focal_loss":
        return floss.focal_loss(pred, inp["labels"], c, alpha=vec(p.get("alpha")),
                                gamma=number(p["gamma"]), **kw, **lab)
    if fn == "binary_cross_entropy":
        return floss.binary_cross_entropy(pred, conv(inp["target"]),
                                          pos_weight=number(p["pos_weight"]), **kw, **smooth)
    if fn == "binary_focal_loss":
        return floss.binary_focal_loss(pred, conv(inp["target"]), alpha=number(p["alpha"]),
                                       gamma=number(p["gamma"]), **kw, **smooth)
    raise AssertionError("unknown fn " + fn)


def check_reference(test, name, conv, f32):
    cases = [(i, c) for i, c in enumerate(REFERENCE["cases"]) if c["fn"] == name]
    test.assertTrue(cases, "no reference case for " + name)
    if not floss.has_function(name):
        test.skipTest("library %s lacks floss_%s" % (floss.version(), name))
    for index, case in cases:
        what = "case %d (%s, %s)" % (index, name, "f32" if f32 else "f64")
        value_tol, deriv_tol = (F32_VALUE, F32_DERIV) if f32 else (F64_VALUE, F64_DERIV)
        if "tolerance" in case:
            value_tol = (max(value_tol[0], case["tolerance"]), value_tol[1])
        with test.subTest(case=index):
            result = run_case(case, conv, f32)
            exp = case["expected"]
            if isinstance(result, tuple):
                out, grad, hess = result
                assert_close(test, out, exp["out"], value_tol, what + " out")
                assert_close(test, grad, exp["grad"], deriv_tol, what + " grad")
                assert_close(test, hess, exp["hess"], deriv_tol, what + " hess")
            else:
                assert_close(test, result, exp["out"], value_tol, what + " out")


FUNCTIONS = sorted({c["fn"] for c in REFERENCE["cases"]})


class ReferenceVectors(unittest.TestCase):
    """Every case of tests/data/vectors.json (PyTorch / SciPy references)."""


def _add_reference_tests():
    to_f32 = (lambda v: array.array("f", v))
    for name in FUNCTIONS:
        setattr(ReferenceVectors, "test_%s_f64_lists" % name,
                lambda self, n=name: check_reference(self, n, list, False))
        setattr(ReferenceVectors, "test_%s_f32_array" % name,
                lambda self, n=name: check_reference(self, n, to_f32, True))
        for dtype, f32 in (("float64", False), ("float32", True)):
            def numpy_test(self, n=name, dtype=dtype, f32=f32):
                if np is None:
                    self.skipTest("numpy is not installed")
                check_reference(self, n, lambda v: np.array(v, dtype=dtype), f32)
            setattr(ReferenceVectors, "test_%s_numpy_%s" % (name, dtype), numpy_test)


_add_reference_tests()


class Errors(unittest.TestCase):
    def test_label_out_of_range_names_index_and_value(self):
        with self.assertRaises(floss.FlossError) as cm:
            floss.sparse_cross_entropy([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], [2, 7], logits=True)
        e = cm.exception
        self.assertEqual(e.status, floss.ERR_LABEL)
        self.assertIn("labels[1] = 7", e.message)
        self.assertIn("[0, 3)", e.message)
        self.assertTrue(e.name.startswith("FLOSS_ERR_LABEL"))
        self.assertIn("labels[1] = 7", str(e))

    def test_message_is_not_truncated(self):
        # The message buffer is sized from floss_last_error's return value.
        with self.assertRaises(floss.FlossError) as cm:
            floss.focal_loss([[0.2, 0.8]] * 3, [0, 1, -12345678901234], gamma=2.0)
        self.assertIn("labels[2] = -12345678901234 is outside [0, 2)", cm.exception.message)
        self.assertEqual(len(cm.exception.message), floss._lib.floss_last_error(None, 0))

    def test_status_codes(self):
        cases = [
            (floss.ERR_PROBABILITY, lambda: floss.entropy([[0.5, 1.5]])),
            (floss.ERR_ARGUMENT, lambda: floss.entropy([[0.5, 0.5]], log_base=1.0)),
            (floss.ERR_ARGUMENT, lambda: floss.focal_loss([[0.5, 0.5]], [0], gamma=-1.0)),
            (floss.ERR_ARGUMENT, lambda: floss.sparse_cross_entropy(
                [[0.5, 0.5]], [0], label_smoothing=2.0)),
            (floss.ERR_NON_FINITE, lambda: floss.entropy([[0.0, float("nan")]], logits=True)),
            (floss.ERR_SHAPE, lambda: floss.entropy([], 0)),
            (floss.ERR_ARGUMENT, lambda: floss.class_weights([0, 1], 2, "effective_number",
                                                             beta=1.5)),
        ]
        for status, call in cases:
            with self.subTest(status=status):
                with self.assertRaises(floss.FlossError) as cm:
                    call()
                self.assertEqual(cm.exception.status, status, str(cm.exception))
                self.assertTrue(cm.exception.message.startswith("floss_"), cm.exception.message)

    def test_python_side_checks(self):
        with self.assertRaises(ValueError):
            floss.entropy([[0.5, 0.5]], reduction="average")
        with self.assertRaises(ValueError):  # target of the wrong size
            floss.cross_entropy([[0.5, 0.5]], [[1.0, 0.0, 0.0]])
        with self.assertRaises(ValueError):  # labels of the wrong count
            floss.sparse_cross_entropy([[0.5, 0.5], [0.5, 0.5]], [0, 1, 1], 2)
        with self.assertRaises(ValueError):  # weight of the wrong length
            floss.sparse_cross_entropy([[0.5, 0.5]], [0], weight=[1.0, 2.0, 3.0])
        with self.assertRaises(TypeError):  # a scalar alpha for a multi-class loss
            floss.focal_loss([[0.5, 0.5]], [0], alpha=0.25)
        with self.assertRaises(TypeError):  # float labels
            floss.sparse_cross_entropy([[0.5, 0.5]], [0.5])
        with self.assertRaises(ValueError):
            floss.entropy([0.5, 0.25, 0.25], 2)  # 3 entries, c = 2
        with self.assertRaises(ValueError):
            floss.class_weights([0], 2, "inverse")

    def test_missing_functions_raise_only_when_called(self):
        for name in ("binary_cross_entropy", "binary_focal_loss", "differential_entropy",
                     "differential_entropy_density"):
            if floss.has_function(name):
                continue
            with self.assertRaises(NotImplementedError) as cm:
                getattr(floss, name)([0.5], [1.0]) if name.startswith("binary") else \
                    getattr(floss, name)([0.5, 0.6], *(() if name == "differential_entropy" else (0.1,)))
            self.assertIn("floss_%s_f64" % name, str(cm.exception))

    def test_status_str(self):
        self.assertTrue(floss.status_str(floss.OK).startswith("FLOSS_OK"))
        self.assertTrue(floss.status_str(12345))


class Semantics(unittest.TestCase):
    LOGITS = [0.3, -1.2, 2.0, 0.0, 0.5, 0.5, -3.0, 1.0, 4.0]
    LABELS = [2, 0, 1]

    def test_logits_and_probabilities_agree(self):
        probs = softmax_rows(self.LOGITS, 3)
        logits = [self.LOGITS[i:i + 3] for i in range(0, 9, 3)]
        target = [[0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [0.1, 0.1, 0.8]]
        pairs = [
            (floss.entropy, (), {}),
            (floss.cross_entropy, (target,), {}),
            (floss.kl_divergence, (target,), {}),
            (floss.sparse_cross_entropy, (self.LABELS,), {"weight": [1.0, 2.0, 0.5]}),
            (floss.balanced_cross_entropy, (self.LABELS,), {}),
            (floss.focal_loss, (self.LABELS,), {"gamma": 2.0, "alpha": [0.25, 0.5, 1.0]}),
            (floss.focal_loss, (self.LABELS,), {"gamma": 0.5, "label_smoothing": 0.1}),
        ]
        for fn, args, kw in pairs:
            for reduction in ("none", "sum", "mean", "weighted_mean"):
                with self.subTest(fn=fn.__name__, reduction=reduction):
                    a = fn(logits, *args, logits=True, reduction=reduction, **kw)
                    b = fn(probs, *args, logits=False, reduction=reduction, **kw)
                    assert_close(self, a, flat(b) if isinstance(b, list) else [b],
                                 (1e-12, 1e-14), fn.__name__)

    def test_f32_and_f64_agree(self):
        f64 = floss.focal_loss(self.LOGITS, self.LABELS, 3, logits=True, reduction="none",
                               grad=True, hess=True)
        f32 = floss.focal_loss(array.array("f", self.LOGITS), self.LABELS, 3, logits=True,
                               reduction="none", grad=True, hess=True)
        for a, b, what in zip(f32, f64, ("out", "grad", "hess")):
            assert_close(self, a, b, (1e-5, 1e-6), what)
        # The f32 path rounds to float: the outputs are floats of single precision.
        self.assertNotEqual(flat(f32[0]), flat(f64[0]))
        self.assertEqual(array.array("f", flat(f32[0])).tolist(), flat(f32[0]))

    def test_result_types_and_shapes(self):
        rows = [self.LOGITS[i:i + 3] for i in range(0, 9, 3)]
        self.assertIsInstance(floss.entropy(rows, logits=True), float)
        out = floss.entropy(rows, logits=True, reduction="none")
        self.assertIsInstance(out, list)
        self.assertEqual(len(out), 3)
        out, grad, hess = floss.entropy(rows, logits=True, grad=True)
        self.assertIsInstance(out, float)
        self.assertEqual([len(r) for r in grad], [3, 3, 3])
        self.assertIsNone(hess)
        out, grad, hess = floss.entropy(self.LOGITS, 3, logits=True, hess=True)
        self.assertIsNone(grad)
        self.assertEqual(len(hess), 9)  # flat input, flat Hessian
        # A flat prediction with labels: c is inferred from the label count.
        self.assertEqual(floss.sparse_cross_entropy(self.LOGITS, self.LABELS, logits=True),
                         floss.sparse_cross_entropy(rows, self.LABELS, logits=True))
        # A single 1-D distribution is one row.
        self.assertAlmostEqual(floss.entropy([0.5, 0.5], log_base=2.0), 1.0, places=15)

    def test_ignore_index(self):
        rows = [self.LOGITS[i:i + 3] for i in range(0, 9, 3)]
        out, grad, _ = floss.sparse_cross_entropy(rows, [2, -100, 1], logits=True,
                                                  ignore_index=-100, reduction="none",
                                                  grad=True)
        self.assertEqual(out[1], 0.0)
        self.assertEqual(grad[1], [0.0, 0.0, 0.0])
        mean = floss.sparse_cross_entropy(rows, [2, -100, 1], logits=True, ignore_index=-100)
        self.assertAlmostEqual(mean, (out[0] + out[2]) / 2, places=14)

    def test_class_weights_and_balanced_default(self):
        labels = [0, 0, 0, 1, 2, 2]
        w = floss.class_weights(labels, 4)
        self.assertEqual(w, [0.5, 1.5, 0.75, 0.0])  # 6 / (4 n_k)
        probs = [[0.7, 0.2, 0.1, 0.0]] * 6
        self.assertAlmostEqual(floss.balanced_cross_entropy(probs, labels),
                               floss.balanced_cross_entropy(probs, labels, alpha=w), places=14)
        self.assertIsInstance(floss.class_weights(labels, 4, dtype="float32")[0], float)

    def test_version(self):
        v = floss.version()
        self.assertRegex(v, r"^\d+\.\d+\.\d+$")
        with open(os.path.join(HERE, "..", "..", "Cargo.toml")) as f:
            cargo = re.search(r'^version\s*=\s*"([^"]+)"', f.read(), re.M).group(1)
        self.assertEqual(v, cargo)

    def test_threads(self):
        before = floss.get_num_threads()
        try:
            floss.set_num_threads(2)
            self.assertEqual(floss.get_num_threads(), 2)
            a = floss.entropy(self.LOGITS, 3, logits=True)
            floss.set_num_threads(1)
            self.assertEqual(a, floss.entropy(self.LOGITS, 3, logits=True))
        finally:
            floss.set_num_threads(before)

    def test_errors_are_per_thread(self):
        messages = {}

        def worker(label):
            try:
                floss.sparse_cross_entropy([[0.5, 0.5]] * 4, [0, 1, 1, label])
            except floss.FlossError as e:
                messages[label] = e.message

        threads = [threading.Thread(target=worker, args=(v,)) for v in (5, 6, 7, 8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for v in (5, 6, 7, 8):
            self.assertIn("labels[3] = %d" % v, messages[v])

    def test_without_numpy(self):
        code = ("import sys; sys.modules['numpy'] = None; sys.path.insert(0, %r); import floss; "
                "assert floss._np is None; "
                "r = floss.entropy([[0.5, 0.5]], reduction='none', grad=True); "
                "assert isinstance(r[0], list) and abs(r[0][0] - 0.6931471805599453) < 1e-15, r; "
                "print('ok')" % os.path.dirname(HERE))
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        self.assertEqual(done.stdout.strip(), "ok", done.stderr)


@unittest.skipIf(np is None, "numpy is not installed")
class Numpy(unittest.TestCase):
    def setUp(self):
        rng = np.random.default_rng(7)
        self.logits = rng.standard_normal((5, 4))
        self.labels = rng.integers(0, 4, 5)

    def test_dtype_selects_the_function_and_outputs_follow(self):
        for dtype in (np.float32, np.float64):
            x = self.logits.astype(dtype)
            out, grad, hess = floss.focal_loss(x, self.labels, logits=True, reduction="none",
                                               grad=True, hess=True)
            for a, shape in ((out, (5,)), (grad, (5, 4)), (hess, (5, 4))):
                self.assertIsInstance(a, np.ndarray)
                self.assertEqual(a.dtype, dtype)
                self.assertEqual(a.shape, shape)
        # Other dtypes are computed in float64.
        out = floss.entropy(np.array([[1, 0], [0, 1]], dtype=np.int32), reduction="none")
        self.assertEqual(out.dtype, np.float64)

    def test_contiguous_inputs_are_not_copied(self):
        x = np.ascontiguousarray(self.logits)
        self.assertIs(floss._Array(x, floss._CTYPE["f64"], "pred").keep, x)
        labels = self.labels.astype(np.int64)
        self.assertIs(floss._Array(labels, floss.ctypes.c_int64, "labels").keep, labels)

    def test_non_contiguous_and_other_label_types(self):
        xt = np.asfortranarray(self.logits)
        want = floss.sparse_cross_entropy(self.logits, self.labels, logits=True)
        self.assertEqual(floss.sparse_cross_entropy(xt, self.labels.astype(np.int32),
                                                    logits=True), want)
        self.assertEqual(floss.sparse_cross_entropy(self.logits.T.copy().T, list(self.labels),
                                                    logits=True), want)
        with self.assertRaises(TypeError):
            floss.sparse_cross_entropy(self.logits, self.labels.astype(np.float64))

    def test_matches_a_numpy_formula(self):
        p = np.exp(self.logits - self.logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        pt = p[np.arange(5), self.labels]
        want = -(1 - pt) ** 2 * np.log(pt)
        got = floss.focal_loss(self.logits, self.labels, logits=True, gamma=2.0,
                               reduction="none")
        np.testing.assert_allclose(got, want, rtol=1e-12)
        grad = floss.sparse_cross_entropy(self.logits, self.labels, logits=True,
                                          reduction="sum", grad=True)[1]
        np.testing.assert_allclose(grad, p - np.eye(4)[self.labels], rtol=1e-12, atol=1e-15)

    def test_leading_axes_keep_their_shape(self):
        x = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
        out, grad, _ = floss.entropy(x, logits=True, reduction="none", grad=True)
        self.assertEqual(out.shape, (2, 3))
        self.assertEqual(grad.shape, (2, 3, 4))
        np.testing.assert_array_equal(out.ravel(), floss.entropy(x.reshape(6, 4), logits=True,
                                                                 reduction="none"))

    def test_binary_shapes(self):
        if not floss.has_function("binary_cross_entropy"):
            self.skipTest("library lacks floss_binary_cross_entropy")
        x = np.random.default_rng(2).standard_normal((3, 5))
        t = (x > 0).astype(np.float64)
        out, grad, hess = floss.binary_cross_entropy(x, t, logits=True, reduction="none",
                                                     grad=True, hess=True)
        self.assertEqual(out.shape, (3, 5))
        self.assertEqual(grad.shape, (3, 5))
        p = 1 / (1 + np.exp(-x))
        np.testing.assert_allclose(out, -(t * np.log(p) + (1 - t) * np.log(1 - p)), rtol=1e-10)
        np.testing.assert_allclose(grad, p - t, rtol=1e-10, atol=1e-15)

    def test_outputs_into_given_arrays(self):
        for dtype in (np.float32, np.float64):
            x = self.logits.astype(dtype)
            want = floss.focal_loss(x, self.labels, logits=True, grad=True, hess=True)
            grad, hess = np.full(x.shape, np.nan, dtype), np.full(20, np.nan, dtype)
            got = floss.focal_loss(x, self.labels, logits=True, grad=grad, hess=hess)
            self.assertEqual(got[0], want[0])
            self.assertIs(got[1], grad)
            self.assertIs(got[2], hess)  # any shape with pred's number of entries
            np.testing.assert_array_equal(grad, want[1])
            np.testing.assert_array_equal(hess.reshape(5, 4), want[2])
            # Only the hess array given: grad is not computed.
            hess[:] = np.nan
            _, no_grad, same = floss.focal_loss(x, self.labels, logits=True, hess=hess)
            self.assertIsNone(no_grad)
            self.assertIs(same, hess)
            np.testing.assert_array_equal(hess.reshape(5, 4), want[2])
            binary = np.empty(20, dtype)
            t = (x.ravel() > 0).astype(dtype)
            self.assertIs(floss.binary_focal_loss(x.ravel(), t, logits=True, grad=binary)[1],
                          binary)
        x = self.logits
        other = np.float32 if x.dtype == np.float64 else np.float64
        for bad in (np.empty(19), np.empty(20, other), np.empty((4, 5)).T,
                    np.empty(0)):
            with self.assertRaises(ValueError):
                floss.focal_loss(x, self.labels, logits=True, grad=bad)
        read_only = np.empty(20)
        read_only.flags.writeable = False
        with self.assertRaises(ValueError):
            floss.focal_loss(x, self.labels, logits=True, grad=read_only)
        # The prediction itself as its gradient: the library refuses the overlap.
        with self.assertRaises(floss.FlossError):
            floss.focal_loss(x, self.labels, logits=True, grad=x)


if __name__ == "__main__":
    unittest.main()
