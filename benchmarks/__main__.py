"""Run every benchmark in this folder, one after another: ``python -m benchmarks``.

Each script runs as ``__main__``; one that ends with ``sys.exit`` does not stop the others,
and the exit code is non-zero when any script reported a failure (values not identical).
"""

import runpy
import sys
from pathlib import Path

here = Path(__file__).parent
failed = []
for script in sorted(here.glob("bench_*.py")):
    print(f"\n=== {script.name} ===", flush=True)
    sys.argv = [str(script)]
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as end:
        if end.code not in (None, 0):
            failed.append(script.name)
if failed:
    print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
sys.exit(1 if failed else 0)
