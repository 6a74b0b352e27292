"""Runs every test of the Python package with the standard library's
unittest, then prints a last line the CI reads: "N passed, M failed"."""

import os
import sys
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)

suite = unittest.TestLoader().discover(here, pattern="test_*.py", top_level_dir=here)
result = unittest.TextTestRunner(verbosity=2).run(suite)
failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
# A skipped test counts as failed: every test here must run.
failed += len(result.skipped)
passed = result.testsRun - failed
print("%d passed, %d failed" % (passed, failed))
sys.exit(0 if failed == 0 else 1)
