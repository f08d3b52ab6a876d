"""Python binding of floss (ctypes; standard library only, numpy optional).

Entropy, cross-entropy, KL divergence, sparse / balanced cross-entropy, focal
loss and their binary forms, with gradients and Hessian diagonals, computed by
the floss C library (``libfloss``).

The library is, in this order: the one bundled in the package
(``floss/_libfloss*.so``, built by ``pip install``; the distribution is
``floss-losses``), else the ``FLOSS_LIBRARY`` environment variable (a path),
else ``target/release/libfloss.so`` of the repository this package sits in,
else ``ctypes.util.find_library('floss')``. ``floss.library_path`` tells which.

Inputs are numpy arrays (float32 calls the ``_f32`` functions, float64 the
``_f64`` ones; C-contiguous aligned arrays are passed without copying; other
dtypes are converted to float64), objects with a C-contiguous buffer of format
``'f'`` or ``'d'`` (e.g. ``array.array('f', ...)``, passed without copying when
writable), or nested Python sequences (converted to float64). Multi-class
predictions are ``n x c`` (the last axis is the class axis), or with
``class_axis=k`` any shape whose axis k holds the classes: ``class_axis=1`` is
PyTorch's channels-first ``(N, C, d1, ..., dk)`` with labels ``(N, d1, ...,
dk)``, computed in place by the library without a transposition (numpy arrays
or buffers; nested sequences only for the row layout). Binary predictions are
any shape, taken elementwise.

Every loss returns a float for a reduced result, or for ``reduction='none'`` a
numpy array (numpy input) or a list (other input) of per-row losses (with
``class_axis``, one per position: the prediction's shape without the class
axis; MEAN divides by the counted positions, as PyTorch does). With
``grad=True`` or ``hess=True`` it returns a tuple ``(out, grad, hess)`` whose
``grad`` and ``hess`` have the prediction's shape (``None`` where not asked for).
``grad`` and ``hess`` also take a numpy array to fill instead of ``True``
(C-contiguous, writable, the prediction's dtype and number of entries): it
is returned in the tuple, and a loop that calls a loss many times (a
boosting objective, a training step) reuses its memory instead of
allocating (for large outputs, fresh pages) on every call.

Any status other than FLOSS_OK raises :class:`FlossError` carrying the status
and the library's message (e.g. ``labels[1] = 7 is outside [0, 3)``).
"""

import ctypes
import ctypes.util
import operator
import os
import sys

try:  # optional
    import numpy as _np
except ImportError:  # pragma: no cover - exercised on machines without numpy
    _np = None

__all__ = [
    "FlossError", "entropy", "cross_entropy", "kl_divergence",
    "sparse_cross_entropy", "balanced_cross_entropy", "focal_loss",
    "class_weights", "binary_cross_entropy", "binary_focal_loss",
    "differential_entropy", "differential_entropy_density", "has_function",
    "version", "status_str", "set_num_threads", "get_num_threads",
    "library_path", "simd_level", "prior_log_odds", "prior_log_probs",
]

# Constants of include/floss.h.
OK = 0
ERR_NULL_POINTER, ERR_SHAPE, ERR_ARGUMENT, ERR_LABEL = 1, 2, 3, 4
ERR_PROBABILITY, ERR_NON_FINITE, ERR_OVERLAP, ERR_ALIGNMENT, ERR_PANIC = 5, 6, 7, 8, 9
NO_IGNORE = -(2 ** 63)
_INPUT = {"probs": 0, "logits": 1}
_REDUCTION = {"none": 0, "sum": 1, "mean": 2, "weighted_mean": 3}
_SCHEME = {"inverse_frequency": 0, "inverse_sqrt_frequency": 1, "effective_number": 2}
_METHOD = {"auto": 0, "vasicek": 1, "van_es": 2, "ebrahimi": 3, "correa": 4}
_HESSIAN = {"exact": 0, "floor": 1, "fisher": 2}


