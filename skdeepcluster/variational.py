"""Variational clustering: a Gaussian-mixture VAE with discrete and continuous latents.

Prasad et al., IJCNN 2020.
"""

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._framework.base import BaseDeepClusterer, SoftAssignmentMixin
from ._framework.docs import shared_parameters
from ._framework.feature_rows import FeatureRowsMixin
from ._framework.rules import Rule
from .nn.data import map_chunks
from .nn.distributed import broadcast_from_first, gather_rows
from .nn.latent import (
    GaussianMixtureVAE,
    categorical_kl,
    expected_kl,
    gaussian_sample,
    gumbel_softmax,
    log_likelihood,
    marginal_categorical_kl,
    mixture_moments,
    mixture_reparametrize,
)
from .nn.loop import Step, adam, epochs_for_updates, generator_seed
from .nn.losses import kl_diagonal_gaussians

__all__ = ["VariationalClustering"]

# The values the "auto" rules (_auto_rules) key on; each parameter's entry says why.
_REFERENCE_VALUES = 196
_PRETRAIN_UPDATES = 1000
_PRETRAIN_EPOCHS = (20, 150)
_AUTO_UPDATES = 7000
_AUTO_MIN_EPOCHS, _AUTO_MAX_EPOCHS = 100, 250
_MIN_PRIOR_VARIANCE = 1e-4


def _check_likelihood(est, likelihood):
    """A likelihood the user set: Bernoulli needs images (pixels in [0, 1])."""
    if likelihood == "bernoulli" and est.image_shape_ is None:
        raise ValueError(
            "likelihood='bernoulli' needs image input (pixels scaled to [0, 1]); "
            "use 'gaussian' or 'auto' for tabular rows."
        )
    return likelihood


