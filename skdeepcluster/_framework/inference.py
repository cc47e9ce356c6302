"""Batched, gradient-free inference of a fitted estimator's module (private).

:class:`BatchedInference` runs a copy of ``module_`` in ``eval()`` mode over validated
input a batch at a time, scaling each batch as it goes; on the CPU in float64, which
makes every row's output independent of the batch it is computed in (scikit-learn's
subset-invariance check), on CUDA in float32.
"""

import copy

import numpy as np
import torch

from ..nn.data import map_chunks

__all__ = ["BatchedInference", "cluster_labels", "numbered_labels"]

# Rows per inference batch.  On the CPU inference runs in float64, whose convolutions unfold
# their input: 256 images of 32x32 pixels through GATCluster's second convolution unfold to
# about 340 MB (1,024 took COIL-20's fit to 5 GB); 64 keep a fit's peak about 320 MB lower,
# with the same bits and speed.
_INFERENCE_BATCH = 64


def cluster_labels(outputs):
    """The cluster of each row of ``outputs`` (an ``_infer`` result): its labels or argmax proba."""
    if "labels" in outputs:
        return outputs["labels"].astype(np.intp)
    return outputs["proba"].argmax(axis=1)


def numbered_labels(raw, n_clusters):
    """``(labels, label_map)``: the clusters ``raw`` uses numbered 0..m-1, the unused ones after.

    ``label_map[c]`` is the label of cluster ``c``; ``labels = label_map[raw]``.
    """
    used = np.unique(raw)
    unused = np.setdiff1d(np.arange(n_clusters), used)
    label_map = np.empty(n_clusters, dtype=np.int64)
    label_map[np.concatenate([used, unused])] = np.arange(n_clusters)
    return label_map[raw], label_map


class BatchedInference:
    """``_infer`` over validated input, and the module it runs.

    For an estimator with ``module_``, ``device_``, ``_scale`` and ``_inference``; a
    method's read-out, which runs before ``module_`` is set, passes its module to
    ``_inference_module``.
    """

    def _inference_device(self):
        dev = self.device_
        if dev.type == "cuda" and not torch.cuda.is_available():
            return torch.device("cpu")
        return dev

    def _infer(self, X, inference=None):
        """Run ``inference`` (default ``_inference``) over ``X`` (validated, unscaled) in batches.

        ``inference(module, batch)`` returns a dict of tensors; the result
        holds them as numpy arrays.  On the CPU the network runs in float64,
        which makes every row's output independent of the batch it is
        computed in.
        """
        inference = self._inference if inference is None else inference
        module, device, dtype = self._inference_module(self.module_)

        def batch_outputs(rows):  # scaled a batch at a time: no float copy of the whole set
            batch = torch.as_tensor(self._scale(rows), dtype=dtype, device=device)
            return {
                key: value.double().cpu().numpy() for key, value in inference(module, batch).items()
            }

        batches = map_chunks(batch_outputs, X, _INFERENCE_BATCH)
        return {key: np.concatenate([out[key] for out in batches]) for key in batches[0]}

    def _inference_module(self, module):
        """A copy of ``module`` in ``eval()`` mode for inference, its device and dtype.

        float64 on the CPU (every row's output is then independent of the
        batch it is computed in), float32 on CUDA.
        """
        device = self._inference_device()
        dtype = torch.float64 if device.type == "cpu" else torch.float32
        return copy.deepcopy(module).to(device=device, dtype=dtype).eval(), device, dtype