class FlossError(Exception):
    """A floss call returned a status other than FLOSS_OK.

    ``status`` is the number (``floss.ERR_LABEL``, ...), ``name`` the status'
    text from ``floss_status_str`` and ``message`` the thread's
    ``floss_last_error`` text, which names the argument, index and value.
    """

    def __init__(self, status, message):
        self.status = status
        self.message = message
        self.name = status_str(status)
        super().__init__(status, message)

    def __str__(self):
        return "%s (%s)" % (self.message or self.name, self.name.split(":")[0])


# ---------------------------------------------------------------- library --

def _bundled_library(here):
    """The library `pip install` put in the package (setup.py), or None."""
    for entry in sorted(os.listdir(here)):
        if entry.startswith("_libfloss.") and entry.endswith((".so", ".pyd", ".dylib")):
            return os.path.join(here, entry)
    return None


def _find_library():
    here = os.path.dirname(os.path.abspath(__file__))
    bundled = _bundled_library(here)
    if bundled:
        return bundled
    env = os.environ.get("FLOSS_LIBRARY")
    if env:
        return env
    names = {"darwin": "libfloss.dylib", "win32": "floss.dll"}
    name = names.get(sys.platform, "libfloss.so")
    for root in (os.path.join(here, "..", ".."), os.path.join(here, "..")):
        path = os.path.normpath(os.path.join(root, "target", "release", name))
        if os.path.exists(path):
            return path
    found = ctypes.util.find_library("floss")
    if found:
        return found
    raise ImportError(
        "floss: libfloss not found; install the package with `pip install "
        "<floss source>` (distribution floss-losses), set FLOSS_LIBRARY to the "
        "library's path, or build it with `make lib` (looked for a bundled "
        "_libfloss, target/release/%s beside the python/ folder and "
        "ctypes.util.find_library)" % name)


library_path = _find_library()
_lib = ctypes.CDLL(library_path)


class _Options(ctypes.Structure):
    """``floss_options`` of include/floss.h (0.2 layout, 64 bytes)."""
    _fields_ = [("size", ctypes.c_uint32), ("input", ctypes.c_uint32),
                ("reduction", ctypes.c_uint32), ("log_base", ctypes.c_double),
                ("ignore_index", ctypes.c_int64),
                ("label_smoothing", ctypes.c_double),
                ("hessian", ctypes.c_uint32), ("hessian_floor", ctypes.c_double),
                ("positions", ctypes.c_size_t)]


_lib.floss_options_init_sized.argtypes = [ctypes.POINTER(_Options), ctypes.c_size_t]
_lib.floss_options_init_sized.restype = ctypes.c_uint32


def _check_options_layout():
    # floss_options_init_sized refuses a size that is not one of the
    # library's layouts: a mismatch would corrupt memory.
    opts = _Options()
    if _lib.floss_options_init_sized(ctypes.byref(opts), ctypes.sizeof(_Options)) != 0:
        raise ImportError("floss: %s does not know a floss_options of %d bytes "
                          "(library and binding versions differ)"
                          % (library_path, ctypes.sizeof(_Options)))


_check_options_layout()
_lib.floss_status_str.argtypes = [ctypes.c_uint32]
_lib.floss_status_str.restype = ctypes.c_char_p
_lib.floss_last_error.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_lib.floss_last_error.restype = ctypes.c_size_t
_lib.floss_version.argtypes = []
_lib.floss_version.restype = ctypes.c_char_p
_lib.floss_set_num_threads.argtypes = [ctypes.c_size_t]
_lib.floss_set_num_threads.restype = None
_lib.floss_get_num_threads.argtypes = []
_lib.floss_get_num_threads.restype = ctypes.c_size_t
if hasattr(_lib, "floss_simd_level"):  # 0.2.0
    _lib.floss_simd_level.argtypes = []
    _lib.floss_simd_level.restype = ctypes.c_char_p

