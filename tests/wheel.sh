#!/bin/sh
# make test-wheel: the Python package as users get it. `pip wheel` builds
# the floss-losses wheel from this tree (cargo compiles the library, which
# the wheel bundles); a fresh venv installs it with numpy; from a folder
# outside the repository, with FLOSS_LIBRARY unset, `import floss` must load
# the bundled library, and the binding's tests (python/tests/test_floss.py:
# reference vectors, statuses, numpy) run against the installed package.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
PYTHON=${PYTHON:-python3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/floss-wheel.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test-wheel FAILED: $*"; exit 1; }

echo "== test-wheel: pip wheel ."
# Its own cargo target directory: cargo rustc --crate-type cdylib would
# otherwise invalidate target/release for `make lib` (and back).
CARGO_TARGET_DIR="$root/target/python-wheel" "$PYTHON" -m pip wheel --no-deps -w "$tmp/wheels" . > "$tmp/wheel.log" 2>&1 \
  || { cat "$tmp/wheel.log"; fail "pip wheel"; }
wheel=$(ls "$tmp"/wheels/floss_losses-*.whl)
echo "built $(basename "$wheel")"
"$PYTHON" - "$wheel" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
libs = [n for n in names if n.startswith("floss/_libfloss")]
assert libs and "floss/__init__.py" in names, names
print("wheel holds:", ", ".join(n for n in names if n.startswith("floss/")))
PY

echo "== test-wheel: fresh venv with numpy and the wheel"
"$PYTHON" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q --disable-pip-version-check numpy "$wheel" > "$tmp/pip.log" 2>&1 \
  || { cat "$tmp/pip.log"; fail "pip install numpy + wheel"; }

# The tests, outside the repository, beside a copy of the reference vectors
# and Cargo.toml (they read ../../tests/data/vectors.json, ../../Cargo.toml);
# no floss package in that tree.
mkdir -p "$tmp/outside/python/tests" "$tmp/outside/tests/data"
cp python/tests/test_floss.py "$tmp/outside/python/tests/"
cp tests/data/vectors.json "$tmp/outside/tests/data/"
cp Cargo.toml "$tmp/outside/"  # test_version compares with it
cd "$tmp/outside/python"
env -u FLOSS_LIBRARY -u PYTHONPATH FLOSS_EXPECT_SITE="$tmp/venv" "$tmp/venv/bin/python" - <<'PY'
import os, floss
site = os.environ["FLOSS_EXPECT_SITE"]
for path in (floss.__file__, floss.library_path):
    assert os.path.realpath(path).startswith(os.path.realpath(site)), (path, site)
print("import floss: %s, library %s (version %s)" % (floss.__file__, floss.library_path, floss.version()))
PY
env -u FLOSS_LIBRARY -u PYTHONPATH "$tmp/venv/bin/python" -m unittest discover -s tests -p 'test_floss.py' \
  || fail "python tests against the installed wheel"
echo "test-wheel: passed"
