"""What several test modules share: data, quick estimators, comparisons, interruptions.

Test modules import from here (and from ``conftest`` and ``_toy``), never from each other.
"""

import os
import signal
import subprocess
import sys
import textwrap

import torch
from sklearn.datasets import load_digits

from ._toy import ToyClusterer
from .conftest import quick

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOY_QUICK = dict(max_epochs=6)


def digits(n=200):
    """The first ``n`` of scikit-learn's 8x8 digits, as images."""
    return load_digits().images[:n]


def make(cls, **params):
    """``cls`` (one of the four or the toy) with quick settings, 10 clusters, seed 0."""
    if cls is ToyClusterer:
        return ToyClusterer(n_clusters=10, random_state=0, **{**TOY_QUICK, **params})
    return quick(cls, n_clusters=10, random_state=0, **params)


def same_weights(a, b):
    """Whether two fitted estimators' modules hold the same weights, bit for bit."""
    sa, sb = a.module_.state_dict(), b.module_.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def losses(history):
    """A ``history_`` without its timings: what the fit computed."""
    return [{k: v for k, v in r.items() if k not in ("time", "samples_per_s")} for r in history]


def interrupt_at_backward(monkeypatch, call, how):
    """Deliver Ctrl-C during the ``call``-th backward pass (mid-step, as a user's would land).

    ``how`` is ``"signal"`` (SIGINT, as a terminal sends it) or ``"raise"`` (a
    ``KeyboardInterrupt`` raised in the step).
    """
    original = torch.Tensor.backward
    count = {"n": 0}

    def backward(self, *args, **kwargs):
        count["n"] += 1
        if count["n"] == call:
            if how == "signal":
                signal.raise_signal(signal.SIGINT)
            else:
                raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "backward", backward)


# The child runs with this process's torch threads: a CPU fit is the same bit
# for bit for the same seed and thread count (reductions split across threads
# sum in another order), and the environment may say otherwise (a Dask cluster
# started earlier in the session sets OMP_NUM_THREADS=1 in it).  It prints
# "epoch saved" on standard output once each epoch is recorded (and its
# checkpoint written), whatever ``verbose`` shows.
_CHILD = textwrap.dedent("""
    import sys
    import torch
    from sklearn.datasets import load_digits
    import skdeepcluster
    from skdeepcluster._framework.session import FitSession
    from tests._toy import ToyClusterer
    end_epoch = FitSession.end_epoch
    def announced(self, *args, **kwargs):
        end_epoch(self, *args, **kwargs)
        print("epoch saved", flush=True)
    FitSession.end_epoch = announced
    torch.set_num_threads(int(sys.argv[3]))
    cls = ToyClusterer if sys.argv[1] == "ToyClusterer" else getattr(skdeepcluster, sys.argv[1])
    params = eval(sys.argv[2])
    cls(**params).fit(load_digits().images[:200])
""")


def kill_fit_after_epochs(cls, params, epochs, cwd):
    """Fit ``cls(**params)`` on 200 digits in a child process; SIGKILL it after ``epochs`` epochs.

    The child is killed once the ``epochs``-th epoch (counted over the whole
    fit, restarts included) is recorded and its checkpoint written.
    """
    environment = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([REPO, *filter(None, [os.environ.get("PYTHONPATH")])]),
    )
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, cls.__name__, repr(params), str(torch.get_num_threads())],
        stdout=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=environment,
    )
    epochs_seen = 0
    for line in child.stdout:
        epochs_seen += line.startswith("epoch ")
        if epochs_seen == epochs:  # its checkpoint is written before the line is printed
            child.send_signal(signal.SIGKILL)
            break
    child.wait()
    assert child.returncode == -signal.SIGKILL, "the fit ended before it could be killed"