# Argument kinds of every computing function, in C order (API.md). "T" is the
# element type (float or double), "T*" a pointer to it, "L*" int64 labels.
_SIGNATURES = {
    "entropy": ("T*", "size", "size", "opts", "T*", "T*", "T*"),
    "cross_entropy": ("T*", "T*", "size", "size", "opts", "T*", "T*", "T*"),
    "kl_divergence": ("T*", "T*", "size", "size", "opts", "T*", "T*", "T*"),
    "sparse_cross_entropy": ("T*", "L*", "size", "size", "T*", "opts", "T*", "T*", "T*"),
    "balanced_cross_entropy": ("T*", "L*", "size", "size", "T*", "opts", "T*", "T*", "T*"),
    "focal_loss": ("T*", "L*", "size", "size", "T*", "T", "opts", "T*", "T*", "T*"),
    "class_weights": ("L*", "size", "size", "u32", "f64", "i64", "T*"),
    # Being added to the library; declared only where it exports them.
    "binary_cross_entropy": ("T*", "T*", "size", "T", "opts", "T*", "T*", "T*"),
    "binary_focal_loss": ("T*", "T*", "size", "T", "T", "opts", "T*", "T*", "T*"),
    "differential_entropy": ("T*", "size", "u32", "size", "opts", "T*"),
    "differential_entropy_density": ("T*", "size", "T", "opts", "T*"),
    "prior_log_odds": ("T*", "size", "T*", "T*"),
    "prior_log_probs": ("L*", "size", "size", "T*", "i64", "T*"),
}
_CTYPE = {"f32": ctypes.c_float, "f64": ctypes.c_double}
_NPTYPE = {"f32": "float32", "f64": "float64"}
_FUNCS = {}      # (name, dtype) -> declared ctypes function
_MISSING = []    # symbols this library does not export


def _argtype(kind, dtype):
    t = _CTYPE[dtype]
    return {"T*": ctypes.POINTER(t), "T": t, "L*": ctypes.POINTER(ctypes.c_int64),
            "size": ctypes.c_size_t, "u32": ctypes.c_uint32, "f64": ctypes.c_double,
            "i64": ctypes.c_int64, "opts": ctypes.POINTER(_Options)}[kind]


for _name, _kinds in _SIGNATURES.items():
    for _dt in ("f32", "f64"):
        _sym = "floss_%s_%s" % (_name, _dt)
        try:
            _f = getattr(_lib, _sym)
        except AttributeError:
            _MISSING.append(_sym)
            continue
        _f.argtypes = [_argtype(k, _dt) for k in _kinds]
        _f.restype = ctypes.c_uint32
        _FUNCS[_name, _dt] = _f


def has_function(name):
    """True if the loaded library exports ``floss_<name>_f32`` and ``_f64``."""
    return (name, "f32") in _FUNCS and (name, "f64") in _FUNCS


def _function(name, dtype):
    try:
        return _FUNCS[name, dtype]
    except KeyError:
        raise NotImplementedError(
            "floss_%s_%s is not exported by %s (library version %s); build a "
            "newer libfloss" % (name, dtype, library_path, version())) from None


def _last_error():
    length = _lib.floss_last_error(None, 0)
    buf = ctypes.create_string_buffer(length + 1)
    _lib.floss_last_error(buf, length + 1)
    return buf.value.decode("utf-8", "replace")


def _check(status):
    if status != OK:
        raise FlossError(status, _last_error())


def version():
    """The library's version string, "MAJOR.MINOR.PATCH"."""
    return _lib.floss_version().decode()


def status_str(status):
    """The name and meaning of a status number."""
    return _lib.floss_status_str(status).decode()


def set_num_threads(threads):
    """Sets the number of threads floss may use (0 means 1)."""
    _lib.floss_set_num_threads(threads)


def get_num_threads():
    """The thread count floss uses (FLOSS_NUM_THREADS, else 1, by default)."""
    return _lib.floss_get_num_threads()


def simd_level():
    """The instruction-set level floss computes with in this process:
    "avx512", "avx2" or "baseline" (capped by the FLOSS_SIMD environment
    variable, read once)."""
    return _lib.floss_simd_level().decode()


# ----------------------------------------------------------------- arrays --

def _is_numpy(x):
    return _np is not None and isinstance(x, _np.ndarray)


_FORMATS = ("f", "d", "q") + (("l",) if ctypes.sizeof(ctypes.c_long) == 8 else ())


