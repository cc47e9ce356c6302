"""scikit-learn plumbing shared by the deep clustering estimators.

:class:`BaseDeepClusterer` runs ``fit`` for every method: it validates and
reshapes the input, scales it, puts it on the device once, seeds every
random draw from ``random_state``, opens the fit's session (warm start,
checkpoints, Ctrl-C), calls the method's hooks, and then reads labels and
embeddings out with batched, gradient-free inference.  The method contract
is in :class:`BaseDeepClusterer`'s docstring.

Input shapes and scaling: :mod:`skdeepcluster._framework.input`.
"""

import os
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..cluster_count import check_countable, estimate_n_clusters
from ..metrics import neighbour_agreement_score
from ..nn.data import all_rows
from ..nn.distributed import join_launched_group
from .inference import BatchedInference, cluster_labels, numbered_labels
from .input import ImageInput, resolve_device
from .restarts import (
    SingleFit,
    keep_restarts,
    restart_checkpoint,
    restart_numbers,
    restart_seeds,
)
from .rules import DataFacts, check_rules, resolve_rules
from .session import open_session

__all__ = ["BaseDeepClusterer", "SoftAssignmentMixin"]

# Most rows the pixel-neighbour score reads (a PCA and a neighbour search over them).
_SCORE_ROWS = 10_000


