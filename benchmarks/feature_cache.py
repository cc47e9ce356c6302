"""The pretrained features of a benchmark set: computed once, kept on disk, shared by every fit.

Every method on features (``<method>+features`` in ``methods.py``) clusters
the rows ``PretrainedFeatures()`` gives for the set's images, with its
defaults, as ``make_pipeline(PretrainedFeatures(), estimator)`` would.  They
are the same for every method and seed, so they are computed once per set
(and per network, input size, precision and number of images) and kept in
``benchmarks/results/features/`` (not in git); the time they took is kept
beside them and reported with every fit that used them.
"""

import datetime
import json
import os
import time

import numpy as np

CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "features")


def pretrained_features(dataset, X, device, cache=CACHE):
    """``(features, info)`` of the images ``X`` of ``dataset``: from the cache, else computed.

    ``info`` holds the network (``model``), the seconds the features took
    (``seconds``) and when they were computed (``date``).
    """
    from skdeepcluster import PretrainedFeatures

    est = PretrainedFeatures(device=device).fit(X)  # chooses the network, computes nothing
    key = {
        "dataset": dataset,
        "n": len(X),
        "model": est.model_,
        "input_size": est.input_size_,
        "precision": est.precision_,
    }
    stem = os.path.join(cache, f"{dataset}-{len(X)}")
    try:
        with open(stem + ".json") as f:
            info = json.load(f)
        if info["key"] == key:
            return np.load(stem + ".npy"), info
    except (OSError, ValueError, KeyError):  # nothing cached, or something else
        pass
    start = time.perf_counter()
    features = est.transform(X)
    info = {
        "key": key,
        "model": est.model_,
        "seconds": time.perf_counter() - start,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    os.makedirs(cache, exist_ok=True)
    np.save(stem + ".npy", features)
    with open(stem + ".json", "w") as f:
        json.dump(info, f)
    return features, info