def _buffer(x):
    """A C-contiguous memoryview of x if it has a float or int64 buffer."""
    if isinstance(x, (list, tuple, str, bytes)) or _is_numpy(x):
        return None
    try:
        view = memoryview(x)
    except TypeError:
        return None
    return view if view.c_contiguous and view.format in _FORMATS else None


def _dtype_of(x):
    """'f32' or 'f64', from the prediction's element type."""
    if _is_numpy(x):
        return "f32" if x.dtype == _np.float32 else "f64"
    view = _buffer(x)
    return "f32" if view is not None and view.format == "f" else "f64"


def _flatten(x):
    """Flat list and shape of a 1-D or 2-D nested sequence."""
    x = list(x)
    if x and not isinstance(x[0], (int, float)) and hasattr(x[0], "__len__"):
        rows = [list(r) for r in x]
        width = len(rows[0])
        if any(len(r) != width for r in rows):
            raise ValueError("floss: rows of unequal length")
        return [v for r in rows for v in r], (len(rows), width)
    return x, (len(x),)


class _Array:
    """An input prepared for C: pointer, flat size and shape (kept alive)."""

    def __init__(self, x, ctype, what):
        self.numpy = _is_numpy(x)
        is_int = ctype is ctypes.c_int64
        if self.numpy:
            if is_int and x.dtype.kind not in "iu":
                raise TypeError("floss: %s must be integers, not %s" % (what, x.dtype))
            self.keep = _np.require(x, "int64" if is_int else _np.dtype(ctype), ["C", "A"])
            self.ptr = self.keep.ctypes.data_as(ctypes.POINTER(ctype))
            self.shape, self.size = self.keep.shape, self.keep.size
            return
        view = _buffer(x)
        if view is not None and view.itemsize == ctypes.sizeof(ctype) and (
                (view.format in "fd") != is_int):
            self.size, self.shape = view.nbytes // view.itemsize, view.shape
            array_type = ctype * self.size
            self.keep = (array_type.from_buffer_copy(view) if view.readonly
                         else array_type.from_buffer(view))
        else:
            flat, self.shape = _flatten(view.tolist() if view is not None else x)
            if is_int:
                flat = [operator.index(v) for v in flat]
            self.size = len(flat)
            self.keep = (ctype * self.size)(*flat)
        self.ptr = ctypes.cast(self.keep, ctypes.POINTER(ctype))


class _Output:
    """A buffer for an output, returned as a numpy array or a list."""

    def __init__(self, size, dtype, numpy):
        if numpy:
            self.keep = _np.empty(size, dtype=_NPTYPE[dtype])
            self.ptr = self.keep.ctypes.data_as(ctypes.POINTER(_CTYPE[dtype]))
        else:
            self.keep = (_CTYPE[dtype] * size)()
            self.ptr = ctypes.cast(self.keep, ctypes.POINTER(_CTYPE[dtype]))
        self.numpy, self.given = numpy, False

    @classmethod
    def into(cls, array, size, dtype, what):
        """The caller's numpy array as the buffer (grad=/hess= given an array)."""
        if (array.dtype != _NPTYPE[dtype] or array.size != size
                or not array.flags.c_contiguous or not array.flags.writeable):
            raise ValueError("floss: %s: expected a writable C-contiguous %s array of %d "
                             "entries, got %s %s of %d entries%s"
                             % (what, _NPTYPE[dtype], size,
                                "contiguous" if array.flags.c_contiguous else "non-contiguous",
                                array.dtype, array.size,
                                "" if array.flags.writeable else " (read-only)"))
        self = cls.__new__(cls)
        self.keep, self.numpy, self.given = array, True, True
        self.ptr = array.ctypes.data_as(ctypes.POINTER(_CTYPE[dtype]))
        return self

    @classmethod
    def wanted(cls, request, size, dtype, numpy, what):
        """The buffer for grad= or hess=: None (False), a new one (True) or
        the caller's array."""
        if _is_numpy(request):
            return cls.into(request, size, dtype, what)
        return cls(size, dtype, numpy) if request else None

    def value(self, shape):
        if self.given:
            return self.keep
        if self.numpy:
            return self.keep.reshape(shape)
        return _nest(self.keep[:], tuple(shape))


