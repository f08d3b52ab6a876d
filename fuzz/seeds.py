"""Writes the regression seeds of the fuzz corpus: the inputs of every
finding (fuzz/FINDINGS.md, issue 8) as byte strings that the targets'
generators (src/lib.rs, fuzz_targets/*.rs) decode into exactly that call.

Run from the repository root: python3 fuzz/seeds.py. Each seed is written
to fuzz/corpus/<target>/seed-<name>; `FLOSS_FUZZ_TRACE=1 cargo +nightly
fuzz run <target> <file>` prints the case it decodes to.

The encoding mirrors arbitrary 1.x's Unstructured, which reads bytes from
the front only (as these generators use it): int_in_range(lo..=hi) takes
as many bytes as hi - lo needs, big-endian, modulo the range; ratio(a, b)
is int_in_range(1..=b) <= a; choose is int_in_range over the indices;
fixed-size integers are little-endian; bool is a byte's low bit.
"""

import math
import os
import struct

F32, F64 = True, False
OPTIONS_SIZE_CHOICE = 31  # int_in_range(0..=31) > 1: sizeof(floss_options)


def int_in_range(lo, hi, value):
    assert lo <= value <= hi
    nbytes = ((hi - lo).bit_length() + 7) // 8
    return (value - lo).to_bytes(nbytes, "big")


def ratio(num, den, yes):
    return int_in_range(1, den, 1 if yes else den)


def choose(options, value):
    return int_in_range(0, len(options) - 1, options.index(value))


def u64(bits):
    return struct.pack("<Q", bits)


def bits_of(x, f32):
    return struct.unpack("<I", struct.pack("<f", x))[0] if f32 else struct.unpack("<Q", struct.pack("<d", x))[0]


# lib.rs edge(): index 21 reads any bit pattern.
EDGES = {"nan": 20, "-inf": 18, "inf": 19, "max": 16, "-max": 17, "tiny": 2, "0": 0, "-0": 1}


def edge(x, f32):
    if isinstance(x, str):
        return int_in_range(0, 21, EDGES[x])
    return int_in_range(0, 21, 21) + u64(bits_of(x, f32))


def real(x, f32):
    """lib.rs real(): always through edge() (any value, exactly)."""
    return ratio(7, 8, False) + edge(x, f32)


def param(usual, x, f32=False):
    if not isinstance(x, str) and x in usual:
        return ratio(3, 4, True) + choose(usual, x)
    return ratio(3, 4, False) + edge(x, f32)


def mostly(valid, value):
    return ratio(15, 16, True) + int_in_range(0, valid, value)


OWN_INPUT = int_in_range(0, 31, 31)
MISALIGNED_INPUT = int_in_range(0, 31, 2)
OWN_OUTPUT = int_in_range(0, 31, 31)
NULL_OPTIONAL = int_in_range(0, 31, 10)
MISALIGNED_OUTPUT = int_in_range(0, 31, 0)

LOG_BASES = [0.0, 0.0, 0.0, 2.0, 10.0, math.e, 0.5]
SMOOTHINGS = [0.0, 0.0, 0.0, 0.1, 0.5, 1.0]
FLOORS = [1e-6, 1e-6, 0.5, 1e-300]


def opts(input=0, reduction=0, smoothing=0.0, log_base=0.0):
    """Opts::arbitrary with a valid size, no ignore index, passed."""
    return (
        int_in_range(0, 31, OPTIONS_SIZE_CHOICE)
        + mostly(1, input)
        + mostly(3, reduction)
        + param(LOG_BASES, log_base)
        + int_in_range(0, 7, 0)  # FLOSS_NO_IGNORE
        + param(SMOOTHINGS, smoothing)
        + mostly(2, 0)  # hessian EXACT
        + param(FLOORS, 1e-6)
        + int_in_range(0, 31, 31)  # opts passed
    )


def settings(threads=1, room=64):
    return int_in_range(1, 8, threads) + bytes([room])


def small_len(n):
    """vector_len(): a length up to 12."""
    return int_in_range(0, 31, 6) + int_in_range(0, 12, n)


PROBS, LOGITS = 0, 1
NONE, SUM, MEAN, WEIGHTED_MEAN = 0, 1, 2, 3