class BaseDeepClusterer(
    ImageInput,
    BatchedInference,
    ClusterMixin,
    TransformerMixin,
    BaseEstimator,
    metaclass=ABCMeta,
):
    """Shared base of the deep clustering estimators (not used directly).

    The base runs ``fit`` for every method; a method never overrides it.  It
    supplies the hooks below, called in this order by ``fit`` (all but
    ``_inference`` once per fit, on the fit's device; the build, train and
    read-out hooks under the fit's seed):

    ``_check_params(self)``
        Check the parameters against each other and the validated input
        (``image_shape_``), raising ``ValueError``; runs before anything is
        put on the device or trained, so a bad value never fails mid-fit.
        Default: no check beyond ``_parameter_constraints``.
    ``_auto_rules`` (class attribute, not a method)
        The method's data-dependent defaults, one table: parameter name ->
        :class:`~skdeepcluster._framework.rules.Rule`, the value an ``"auto"``
        parameter takes for what the training data show (samples per
        cluster, image size, channels, ...) and the value used where the
        user set one.  The base resolves it once per fit
        (:func:`~.rules.resolve_rules`) into ``resolved_params_``, which the other
        hooks read instead of those parameters; a warm start keeps its
        first fit's values (a resumed checkpoint resolves the same).
        Default: no rules.
    ``_build_module(self, data) -> torch.nn.Module``
        The method's network (every trained part, in one module) for the
        training data, on ``data.device``.  ``data`` is a
        :class:`~skdeepcluster.nn.data.DeviceData`: ``data[idx]`` is the
        scaled rows ``idx`` as float32 on the device, shaped ``(m, C, H, W)``
        (images, in [0, 1]) or ``(m, D)`` (tabular: centred, one scale).  The
        base adopts the module
        (loading a resumed checkpoint's or a warm start's weights into it)
        and sets ``module_``.
    ``_train_module(self, module, data, trainer)``
        Train ``module``.  ``trainer`` (:class:`~skdeepcluster._framework.session.Trainer`)
        is :func:`skdeepcluster.nn.loop.train` with the fit's rows, device,
        generator, history, session, ``verbose`` and autocast bound: a method
        passes its steps, schedule, batch size or batch source, epochs, and
        a ``phase`` name per call if it trains in phases.  ``trainer.generator`` is the seeded
        generator every random draw takes; ``trainer.pending(phase)`` and
        ``trainer.cached(name, compute)`` let a resumed fit skip a finished
        phase's set-up and reuse tensors computed between phases.
    ``_read_out(self, module, data, generator)``
        Runs after training, whether it finished or was interrupted (Ctrl-C),
        before the labels are read: the method's own read-out (a k-means on
        the embedding, say), storing what ``_inference`` needs.  The default
        does nothing.
    ``_inference(self, module, x)``
        Given a copy of ``module_`` in ``eval()`` mode (float64 on the CPU)
        and a scaled batch ``x``, a dict with ``"embedding"`` (what
        :meth:`transform` returns) and ``"proba"`` (soft assignments) or
        ``"labels"``.  ``labels_`` of the training data come from it too.

    Per-epoch records go to ``history_`` through the trainer, and the fitted
    attributes common to all (``labels_``, ``label_map_``, ``n_iter_``,
    ``device_``, scaling) are set by the base.  See the module docstring for
    the input-shape rules.
    """

    _parameter_constraints = {
        "n_clusters": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "image_shape": [None, tuple, list],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "combine": [StrOptions({"consensus", "best"})],
        "warm_start": ["boolean"],
        "checkpoint_path": [None, str, os.PathLike],
        "checkpoint_every": [Interval(Integral, 1, None, closed="left")],
        "max_device_bytes": [None, Interval(Integral, 0, None, closed="left")],
    }

    # ------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the network on ``X`` and cluster it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            See the class docstring for the accepted shapes.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.

        Warns
        -----
        ConvergenceWarning
            When the training data fill fewer than ``n_clusters`` clusters.
        """
        warm = self.warm_start and hasattr(self, "_training_state")
        X = self._validate_X(X, reset=not warm)
        self._check_n_clusters(X)
        checked = check_rules(self, self._auto_rules)
        self._check_params()
        if not warm:  # a warm start keeps the scaling its model was trained on
            self._fit_scaler(X)
        self.device_ = join_launched_group(resolve_device(self.device))
        starts = self._restart_starts(warm)
        data, digest = self._device_data(X)
        if not warm:  # a warm start trains on with the values its first fit resolved
            self.n_clusters_ = self._count_clusters(data)
            facts = DataFacts.of(data, self.n_clusters_)
            resolved = resolve_rules(self, self._auto_rules, facts, checked)
            self.resolved_params_ = {"n_clusters": self.n_clusters_, **resolved}
        numbers = restart_numbers(
            len(starts), warm and starts == [None], getattr(self, "best_restart_", 0)
        )
        fits = self._fit_restarts(X, digest, data, starts, numbers, warm)
        kept = keep_restarts(
            fits, len(starts), numbers[0], self.combine, self.n_clusters_, type(self).__name__
        )
        self._adopt(kept)
        return self

    def _fit_restarts(self, X, digest, data, starts, numbers, warm):
        """The single fits of this fit's restarts, up to the first a Ctrl-C interrupts."""
        fits = []
        seeds = restart_seeds(self.random_state, len(starts))
        for seed, start, number in zip(seeds, starts, numbers):
            if start is not None:  # a warm start of a consensus: this restart's model
                self._set_fitted_state(start)
            fits.append(self._fit_single(X, digest, data, seed, number, warm))
            if self.verbose and len(starts) > 1:
                print(f"restart {len(fits)}/{len(starts)} (seed {seed}): {fits[-1].score:.5g}")
            if fits[-1].interrupted is not None:
                break
        return fits

    def _restart_starts(self, warm):
        """What each restart of this fit trains on from: a fitted state, or None (anew).

        A warm start of a consensus continues every one of its restarts, one of
        the kept restart continues it (the estimator's own state); a new fit
        runs ``n_init`` restarts from scratch.  The last fit's ``consensus_``
        is dropped: this fit makes its own.
        """
        previous = getattr(self, "consensus_", None) if warm else None
        if hasattr(self, "consensus_"):
            del self.consensus_
        if previous is not None:
            return [member._get_fitted_state() for member in previous.members]
        return [None] if warm else [None] * self.n_init

    def _fit_single(self, X, digest, data, seed, restart, warm):
        """Train restart number ``restart`` from ``seed`` and read it out: a :class:`SingleFit`."""
        session = open_session(
            X,
            digest,
            self.get_params(deep=False),
            self.device_,
            restart=restart,
            checkpoint_path=restart_checkpoint(self.checkpoint_path, restart),
            checkpoint_every=self.checkpoint_every,
            previous=(self._training_state, self.module_, self.history_) if warm else None,
        )
        self.history_ = session.history
        module, interrupted = session.run(
            seed, self._build_module, self._train_module, self._read_out, data, self.verbose
        )
        self.module_ = module.cpu().eval()
        self._training_state = session.final_state()  # what a warm start continues
        self.n_iter_ = len(self.history_)
        outputs = self._infer(X)
        self.labels_, self.label_map_ = numbered_labels(cluster_labels(outputs), self.n_clusters_)
        score = self._label_free_score(X, outputs)
        return SingleFit(seed, self._get_fitted_state(), outputs, score, interrupted)

    def _adopt(self, kept):
        """Make what :func:`~.restarts.keep_restarts` kept this estimator's fitted state."""
        self._set_fitted_state(kept.state)
        self.restart_scores_, self.best_restart_ = kept.scores, kept.best
        if kept.consensus is not None:
            self.consensus_ = kept.consensus
            self.consensus_.members = [self._restart_model(state) for state in kept.combined]
            self.labels_, self.label_map_ = numbered_labels(kept.labels, self.n_clusters_)

    # ---------------------------------------------------------- fitted state
    def _get_fitted_state(self):
        """What a fit set: the fitted ``*_`` attributes and the state a warm start continues.

        The explicit interface through which restarts are kept and combined: a
        :class:`~.restarts.SingleFit` carries it, ``_set_fitted_state`` puts it back.
        """
        return {
            name: value
            for name, value in vars(self).items()
            if name.endswith("_") or name == "_training_state"
        }

    def _set_fitted_state(self, state):
        """Make ``state`` (a ``_get_fitted_state``) this estimator's fitted state, and only it."""
        for name in [name for name in self._get_fitted_state() if name not in state]:
            delattr(self, name)
        vars(self).update(state)

    def _restart_model(self, state):
        """An estimator of these parameters whose fitted state is ``state``: one restart.

        A shallow copy of the attributes, not ``copy.copy``, which goes through
        pickling's state and drops the optimisers a warm start continues.
        """
        model = object.__new__(type(self))
        unfitted = {k: v for k, v in vars(self).items() if k not in self._get_fitted_state()}
        vars(model).update(unfitted)
        model._set_fitted_state(state)
        return model

    def _check_n_clusters(self, X):
        if self.n_clusters == "auto":
            check_countable(X.shape[0], "auto")
        elif self.n_clusters > X.shape[0]:
            raise ValueError(
                f"n_clusters={self.n_clusters} is larger than the number of samples "
                f"n_samples={X.shape[0]}."
            )

    def _count_clusters(self, data):
        """``n_clusters``, or with ``"auto"`` the number :func:`estimate_n_clusters` finds.

        The estimate reads the training rows as the fit has scaled them (the
        pixels or the features it clusters), seeded from ``random_state``.
        """
        if hasattr(self, "n_clusters_estimate_"):  # a former fit's
            del self.n_clusters_estimate_
        if self.n_clusters != "auto":
            return int(self.n_clusters)
        seed = restart_seeds(self.random_state, 1)[0]
        estimate = estimate_n_clusters(all_rows(data).cpu().numpy(), random_state=seed)
        self.n_clusters_estimate_ = estimate
        return estimate.n_clusters

    # ---------------------------------------------------------- method hooks
    # The method's data-dependent defaults: parameter name -> rules.Rule, in resolving order.
    _auto_rules = {}

    def _check_params(self):
        """Check the parameters' values against each other and the input (none here).

        Runs in ``fit`` after the input is validated and before anything is
        put on the device or trained, so a bad value fails at once.
        """

    @abstractmethod
    def _build_module(self, data):
        """The method's network for ``data``, on its device.

        ``data`` is a :class:`~skdeepcluster.nn.data.DeviceData`.
        """

    @abstractmethod
    def _train_module(self, module, data, trainer):
        """Train ``module`` on ``data`` through ``trainer``.

        ``trainer`` is a :class:`~skdeepcluster._framework.session.Trainer`.
        """

    def _read_out(self, module, data, generator):
        """Work after training, finished or interrupted, before the labels are read (none here)."""

    @abstractmethod
    def _inference(self, module, x):
        """A dict of ``"embedding"`` and ``"proba"`` or ``"labels"`` of the scaled batch ``x``."""

    # ------------------------------------------------------------- inference
    def _cluster_outputs(self, X):
        """What the clusters of validated ``X`` are read from.

        The consensus of the restarts' outputs where the fit combined them, else ``_infer``'s.
        """
        combined = getattr(self, "consensus_", None)
        if combined is None:
            return self._infer(X)
        return combined.combine([member._infer(X) for member in combined.members])

    def predict(self, X):
        """Cluster labels of new samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Integers in ``[0, n_clusters)``.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self.label_map_[cluster_labels(self._cluster_outputs(X))]

    def transform(self, X):
        """The method's embedding of ``X`` (what it clusters in).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array

        Returns
        -------
        embedding : ndarray of shape (n_samples, n_components)
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self._infer(X)["embedding"]

    def score(self, X, y=None):
        """The fit's label-free criterion on ``X``: higher is better.

        What ``n_init`` chooses restarts by (on the training data) and
        :class:`~sklearn.model_selection.GridSearchCV` without ``scoring``
        selects parameters by (on each held-out split).  The estimators with
        soft assignments score their mean confidence, the mean largest
        probability of :meth:`predict_proba` (VariationalClustering: its
        ELBO instead); the others the agreement of the labels with the
        nearest neighbours among the scaled pixels
        (:func:`~skdeepcluster.metrics.neighbour_agreement_score`, on at most
        10,000 rows of ``X``).  The lab notes say how well each ranks fits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self._label_free_score(X, self._cluster_outputs(X))

    def _label_free_score(self, X, outputs):
        """:meth:`score` of validated ``X`` from its ``outputs`` (numbering does not matter)."""
        labels = cluster_labels(outputs)
        if len(X) > _SCORE_ROWS:  # a fixed subsample: the same rows for every fit of X
            rows = np.sort(np.random.RandomState(0).choice(len(X), _SCORE_ROWS, replace=False))
            X, labels = X[rows], labels[rows]
        return neighbour_agreement_score(self._scale(X).reshape(len(X), -1), labels)

    # ------------------------------------------------------------- pickling
    def __getstate__(self):
        """Pickle without the optimisers' state (two to three times the weights' size).

        A warm start after unpickling then continues the model with fresh
        optimiser moments; ``checkpoint_path`` keeps the exact continuation.
        """
        state = dict(super().__getstate__())  # may be __dict__ itself
        if state.get("_training_state") is not None:
            state["_training_state"] = dict(state["_training_state"], optimizers={})
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        dev = state.get("device_")
        if dev is not None and dev.type == "cuda" and not torch.cuda.is_available():
            warnings.warn(
                f"This model was fitted on {dev}, which is not available here; it will "
                "predict on the CPU.",
                UserWarning,
                stacklevel=2,
            )


class SoftAssignmentMixin:
    """``predict_proba`` and the score of the estimators whose ``_inference`` gives ``"proba"``."""

    def _label_free_score(self, X, outputs):
        """:meth:`score`: the mean largest soft assignment of validated ``X`` (``outputs``).

        Of the criteria measured it is the one that ranked the restarts of
        DCCSClustering (on digits and COIL-20 with 10 images per object) and
        GATCluster (digits) with their accuracy every time (lab notes).
        """
        return float(outputs["proba"].max(axis=1).mean())

    def predict_proba(self, X):
        """Soft cluster assignments of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array

        Returns
        -------
        proba : ndarray of shape (n_samples, n_clusters)
            Rows sum to one; columns are ordered like the labels of :meth:`predict`.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        proba = self._cluster_outputs(X)["proba"]
        out = np.empty_like(proba)
        out[:, self.label_map_] = proba
        return out
