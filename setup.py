"""Rust part of the Python package (metadata: pyproject.toml).

The floss library is built from this source tree by cargo, as a plain C
shared library (no Python extension module: `Binding.NoBinding`), and copied
into the package as `floss/_libfloss.abi3.so`; python/floss/__init__.py
loads it with ctypes. It uses no Python C API, so one wheel serves every
CPython >= 3.8 (abi3 tag). The version is Cargo.toml's.
"""

import os
import re

from setuptools import setup
from setuptools_rust import Binding, RustExtension

HERE = os.path.dirname(os.path.abspath(__file__))


def cargo_version():
    with open(os.path.join(HERE, "Cargo.toml"), encoding="utf-8") as f:
        for line in f:
            match = re.match(r'^version = "([0-9]+\.[0-9]+\.[0-9]+)"', line)
            if match:
                return match.group(1)
    raise RuntimeError("no version in Cargo.toml")


setup(
    version=cargo_version(),
    rust_extensions=[
        RustExtension(
            "floss._libfloss",
            path="Cargo.toml",
            binding=Binding.NoBinding,
            py_limited_api=True,
            args=["--locked"],
        )
    ],
    options={"bdist_wheel": {"py_limited_api": "cp38"}},
)