@shared_parameters(
    draws="initialisation, batches and every random draw of ``fit`` and\n        :meth:`sample`",
    warm_note=" (the temperature goes on annealing from the epoch reached)",
    init_note='        With ``"kmeans"`` or ``"graph"`` the pretrained mixture\'s components\n'
    "        also start from that partition of the rows, not from k-means of their codes.\n",
)
class VariationalClustering(FeatureRowsMixin, SoftAssignmentMixin, BaseDeepClusterer):
    """Variational clustering: a Gaussian-mixture VAE with a discrete and a continuous latent.

    The generative model draws a cluster ``y`` uniformly from ``K``, a code
    ``z ~ p(z|y) = N(m_y, diag(s_y^2))`` from that cluster's Gaussian, and the
    sample from a decoder ``p(x|z)``; the ``K`` prior means and variances are
    parameters learned with the networks, by the same optimiser (a "true"
    Gaussian-mixture VAE).  The approximate posterior is
    ``q(y|x) q(z|x, y)``: an encoder gives the logits of ``q(y|x)`` and, for
    every cluster ``k``, the mean and variance of ``q(z|x, y=k) =
    N(mu_k(x), diag(sigma_k(x)^2))``.  The evidence lower bound is

    ``ELBO(x) = E_q[log p(x|z)] - E_q(y|x)[KL(q(z|x, y) || p(z|y))]
    - KL(q(y|x) || U(K))``

    and training minimises its three terms (the last one, by default, in
    its marginal form: see ``categorical_kl``) end to end.  On samples of
    more than 196 values (28x28 images and up) the mixture starts, by
    default, from a pretrained one-component model (``pretrain_epochs``);
    the paper trains from random initialisation, which
    ``pretrain_epochs=0`` restores.  Labels are ``argmax_k q(y=k|x)``.

    **The reparametrisation.**  The discrete latent is relaxed by a
    Gumbel-softmax sample ``y~ = softmax((log q(y|x) + g) / tau)`` and the
    continuous one drawn *as a mixture* with one shared standard-normal
    ``eps``::

        z = sum_k y~_k (mu_k(x) + sigma_k(x) * eps)

    so that for a one-hot ``y~`` the code is an exact draw from
    ``q(z|x, y)``, and gradients reach the logits of ``q(y|x)`` through the
    sample (the reconstruction term) as well as through the exact expectations
    of the two KL terms (a sum over the ``K`` clusters, in closed form).  The
    temperature anneals once per epoch, ``tau = max(tau_min, tau0 *
    exp(-anneal_rate * epoch))``.

    **What is the paper's and what is ours.**  The paper (no code was
    released) fixes the model: a learned Gaussian-mixture prior, the
    discrete + continuous reparametrisation, training from scratch with the
    ELBO.  Ours are the exact form of the mixture reparametrisation above,
    the closed-form expectations over ``y`` in the KL terms (lower variance
    than a one-sample estimate), the marginal categorical term, the network
    sizes, the schedule (a standard Gumbel-softmax temperature one, and
    ``max_epochs="auto"``) and the pretraining (``pretrain_epochs``).

    Parameters
    ----------
    n_clusters : int or "auto", default=10
        Number of clusters ``K``.
    <count>
    <image_shape>
    latent_dim : int, default=32
        Size of the continuous code ``z``.  The prior means start at random
        directions, all at distance ``sqrt(latent_dim)`` from the origin, and
        each ``q(z|x, y=k)`` starts centred on its prior mean, so that no
        cluster is cheaper than another at the start (means drawn from a
        standard normal let the components with the smallest norms take all
        data; lab notes, "Measurements behind the defaults").
    likelihood : {"auto", "bernoulli", "gaussian"}, default="auto"
        The decoder's ``p(x|z)``: ``"bernoulli"`` (binary cross-entropy on
        pixels scaled to [0, 1]) for images, ``"gaussian"`` (unit variance on
        centred, scaled features) for tabular rows; ``"auto"`` picks by the
        input.  Bernoulli needs image input.
    reconstruction_weight : float, default=1.0
        Weight of the reconstruction term ``-E_q[log p(x|z)]``.
    gaussian_kl_weight : float or "auto", default="auto"
        Weight ``beta`` of ``E_q(y|x)[KL(q(z|x, y) || p(z|y))]``.  The
        reconstruction term is a sum over the values of a sample and grows
        with their number, the KL term does not: ``"auto"`` (ours) keeps
        their balance across resolutions with ``beta = max(1, n_values /
        196)``, i.e. the ELBO's 1 up to 14x14 images (scikit-learn's 8x8
        digits) and 4 for 28x28 MNIST, in the spirit of the normalised
        ``beta`` of beta-VAE [4]_: at 1 on 28 px images the code follows the
        pixels and clusters style as much as class (lab notes).  Set 1.0
        for the paper's ELBO.
    categorical_kl_weight : float, default=1.0
        Weight of the categorical KL term (see ``categorical_kl``); 0
        switches a term off.
    categorical_kl : {"marginal", "per_sample"}, default="marginal"
        ``"per_sample"`` is the ELBO's ``mean_x KL(q(y|x) || U(K))``: with
        it and all three weights at 1 the loss is the negative ELBO.  Since
        ``mean_x KL(q(y|x) || U) = I(x; y) + KL(q(y) || U)`` (Hoffman and
        Johnson's decomposition, with ``q(y)`` the mean of ``q(y|x)`` over
        the data), that term also penalises the mutual information between
        an image and its cluster, which is what clustering wants large.
        ``"marginal"`` (the default, ours) keeps only ``KL(q(y) || U)`` over
        each batch: clusters are still pushed to be used equally, and
        confident assignments cost nothing (more accurate on digits; user
        guide).  :meth:`score_samples` always computes the ELBO.
    tau0 : float, default=1.0
        Initial Gumbel-softmax temperature.
    tau_min : float, default=0.5
        Lowest temperature.
    anneal_rate : float, default=0.01386
        Exponential decay of the temperature per epoch (from 1 to 0.5 in 50
        epochs).
    straight_through : bool, default=False
        Use the straight-through Gumbel-softmax (one-hot forward, relaxed
        gradient) instead of the soft sample.
    <init>
    pretrain_epochs : int or "auto", default="auto"
        Epochs of pretraining before the mixture trains (ours; the paper
        trains from scratch, which ``0`` restores).  Pretraining fits the
        same model with a single component, ``q(z|x, y=0)`` and the decoder,
        under the ELBO with a standard-normal prior; k-means on its codes
        then gives the ``K`` prior Gaussians (each cluster's centre and the
        variance of its codes), every ``q(z|x, y=k)`` starts as the
        pretrained one, and ``q(y|x)`` as the Gaussian posterior over those
        components (with their pooled variance a linear discriminant, a
        linear layer on the encoder's features), as VaDE initialises its
        mixture from a pretrained autoencoder.  ``"auto"`` pretrains samples
        of more than 196 values (28x28 images and up) for about 1,000
        updates within 20 to 150 epochs (MNIST-test: 20, COIL-20: 46, 200
        images: 150), and not smaller ones: from scratch the mixture
        collapses onto a few clusters on the larger images, while on
        scikit-learn's 8x8 digits the pretrained start costs accuracy; a
        schedule in updates trains a small set as long as a large one
        (figures: lab notes, "Measurements behind the defaults").
    max_epochs : int or "auto", default="auto"
        Passes over the data while the mixture trains (after pretraining).
        ``"auto"`` (ours) is 100 after pretraining, which starts the mixture
        from a fitted model that longer training wears down, and from
        scratch about 7,000 updates within 100 to 250 epochs (250 for
        scikit-learn's digits, 100 for 10,000 images), as a small set needs
        more passes for as many updates (figures: lab notes, "Measurements
        behind the defaults").
    batch_size : int, default=64
    learning_rate : float, default=1e-3
        Adam learning rate of the networks and the prior.
    <common parameters>

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training sample.
    means_ : ndarray of shape (n_clusters, latent_dim)
        Means of the learned prior ``p(z|y)``, rows ordered like the labels.
    covariances_ : ndarray of shape (n_clusters, latent_dim)
        Its diagonal variances.
    module_ : torch.nn.Module
        The trained networks and prior (on the CPU).
    history_ : list of dict
        Per epoch: the mean of each (weighted) loss term,
        ``reconstruction``, ``gaussian_kl`` and ``categorical_kl``, whose sum
        is the negative ELBO when every weight is 1 and ``categorical_kl``
        is ``"per_sample"``; the ``temperature``; the ``phase``
        (``"pretrain"`` or ``"train"``); time and samples/s.
    n_iter_ : int
        Epochs run, pretraining's included.
    label_map_ : ndarray of shape (n_clusters,)
        Label given to each mixture component.
    <common attributes>

    See Also
    --------
    sklearn.mixture.GaussianMixture : The same generative API on a shallow model.
    DCCSClustering : Category-style representation clustering.

    References
    ----------
    .. [1] S. Prasad, D. Das and B. Bhowmick, "Variational Clustering:
       Leveraging Variational Autoencoders for Image Clustering", IJCNN 2020,
       arXiv:2005.04613.
    .. [2] E. Jang, S. Gu and B. Poole, "Categorical Reparameterization with
       Gumbel-Softmax", ICLR 2017.
    .. [3] N. Dilokthanakul et al., "Deep Unsupervised Clustering with
       Gaussian Mixture Variational Autoencoders", arXiv:1611.02648, 2016.
    .. [4] I. Higgins et al., "beta-VAE: Learning Basic Visual Concepts with
       a Constrained Variational Framework", ICLR 2017.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdeepcluster import VariationalClustering
    >>> X = load_digits().images[:200]
    >>> est = VariationalClustering(n_clusters=10, max_epochs=2, random_state=0)
    >>> est.fit_predict(X).shape
    (200,)
    >>> est.predict_proba(X).shape
    (200, 10)
    >>> est.transform(X).shape
    (200, 32)
    >>> images, clusters = est.sample(5)
    >>> images.shape, clusters.shape
    ((5, 8, 8), (5,))
    >>> est.score_samples(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {
        **BaseDeepClusterer._parameter_constraints,
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "likelihood": [StrOptions({"auto", "bernoulli", "gaussian"})],
        "reconstruction_weight": [Interval(Real, 0, None, closed="left")],
        "gaussian_kl_weight": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "categorical_kl_weight": [Interval(Real, 0, None, closed="left")],
        "categorical_kl": [StrOptions({"marginal", "per_sample"})],
        "tau0": [Interval(Real, 0, None, closed="neither")],
        "tau_min": [Interval(Real, 0, None, closed="neither")],
        "anneal_rate": [Interval(Real, 0, None, closed="left")],
        "straight_through": ["boolean"],
        "pretrain_epochs": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "max_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        **FeatureRowsMixin._init_constraints,
    }

    def __init__(
        self,
        n_clusters=10,
        *,
        image_shape=None,
        latent_dim=32,
        likelihood="auto",
        reconstruction_weight=1.0,
        gaussian_kl_weight="auto",
        categorical_kl_weight=1.0,
        categorical_kl="marginal",
        tau0=1.0,
        tau_min=0.5,
        anneal_rate=0.01386,
        straight_through=False,
        init="auto",
        pretrain_epochs="auto",
        max_epochs="auto",
        batch_size=64,
        learning_rate=1e-3,
        device="auto",
        random_state=None,
        n_init=1,
        combine="consensus",
        verbose=0,
        max_device_bytes=None,
        warm_start=False,
        checkpoint_path=None,
        checkpoint_every=1,
    ):
        self.n_clusters = n_clusters
        self.image_shape = image_shape
        self.latent_dim = latent_dim
        self.likelihood = likelihood
        self.reconstruction_weight = reconstruction_weight
        self.gaussian_kl_weight = gaussian_kl_weight
        self.categorical_kl_weight = categorical_kl_weight
        self.categorical_kl = categorical_kl
        self.tau0 = tau0
        self.tau_min = tau_min
        self.anneal_rate = anneal_rate
        self.straight_through = straight_through
        self.init = init
        self.pretrain_epochs = pretrain_epochs
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.device = device
        self.random_state = random_state
        self.n_init = n_init
        self.combine = combine
        self.verbose = verbose
        self.max_device_bytes = max_device_bytes
        self.warm_start = warm_start
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every

    # --------------------------------------------------------------- model
    def _temperature(self, epoch):
        return max(self.tau_min, self.tau0 * math.exp(-self.anneal_rate * epoch))

    # ----------------------------------------------------------------- fit
    # Each rule's reason is in its parameter's entry above.
    _auto_rules = {
        "likelihood": Rule(
            lambda est, facts, _: "bernoulli" if facts.image else "gaussian",
            check=lambda est, value: _check_likelihood(est, value),
        ),
        **FeatureRowsMixin._init_rules,
        "gaussian_kl_weight": Rule(
            lambda est, facts, _: max(1.0, est.n_features_in_ / _REFERENCE_VALUES)
        ),
        "pretrain_epochs": Rule(
            lambda est, facts, _: (
                0
                if est.n_features_in_ <= _REFERENCE_VALUES
                else epochs_for_updates(
                    facts.n_samples, est.batch_size, _PRETRAIN_UPDATES, *_PRETRAIN_EPOCHS
                )
            )
        ),
        "max_epochs": Rule(
            lambda est, facts, resolved: (
                _AUTO_MIN_EPOCHS
                if resolved["pretrain_epochs"]
                else epochs_for_updates(
                    facts.n_samples,
                    est.batch_size,
                    _AUTO_UPDATES,
                    min_epochs=_AUTO_MIN_EPOCHS,
                    max_epochs=_AUTO_MAX_EPOCHS,
                )
            )
        ),
    }

    def _check_params(self):
        if self.tau_min > self.tau0:
            raise ValueError(f"tau_min={self.tau_min} must not exceed tau0={self.tau0}.")

    def _build_module(self, data):
        shape = tuple(data.shape[1:])
        return GaussianMixtureVAE(shape, self.n_clusters_, self.latent_dim).to(data.device)

    def _train_module(self, module, data, trainer):
        """Pretraining and the mixture's start from it, then the ELBO's terms end to end."""
        self._pretrain(module, data, trainer)
        self._warm_start(
            data,
            trainer,
            lambda idx: module.encode(data[idx])[0],
            [*module.encoder.parameters(), *module.cluster_logits.parameters()],
        )
        generator = trainer.generator
        temperature = {}

        def epoch_start(epoch):
            temperature["tau"] = self._temperature(epoch)

        def epoch_end(epoch, record):
            record["temperature"] = temperature["tau"]

        trainer(
            {
                "elbo": Step(
                    adam(module.parameters(), lr=self.learning_rate),
                    lambda idx: self._elbo_terms(module, data[idx], temperature["tau"], generator),
                )
            },
            phase="train",
            batch_size=self.batch_size,
            max_epochs=self.resolved_params_["max_epochs"],
            epoch_start=epoch_start,
            epoch_end=epoch_end,
        )

    def _pretrain(self, module, data, trainer):
        """The one-component model, then the mixture initialised from k-means on its codes."""
        epochs = self.resolved_params_["pretrain_epochs"]
        if epochs == 0:
            return
        params = [
            *module.encoder.parameters(),
            *module.gaussian_params.parameters(),
            *module.decoder.parameters(),
        ]
        generator = trainer.generator
        trainer(
            {
                "pretrain": Step(
                    adam(params, lr=self.learning_rate),
                    lambda idx: self._pretrain_terms(module, data[idx], generator),
                )
            },
            phase="pretrain",
            batch_size=self.batch_size,
            max_epochs=epochs,
        )
        trainer.cached("pretrain_clusters", lambda: self._init_mixture(module, data, trainer))

    def _init_mixture(self, module, data, trainer):
        """The prior and ``q(y|x)`` from a partition of the pretrained codes; the partition.

        k-means of the codes (the rows' own partition with ``init="kmeans"`` or ``"graph"``)
        gives each component's mean and variance (:func:`mixture_moments`).
        """
        encoded = map_chunks(module.encode_one, data, 1024, module=module)
        codes = torch.cat([mean for mean, _ in encoded]).double()
        spread = torch.cat([log_var for _, log_var in encoded]).double().exp()
        if self.resolved_params_["init"] in ("kmeans", "graph"):  # of the rows, not the codes
            labels = self._anchor_labels(data, trainer)
        else:
            seed = generator_seed(trainer.generator)
            kmeans = KMeans(self.n_clusters_, n_init=10, random_state=seed)
            labels = torch.as_tensor(kmeans.fit_predict(codes.cpu().numpy()), device=data.device)
            labels = labels.long()
        centers, variances = mixture_moments(
            codes, spread, labels, self.n_clusters_, _MIN_PRIOR_VARIANCE
        )
        # rank 0's mixture on every rank (their codes agree up to rounding on GPUs)
        dtype = module.prior_mean.dtype
        module.init_mixture(
            broadcast_from_first(centers.to(dtype)), broadcast_from_first(variances.to(dtype))
        )
        return broadcast_from_first(labels)

    # ---------------------------------------------------------------- losses
    def _reconstruction_term(self, module, x, z):
        """``-log p(x|z)``, the batch's mean (weighted)."""
        likelihood = self.resolved_params_["likelihood"]
        return -self.reconstruction_weight * log_likelihood(module.decoder(z), x, likelihood).mean()

    def _pretrain_terms(self, module, x, generator):
        """The one-component model's negative ELBO: a standard-normal prior on ``z``."""
        mean, log_var = module.encode_one(x)
        z = gaussian_sample(mean, log_var, generator)
        terms = {"reconstruction": self._reconstruction_term(module, x, z)}
        beta = self.resolved_params_["gaussian_kl_weight"]
        if beta:
            terms["gaussian_kl"] = beta * kl_diagonal_gaussians(mean, log_var).mean()
        return terms

    def _elbo_terms(self, module, x, tau, generator):
        """The mixture's negative ELBO terms on a batch, at Gumbel-softmax temperature ``tau``.

        The reconstruction of one relaxed draw of ``(y, z)``; the Gaussian
        and the categorical KL exact in ``y``.
        """
        logits, mean, log_var = module.encode(x)
        log_q = logits.log_softmax(dim=1)
        q = log_q.exp()
        terms = {}
        if self.reconstruction_weight:
            y = gumbel_softmax(logits, tau, self.straight_through, generator)
            eps = torch.randn(
                mean.shape[0],
                1,
                mean.shape[2],
                device=x.device,
                dtype=mean.dtype,
                generator=generator,
            )
            z = mixture_reparametrize(y, mean, log_var, eps)
            terms["reconstruction"] = self._reconstruction_term(module, x, z)
        beta = self.resolved_params_["gaussian_kl_weight"]
        if beta:
            terms["gaussian_kl"] = beta * expected_kl(q, module.kl_gaussians(mean, log_var)).mean()
        if self.categorical_kl_weight:
            if self.categorical_kl == "marginal":
                kl = marginal_categorical_kl(gather_rows(q))  # the whole batch's marginal
            else:  # the ELBO's own term
                kl = categorical_kl(q, log_q).mean()
            terms["categorical_kl"] = self.categorical_kl_weight * kl
        return terms

    @property
    def means_(self):
        """Means of the learned prior ``p(z|y)``, (n_clusters, latent_dim), rows in label order."""
        check_is_fitted(self)
        return self.module_.prior_mean.detach().double().numpy()[np.argsort(self.label_map_)]

    @property
    def covariances_(self):
        """Diagonal variances of the learned prior ``p(z|y)``, ordered like :attr:`means_`."""
        check_is_fitted(self)
        variances = self.module_.prior_log_var.detach().double().exp().numpy()
        return variances[np.argsort(self.label_map_)]

    # ----------------------------------------------------------- inference
    def _inference(self, module, x):
        logits, mean, _ = module.encode(x)
        q = logits.softmax(dim=1)
        # The mean of the mixture posterior q(z|x) = sum_k q(k|x) q(z|x, k).
        return {"embedding": (q.unsqueeze(2) * mean).sum(dim=1), "proba": q}

    def _elbo(self, module, x):
        return {"elbo": module.elbo(x, self.resolved_params_["likelihood"])}

    def score_samples(self, X):
        """Evidence lower bound of each sample, ``ELBO(x) <= log p(x)``.

        The expectation over the cluster ``y`` is exact (a sum over the
        ``n_clusters`` components); the one over ``z`` uses a single
        standard-normal draw shared by all samples, so a sample's score does
        not depend on the others it is scored with, and repeated calls agree.
        For tabular data (Gaussian likelihood) the score is a log-density of
        ``X`` in its own units; for images (Bernoulli likelihood) it is the
        log-likelihood of the pixels scaled to [0, 1].

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array

        Returns
        -------
        elbo : ndarray of shape (n_samples,)
            In nats; higher is better.
        """
        check_is_fitted(self)
        return self._elbo_of(self._validate_X(X, reset=False))

    def _elbo_of(self, X):
        """Each row's ELBO of validated ``X``, in ``X``'s own units (see :meth:`score_samples`)."""
        elbo = self._infer(X, self._elbo)["elbo"]
        if self.resolved_params_["likelihood"] == "gaussian":  # the density of X, not its z-scores
            elbo = elbo - self.n_features_in_ * np.log(self.input_scale_)
        return elbo

    def score(self, X, y=None):
        """The mean ELBO of ``X`` (:meth:`score_samples`), the model's label-free criterion.

        Higher is better: what ``n_init`` with ``combine="best"`` keeps a
        restart by, and :class:`~sklearn.model_selection.GridSearchCV` without
        ``scoring`` selects parameters by, as for
        :class:`~sklearn.mixture.GaussianMixture`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        score : float
            Nats per sample.
        """
        return float(self.score_samples(X).mean())

    def _label_free_score(self, X, outputs):
        """:meth:`score` of validated ``X``: the ELBO needs its own pass (``outputs`` unused)."""
        return float(self._elbo_of(X).mean())

    def sample(self, n_samples=1):
        """Generate samples from the learned model.

        Clusters are drawn uniformly (the prior ``p(y)``), codes from their
        Gaussians, and each sample is the decoder's mean of ``p(x|z)`` (pixel
        intensities, not binary draws), in the units and layout of the
        training input.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to generate.

        Returns
        -------
        X : ndarray of shape (n_samples, ...)
            Shaped like the rows or images ``fit`` was given.
        y : ndarray of shape (n_samples,)
            The cluster label of each sample, as :meth:`predict` numbers them.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, np.full(self.n_clusters_, 1.0 / self.n_clusters_))
        components = np.repeat(np.arange(self.n_clusters_), counts)
        module, device, dtype = self._inference_module(self.module_)
        eps = torch.as_tensor(
            rng.standard_normal((n_samples, self.latent_dim)), dtype=dtype, device=device
        )
        index = torch.as_tensor(components, device=device)
        with torch.no_grad():
            z = module.prior_mean[index] + (0.5 * module.prior_log_var[index]).exp() * eps

        def decode(codes):
            decoded = module.decoder(codes)
            if self.resolved_params_["likelihood"] == "bernoulli":
                decoded = torch.sigmoid(decoded)
            return decoded.double().cpu().numpy()

        images = np.concatenate(map_chunks(decode, z, 1024))
        return self._unscale(images), self.label_map_[components]
