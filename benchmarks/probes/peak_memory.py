"""Peak resident memory of a fit: what holding the data costs.

Usage (from the repository root)::

    python benchmarks/probes/peak_memory.py --dataset mnist --data-home ../shared/datasets \\
        [--methods variational dccs dual-ae-spectral] [--epochs 1] [--max-device-bytes N]

Each fit runs in a fresh process (every epoch parameter set to ``--epochs``,
device CPU) that reports its peak resident set size (``ru_maxrss``), the
resident size once the data set is loaded (uint8 images, as the loaders
return them), and the fit's time.  On the CPU the "device" is host memory,
so the peak shows every copy of the data a fit makes.
"""

import argparse
import json
import subprocess
import sys

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {here!r})
from run import _load
from skdeepcluster._cli.registry import METHODS
X, y = _load({dataset!r}, {data_home!r}, None)
loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
cls = METHODS[{method!r}]
params = {{p: {epochs} for p in cls().get_params() if p.endswith("epochs")}}
if {max_device_bytes!r} is not None:
    params["max_device_bytes"] = {max_device_bytes!r}
start = time.perf_counter()
cls(n_clusters=len(set(y.tolist())), random_state=0, device="cpu", **params).fit(X)
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(dict(loaded_mb=loaded / 1024, peak_mb=peak_mb, fit_s=time.perf_counter() - start,
                      shape=list(X.shape), dtype=str(X.dtype))))
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--methods", nargs="+", default=["variational", "dccs", "dual-ae-spectral"])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-device-bytes", type=int, default=None)
    args = parser.parse_args()
    import os

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # run.py's folder
    for method in args.methods:
        code = CHILD.format(
            here=here,
            dataset=args.dataset,
            data_home=args.data_home,
            method=method,
            epochs=args.epochs,
            max_device_bytes=args.max_device_bytes,
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        record = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{method:>18}: data {record['shape']} {record['dtype']}; RSS after loading "
            f"{record['loaded_mb']:7.0f} MB, peak during fit {record['peak_mb']:7.0f} MB; "
            f"fit {record['fit_s']:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