def _nest(flat, shape):
    """A flat list as nested lists of `shape` (C order)."""
    if len(shape) <= 1:
        return flat
    step = len(flat) // shape[0] if shape[0] else 0
    return [_nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def _product(dims):
    total = 1
    for d in dims:
        total *= d
    return total


def _vector(x, dtype, length, name):
    """An optional per-class parameter vector (weight, alpha) of `length`."""
    if x is None:
        return None
    if isinstance(x, (int, float)):
        raise TypeError("floss: %s takes one weight per class (a sequence of c "
                        "numbers or None), not a scalar" % name)
    arr = _Array(x, _CTYPE[dtype], "class weights")
    if arr.size != length:
        raise ValueError("floss: %s: %d class weights given, expected c = %d"
                         % (name, arr.size, length))
    return arr


def _options(logits=False, reduction="mean", log_base=0.0, ignore_index=None,
             label_smoothing=0.0, hessian="exact", hessian_floor=1e-6, positions=0):
    opts = _Options()
    _lib.floss_options_init_sized(ctypes.byref(opts), ctypes.sizeof(opts))
    opts.hessian = _enum(_HESSIAN, hessian, "hessian")
    opts.hessian_floor = hessian_floor
    opts.input = _INPUT["logits" if logits else "probs"]
    opts.reduction = _enum(_REDUCTION, reduction, "reduction")
    opts.log_base = log_base
    opts.ignore_index = NO_IGNORE if ignore_index is None else ignore_index
    opts.label_smoothing = label_smoothing
    opts.positions = positions
    return opts


def _enum(table, value, what):
    if isinstance(value, int):
        return value  # passed through; the library validates it
    key = str(value).lower().replace(" ", "_").replace("-", "_")
    if key not in table:
        raise ValueError("floss: unknown %s %r; expected one of %s" % (what, value, ", ".join(table)))
    return table[key]


# ------------------------------------------------------------ generic call --

def _loss(name, pred, second=None, c=None, params=(), *, labels=False, binary=False,
          class_axis=None, grad=False, hess=False, **options):
    """Calls floss_<name>_T on a prediction array and an optional second array
    (target or labels). `params` are the function's own arguments between the
    shape and the options, scalars or per-class vectors (None = NULL).
    `class_axis` k: the classes are axis k of `pred`, the axes before it the
    batch N, those after it the S positions (the library's channels-first
    layout, opts.positions = S)."""
    dtype = _dtype_of(pred)
    func = _function(name, dtype)
    ctype = _CTYPE[dtype]
    p = _Array(pred, ctype, "pred")
    s = None if second is None else _Array(second, ctypes.c_int64 if labels else ctype,
                                           "labels" if labels else "target")
    batch, positions = None, 0
    if binary:
        n, rows = p.size, p.shape
    elif class_axis is not None:
        ndim = len(p.shape)
        axis = operator.index(class_axis)
        axis += ndim if axis < 0 else 0
        if not 0 <= axis < ndim:
            raise ValueError("floss: class_axis = %r is not an axis of pred (shape %r)"
                             % (class_axis, tuple(p.shape)))
        if c is not None and c != p.shape[axis]:
            raise ValueError("floss: c = %d but pred has %d classes on axis %d"
                             % (c, p.shape[axis], axis))
        c = p.shape[axis]
        batch, positions = _product(p.shape[:axis]), _product(p.shape[axis + 1:])
        if positions == 0:  # no position at all (0 would mean the row layout)
            batch = 0
        n = batch * positions
        rows = tuple(p.shape[:axis]) + tuple(p.shape[axis + 1:])
    else:
        if c is None:
            if labels and len(p.shape) == 1:
                c = p.size // s.size if s.size else 0
            else:
                c = p.shape[-1] if p.shape else 0
        n = p.size // c if c else 0
        if n * c != p.size:
            raise ValueError("floss: pred has %d entries, not a multiple of c = %d" % (p.size, c))
        rows = p.shape[:-1] if len(p.shape) > 1 and p.shape[-1] == c else (n,)
    if s is not None and s.size != (n if labels else p.size):
        raise ValueError("floss: %s has %d entries, expected %d"
                         % ("labels" if labels else "target", s.size, n if labels else p.size))
    opts = _options(positions=positions, **options)
    none = opts.reduction == _REDUCTION["none"]
    out = _Output(n if none else 1, dtype, p.numpy)
    g = _Output.wanted(grad, p.size, dtype, p.numpy, "grad")
    h = _Output.wanted(hess, p.size, dtype, p.numpy, "hess")
    kinds = _SIGNATURES[name]
    kinds = kinds[kinds.index("opts") - len(params):kinds.index("opts")]
    vectors = [_vector(v, dtype, c, name) if kind == "T*" else v
               for kind, v in zip(kinds, params)]
    args = [p.ptr] + ([s.ptr] if s is not None else [])
    args += [n if batch is None else batch] + ([] if binary else [c])
    args += [v.ptr if isinstance(v, _Array) else v for v in vectors]
    args += [ctypes.byref(opts), out.ptr, g and g.ptr, h and h.ptr]
    _check(func(*args))
    value = out.value(rows) if none else float(out.keep[0])
    if g is None and h is None:
        return value
    return (value, g and g.value(p.shape), h and h.value(p.shape))


def _doc(text):
    common = """
    logits: False = `pred` holds probabilities in [0, 1]; True = raw scores
        (softmax / sigmoid applied in log space).
    reduction: 'none' (one loss per row, per element for binary losses),
        'sum', 'mean' (default) or 'weighted_mean'.
    log_base: 0 = natural log, else the base of every logarithm (> 0, != 1).
    grad, hess: also return the gradient and Hessian diagonal with respect
        to `pred` (of what `out` holds); the result is then (out, grad, hess).
        A numpy array instead of True (C-contiguous, writable, pred's dtype
        and number of entries) receives the result and is returned as is.
    hessian: how `hess` is reported: 'exact' (default); 'floor', max(exact,
        hessian_floor) after the reduction's scaling; 'fisher', the expected
        (Fisher) Hessian, >= 0 by construction and equal to the exact one for
        convex losses: (sum_j c_j) p_k (1 - p_k) from logits, c_j the weight of
        -log p_j in the loss held fixed (floss.h, FLOSS_HESSIAN_FISHER).
    class_axis (multi-class functions): None = rows (classes on the last
        axis); k = the classes are axis k of `pred` (1: PyTorch's (N, C, ...),
        labels (N, ...)); 'none' then gives one loss per position.
    """

    def wrap(f):
        f.__doc__ = text + common
        return f
    return wrap


@_doc("Shannon entropy -sum p log p of each row of `pred` (n x c; `c` reshapes a flat array).")
def entropy(pred, c=None, *, logits=False, reduction="mean", log_base=0.0, class_axis=None,
            grad=False, hess=False, hessian="exact", hessian_floor=1e-6):
    return _loss("entropy", pred, None, c, class_axis=class_axis, grad=grad, hess=hess,
                 logits=logits, reduction=reduction, log_base=log_base,
                 hessian=hessian, hessian_floor=hessian_floor)


@_doc("Cross-entropy -sum t log p of each row against a dense target (both n x c).")
def cross_entropy(pred, target, c=None, *, logits=False, reduction="mean", log_base=0.0,
                  label_smoothing=0.0, class_axis=None, grad=False, hess=False, hessian="exact", hessian_floor=1e-6):
    return _loss("cross_entropy", pred, target, c, class_axis=class_axis, grad=grad, hess=hess,
                 logits=logits, reduction=reduction, log_base=log_base,
                 label_smoothing=label_smoothing,
                 hessian=hessian, hessian_floor=hessian_floor)


@_doc("KL divergence sum t log(t / p) of each row (gradients are the cross-entropy's).")
def kl_divergence(pred, target, c=None, *, logits=False, reduction="mean", log_base=0.0,
                  label_smoothing=0.0, class_axis=None, grad=False, hess=False, hessian="exact", hessian_floor=1e-6):
    return _loss("kl_divergence", pred, target, c, class_axis=class_axis, grad=grad, hess=hess,
                 logits=logits, reduction=reduction, log_base=log_base,
                 label_smoothing=label_smoothing,
                 hessian=hessian, hessian_floor=hessian_floor)


@_doc("Cross-entropy against integer labels (PyTorch F.cross_entropy); `weight`: c class weights.")
def sparse_cross_entropy(pred, labels, c=None, *, weight=None, ignore_index=None,
                         label_smoothing=0.0, logits=False, reduction="mean", log_base=0.0,
                         class_axis=None, grad=False, hess=False, hessian="exact", hessian_floor=1e-6):
    return _loss("sparse_cross_entropy", pred, labels, c, [weight], labels=True,
                 class_axis=class_axis, grad=grad, hess=hess,
                 logits=logits, reduction=reduction, log_base=log_base,
                 ignore_index=ignore_index, label_smoothing=label_smoothing,
                 hessian=hessian, hessian_floor=hessian_floor)


@_doc("Class-balanced cross-entropy -alpha_y log p_y; alpha None = inverse class frequency.")
def balanced_cross_entropy(pred, labels, c=None, *, alpha=None, ignore_index=None,
                           label_smoothing=0.0, logits=False, reduction="mean", log_base=0.0,
                           class_axis=None, grad=False, hess=False, hessian="exact", hessian_floor=1e-6):
    return _loss("balanced_cross_entropy", pred, labels, c, [alpha], labels=True,
                 class_axis=class_axis, grad=grad, hess=hess,
                 logits=logits, reduction=reduction, log_base=log_base,
                 ignore_index=ignore_index, label_smoothing=label_smoothing,
                 hessian=hessian, hessian_floor=hessian_floor)


@_doc("Focal loss -alpha_y (1 - p_y)^gamma log p_y (softmax); alpha None = all 1.")
def focal_loss(pred, labels, c=None, *, alpha=None, gamma=2.0, ignore_index=None,
               label_smoothing=0.0, logits=False, reduction="mean", log_base=0.0,
               class_axis=None, grad=False, hess=False, hessian="exact", hessian_floor=1e-6):
    return _loss("focal_loss", pred, labels, c, [alpha, float(gamma)], labels=True,
                 class_axis=class_axis, grad=grad, hess=hess,
                 logits=logits, reduction=reduction, log_base=log_base,
                 ignore_index=ignore_index, label_smoothing=label_smoothing,
                 hessian=hessian, hessian_floor=hessian_floor)


@_doc("Binary cross-entropy, elementwise (PyTorch binary_cross_entropy_with_logits).")
def binary_cross_entropy(pred, target, *, pos_weight=1.0, label_smoothing=0.0, logits=False,
                         reduction="mean", log_base=0.0, grad=False, hess=False,
                         hessian="exact", hessian_floor=1e-6):
    return _loss("binary_cross_entropy", pred, target, None, [float(pos_weight)], binary=True,
                 grad=grad, hess=hess, logits=logits, reduction=reduction, log_base=log_base,
                 label_smoothing=label_smoothing,
                 hessian=hessian, hessian_floor=hessian_floor)


@_doc("Binary focal loss alpha_t (1 - p_t)^gamma BCE (torchvision sigmoid_focal_loss); "
      "alpha None or < 0 = no alpha.")
def binary_focal_loss(pred, target, *, alpha=0.25, gamma=2.0, label_smoothing=0.0, logits=False,
                      reduction="mean", log_base=0.0, grad=False, hess=False,
                      hessian="exact", hessian_floor=1e-6):
    alpha = -1.0 if alpha is None else float(alpha)
    return _loss("binary_focal_loss", pred, target, None, [alpha, float(gamma)], binary=True,
                 grad=grad, hess=hess, logits=logits, reduction=reduction, log_base=log_base,
                 label_smoothing=label_smoothing,
                 hessian=hessian, hessian_floor=hessian_floor)


def class_weights(labels, c, scheme="inverse_frequency", beta=0.999, ignore_index=None,
                  dtype="float64"):
    """Per-class weights from label counts: scheme 'inverse_frequency'
    (scikit-learn 'balanced'), 'inverse_sqrt_frequency' or 'effective_number'
    (Cui et al. 2019, reads beta). Absent classes get 0. Returns c weights, a
    numpy array of `dtype` for numpy labels, else a list."""
    dt = {"float32": "f32", "float64": "f64"}[str(getattr(dtype, "__name__", dtype))]
    lab = _Array(labels, ctypes.c_int64, "labels")
    out = _Output(c, dt, lab.numpy)
    _check(_function("class_weights", dt)(
        lab.ptr, lab.size, c, _enum(_SCHEME, scheme, "scheme"), beta,
        NO_IGNORE if ignore_index is None else ignore_index, out.ptr))
    return out.value((c,))


def _scalar_call(name, data, what, params, log_base):
    dtype = _dtype_of(data)
    arr = _Array(data, _CTYPE[dtype], what)
    out = _Output(1, dtype, False)
    opts = _options(log_base=log_base)
    _check(_function(name, dtype)(arr.ptr, arr.size, *params, ctypes.byref(opts), out.ptr))
    return float(out.keep[0])


def differential_entropy(samples, method="auto", window=0, log_base=0.0):
    """Differential entropy estimated from samples (SciPy
    stats.differential_entropy): method 'auto', 'vasicek', 'van_es',
    'ebrahimi' or 'correa'; window 0 = floor(sqrt(n) + 0.5)."""
    return _scalar_call("differential_entropy", samples, "samples",
                        [_enum(_METHOD, method, "method"), window], log_base)


def differential_entropy_density(density, dx, log_base=0.0):
    """-integral f log f dx of a density sampled on a uniform grid of step dx."""
    return _scalar_call("differential_entropy_density", density, "density", [float(dx)], log_base)


def prior_log_odds(target, weight=None):
    """The prior init score of a binary model for gradient boosting
    (LightGBM ``init_score``, XGBoost ``base_margin``): ln(S1 / S0), S1 the
    (weighted) sum of the targets in [0, 1], S0 that of 1 - target. A class
    below half a sample counts as half a sample, so the score is finite.
    `weight`: None or one weight per target. Returns a float."""
    dtype = "f64" if weight is None and not _is_numpy(target) else _dtype_of(
        target if weight is None else weight)
    t = _Array(target, _CTYPE[dtype], "target")
    w = None if weight is None else _Array(weight, _CTYPE[dtype], "weight")
    if w is not None and w.size != t.size:
        raise ValueError("floss: weight has %d entries, expected %d" % (w.size, t.size))
    out = _Output(1, dtype, False)
    _check(_function("prior_log_odds", dtype)(t.ptr, t.size, w and w.ptr, out.ptr))
    return float(out.keep[0])


def prior_log_probs(labels, c, weight=None, ignore_index=None, dtype="float64"):
    """The prior init scores of a multi-class model for gradient boosting:
    ln(W_k / W), W_k the (weighted) count of class k among the labels other
    than `ignore_index` (a class below half a sample counts as half a
    sample, so every score is finite). Returns c scores, a numpy array of
    `dtype` for numpy labels, else a list."""
    dt = {"float32": "f32", "float64": "f64"}[str(getattr(dtype, "__name__", dtype))]
    lab = _Array(labels, ctypes.c_int64, "labels")
    w = None if weight is None else _Array(weight, _CTYPE[dt], "weight")
    if w is not None and w.size != lab.size:
        raise ValueError("floss: weight has %d entries, expected %d" % (w.size, lab.size))
    out = _Output(c, dt, lab.numpy)
    _check(_function("prior_log_probs", dt)(
        lab.ptr, lab.size, c, w and w.ptr, NO_IGNORE if ignore_index is None else ignore_index,
        out.ptr))
    return out.value((c,))