def binary(f32, focal, pred, target, opts_bytes, pos_weight=1.0, alpha=-1.0, gamma=0.0,
           places=(OWN_OUTPUT, OWN_OUTPUT, OWN_OUTPUT), input_place=OWN_INPUT):
    n = len(pred)
    b = bytes([1 if f32 else 0])
    b += int_in_range(0, 1, 1 if focal else 0)
    b += small_len(n)
    b += opts_bytes
    b += b"".join(real(x, f32) for x in pred) + input_place
    b += b"".join(real(x, f32) for x in target) + OWN_INPUT
    b += settings()
    b += param([1.0, 1.0, 0.5, 2.0, 10.0], pos_weight, f32)
    b += param([-1.0, -1.0, 0.25, 0.0, 1.0, 0.75], alpha, f32)
    b += param([0.0, 0.25, 0.5, 1.0, 2.0, 2.0, 5.0], gamma, f32)
    b += u64(7)  # the variant's ignore_index
    return b + b"".join(places)


MULTICLASS = ["entropy", "cross_entropy", "kl", "sparse", "balanced", "focal"]


def multiclass(f32, function, pred, c, opts_bytes, target=None, labels=None, weights=None, gamma=0.0, variant=b""):
    n = len(pred) // c
    b = bytes([1 if f32 else 0])
    b += choose(MULTICLASS, function)
    b += int_in_range(0, 31, 8) + int_in_range(0, 6, n) + int_in_range(1, 5, c)
    b += opts_bytes
    b += b"".join(real(x, f32) for x in pred) + OWN_INPUT
    if function in ("cross_entropy", "kl"):
        b += b"".join(real(x, f32) for x in target) + OWN_INPUT
    if function in ("sparse", "balanced", "focal"):
        b += b"".join(int_in_range(0, 15, 2) + int_in_range(0, c - 1, y) for y in labels)
        b += b"".join(real(w, f32) for w in weights or [1.0] * c)
        b += int_in_range(0, 7, 7 if weights else 0)  # weights passed or NULL
        b += OWN_INPUT  # labels
    b += param([0.0, 0.25, 0.5, 1.0, 2.0, 2.0, 5.0], gamma, f32)
    b += settings()
    b += variant
    return b + OWN_OUTPUT + OWN_OUTPUT + OWN_OUTPUT


METHODS = {"auto": 0, "vasicek": 1, "van_es": 2, "ebrahimi": 3, "correa": 4}


