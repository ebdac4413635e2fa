"""`python -m bench.peak MODULE ARGS...`: run MODULE as __main__, then print its peak RSS on stderr.

The peak is VmHWM of this process's own address space. getrusage's ru_maxrss is not used: on Linux it
keeps the high-water mark from before exec, i.e. the size of the (large) benchmark parent at fork time.
"""

from __future__ import annotations

import atexit
import runpy
import sys

MARKER = "PEAK_RSS_MB"


def vm_hwm_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("/proc/self/status has no VmHWM line")


def main() -> None:
    atexit.register(lambda: print(f"{MARKER} {vm_hwm_mb():.1f}", file=sys.stderr, flush=True))
    module = sys.argv[1]
    sys.argv = [module, *sys.argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
