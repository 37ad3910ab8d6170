#!/usr/bin/env python3
"""Runs the system tests: every test_* function in tests/system/test_*.py.
Prints one line per test and the closing line `N passed, N failed`."""
import importlib.util
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402


def main():
    only = sys.argv[1:]
    files = sorted(f for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py"))
    passed = failed = 0
    failures = []
    for f in files:
        mod_name = f[:-3]
        spec = importlib.util.spec_from_file_location(mod_name, os.path.join(HERE, f))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name in sorted(n for n in dir(mod) if n.startswith("test_")):
            full = f"{mod_name}.{name}"
            if only and not any(o in full for o in only):
                continue
            t0 = time.time()
            try:
                getattr(mod, name)()
                problems = harness.finish_servers()
                if problems:
                    raise harness.TestFailure("; ".join(problems))
                passed += 1
                print(f"ok   {full} ({time.time() - t0:.1f}s)", flush=True)
            except Exception as e:  # a failure of any kind fails the test
                failed += 1
                failures.append(full)
                print(f"FAIL {full} ({time.time() - t0:.1f}s): {e}", flush=True)
                if not isinstance(e, harness.TestFailure):
                    traceback.print_exc()
            finally:
                harness.finish_servers()
                harness.kill_all()
    if failures:
        print("failed: " + ", ".join(failures))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