def samples(f32, values, method, window, opts_bytes=None):
    n = len(values)
    b = bytes([1 if f32 else 0])
    b += int_in_range(0, 1, 0)  # Samples
    b += small_len(n)
    b += ratio(1, 4, False)  # not drawn from a pool
    b += b"".join(real(x, f32) for x in values)
    b += ratio(15, 16, True) + int_in_range(0, 4, METHODS[method])
    b += int_in_range(0, 9, 4) + int_in_range(1, n // 2 + 1, window)
    b += opts_bytes if opts_bytes is not None else opts()
    b += settings()
    b += OWN_INPUT
    b += param([0.01, 0.1, 0.5, 1.0], 0.1, f32)  # dx, unread
    # The variant: unread fields changed to invalid values.
    b += u64(5) + edge("nan", False) + struct.pack("<III", 7, 9, 99) + edge("nan", False) + u64(3)
    return b + OWN_OUTPUT


def class_weights(f32, labels, c, scheme, beta):
    b = bytes([1 if f32 else 0])
    b += small_len(len(labels))
    b += int_in_range(0, 31, 6) + int_in_range(1, 8, c)
    b += int_in_range(0, 3, 0)  # FLOSS_NO_IGNORE
    b += b"".join(int_in_range(0, 15, 2) + int_in_range(0, c - 1, y) for y in labels)
    b += ratio(15, 16, True) + int_in_range(0, 2, scheme)
    b += param([0.0, 0.9, 0.99, 0.999, 0.9999, 1.0 - 2.0 ** -53], beta)
    b += settings()
    b += OWN_INPUT
    return b + OWN_OUTPUT


SEEDS = {
    "binary": {
        # The Hessian was NaN for targets 1e-30 to 1e-16 (issue 8).
        "focal-hessian-nan": binary(F64, True, [5e-324], [1e-16], opts(PROBS, NONE), alpha=0.25, gamma=0.25),
        "focal-hessian-nan-1e-30": binary(F64, True, [5e-324], [1e-30], opts(PROBS, NONE), alpha=0.25, gamma=0.25),
        # Finding 2: the gradient was -Inf, the true one about -7e35.
        "focal-gradient-f32": binary(F32, True, [1e-45], [0.001], opts(PROBS, NONE), alpha=-1.0, gamma=2.0),
        # Finding 2: NaN instead of +Inf where p is 0 or 1.
        "focal-needed-zero": binary(F32, True, [0.0, 0.5], [0.001, 0.5], opts(PROBS, MEAN), gamma=16.0),
        # Finding 3: out 0, NaN derivatives with pos_weight = DBL_MAX.
        "bce-weighted-mean-max": binary(F64, False, [0.25, 0.5], [1.0, 1.0], opts(PROBS, WEIGHTED_MEAN), pos_weight="max"),
        "bce-weighted-mean-tiny": binary(F64, False, [0.25, 0.5], [1.0, 0.3], opts(PROBS, WEIGHTED_MEAN), pos_weight="tiny"),
        # alpha = -Inf means no alpha.
        "focal-alpha-minus-inf": binary(F64, True, [-3.0, 0.5], [1.0, 0.2], opts(LOGITS, NONE), alpha="-inf", gamma=2.0),
        # A zero loss is +0.0 (it was -0.0).
        "bce-zero-loss": binary(F64, False, [float("-inf")], [0.0], opts(LOGITS, NONE, log_base=0.5)),
        # -0.0 is 0.
        "bce-negative-zero": binary(F64, False, ["-0"], [0.0], opts(PROBS, NONE)),
        # An empty array accepts any pointer.
        "empty-misaligned": binary(F64, False, [], [], opts(PROBS, NONE), places=(MISALIGNED_OUTPUT, MISALIGNED_OUTPUT, MISALIGNED_OUTPUT), input_place=MISALIGNED_INPUT),
    },
    "multiclass": {
        # Finding 3: a subnormal divisor gave out +Inf, NaN derivatives.
        "sparse-weighted-mean-tiny": multiclass(F64, "sparse", [0.5, 0.5], 2, opts(PROBS, WEIGHTED_MEAN), labels=[0], weights=["tiny", 1.0]),
        "sparse-weighted-mean-tiny-logits": multiclass(F64, "sparse", [0.0, 0.0], 2, opts(LOGITS, WEIGHTED_MEAN), labels=[0], weights=["tiny", 1.0]),
        # Finding 3: an overflowing divisor gave out 0.
        "sparse-weighted-mean-max": multiclass(F64, "sparse", [0.3, 0.7, 0.6, 0.4], 2, opts(PROBS, WEIGHTED_MEAN), labels=[0, 0], weights=["max", 1.0]),
        "focal-weighted-mean-max-f32": multiclass(F32, "focal", [0.3, 0.7, 0.6, 0.4], 2, opts(PROBS, WEIGHTED_MEAN), labels=[0, 1], weights=["max", "max"], gamma=2.0),
        # The entropy Hessian at -0.0 was +Inf (-Inf at +0.0).
        "entropy-negative-zero": multiclass(F64, "entropy", ["-0", 1.0], 2, opts(PROBS, NONE), variant=u64(1) + edge(0.25, False)),
        # Entropy does not read label_smoothing: NaN is not validated.
        "entropy-unread-smoothing": multiclass(F64, "entropy", [0.25, 0.75], 2, opts(PROBS, NONE, smoothing="nan"), variant=u64(1) + edge(0.25, False)),
    },
    "differential_entropy": {
        # Subnormal spreads gave NaN (issue 8).
        "correa-subnormal": samples(F64, [0.0, 1e-310, 2e-310, 3e-310, 4e-310], "correa", 1),
        "correa-repeated-subnormal": samples(F64, [0.0, 5e-324, 0.0, 5e-324, 0.0], "correa", 1),
        # Finding 4: -Inf for samples spanning 1e-308 to 1e308.
        "correa-wide": samples(F64, [1.0, 1e308, 2.0, -1e308, 5.0], "correa", 1),
        "correa-zero-spread-huge": samples(F64, [2.220446049250313e-16, "max", 2.220446049250313e-16, -168.0, 3.0], "correa", 1),
        # Spacings wider than DBL_MAX gave +Inf.
        "vasicek-widest": samples(F64, ["-max", "max", 0.0, 1.0, 2.0], "vasicek", 1),
        "van-es-widest": samples(F64, ["-max", "max", 0.0, 1.0, 2.0], "van_es", 1),
    },
    "class_weights": {
        # beta is read by EFFECTIVE_NUMBER only: NaN is not validated.
        "unread-beta": class_weights(F64, [0, 1, 1, 2], 3, 0, "nan"),
        "effective-number": class_weights(F32, [0, 1, 1, 2, 2, 2], 3, 2, 0.999),
    },
}


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    for target, seeds in SEEDS.items():
        os.makedirs(os.path.join(root, target), exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(root, target, "seed-" + name), "wb") as f:
                f.write(data)
    print(sum(len(s) for s in SEEDS.values()), "seeds written under", root)


if __name__ == "__main__":
    main()
