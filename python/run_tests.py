"""Runs the binding's tests (python/tests) and fails if any test fails or is
skipped: in `make test` a skipped test is a test that did not run.

Usage: FLOSS_LIBRARY=path/to/libfloss.so python3 run_tests.py
"""

import os
import sys
import unittest


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    suite = unittest.defaultTestLoader.discover(os.path.join(here, "tests"))
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    for test, why in result.skipped:
        print(f"SKIPPED (fails the run): {test.id()}: {why}")
    print(f"python: {result.testsRun} tests, {len(result.failures) + len(result.errors)} failed, "
          f"{len(result.skipped)} skipped")
    return 0 if result.wasSuccessful() and not result.skipped else 1


if __name__ == "__main__":
    sys.exit(main())
