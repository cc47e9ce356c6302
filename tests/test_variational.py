import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits, make_blobs
from sklearn.model_selection import GridSearchCV

from skdeepcluster import VariationalClustering
from skdeepcluster.metrics import cluster_accuracy
from skdeepcluster.nn.latent import GaussianMixtureVAE, gumbel_softmax, mixture_reparametrize

from .conftest import fit_blobs, resolve

TERMS = {"reconstruction", "gaussian_kl", "categorical_kl"}


@pytest.fixture(scope="module")
def digits_fit():
    digits = load_digits()
    X, y = digits.images[:600], digits.target[:600]
    est = VariationalClustering(n_clusters=10, max_epochs=40, random_state=0)
    untrained = VariationalClustering(n_clusters=10, max_epochs=1, random_state=0).fit(X)
    return X, y, est.fit(X), untrained


@pytest.mark.slow
def test_fit_on_digit_images_trains_every_term_and_beats_chance(digits_fit):
    X, y, est, _ = digits_fit
    assert est.n_iter_ == 40 and TERMS <= set(est.history_[-1])
    assert est.history_[-1]["reconstruction"] < 0.8 * est.history_[0]["reconstruction"]
    temperatures = [r["temperature"] for r in est.history_]
    assert temperatures[0] == 1.0 and np.all(np.diff(temperatures) < 0)
    assert cluster_accuracy(y, est.labels_) > 0.5  # chance is about 0.2
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_array_equal(proba.argmax(axis=1), est.labels_)
    np.testing.assert_array_equal(est.predict(X), est.labels_)
    assert est.transform(X).shape == (600, 32)
    assert est.means_.shape == est.covariances_.shape == (10, 32)
    assert np.all(est.covariances_ > 0)


@pytest.mark.slow
def test_the_prior_is_learned_with_the_networks(digits_fit):
    _, _, est, untrained = digits_fit
    moved = np.abs(
        est.module_.prior_mean.detach().numpy() - untrained.module_.prior_mean.detach().numpy()
    ).max()
    assert moved > 0.05
    assert not np.allclose(est.covariances_, 1.0)


@pytest.mark.slow
def test_training_raises_the_elbo_and_score_is_its_mean(digits_fit):
    X, _, est, untrained = digits_fit
    elbo = est.score_samples(X)
    assert elbo.shape == (600,) and np.all(np.isfinite(elbo))
    assert np.all(elbo <= 0)  # Bernoulli likelihood of pixels in [0, 1], minus KL terms
    assert est.score(X) == pytest.approx(elbo.mean())
    assert est.score(X) > untrained.score(X) + 5
    # Repeated calls and subsets agree (one shared draw for z).
    np.testing.assert_allclose(est.score_samples(X[:7]), elbo[:7], rtol=1e-12)


@pytest.mark.slow
def test_sample_draws_images_per_cluster_shaped_like_the_input(digits_fit):
    X, _, est, _ = digits_fit
    images, labels = est.sample(50)
    assert images.shape == (50, 8, 8) and labels.shape == (50,)
    assert set(labels) <= set(range(10)) and np.all(np.diff(labels[np.argsort(labels)]) >= 0)
    assert images.min() >= 0 and images.max() <= 16  # digits' own range
    again, labels_again = est.sample(50)
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(labels, labels_again)
    # Samples of a cluster are mostly put back in that cluster.
    assert np.mean(est.predict(images) == labels) > 0.6
    with pytest.raises(ValueError, match="n_samples"):
        est.sample(0)


@pytest.mark.parametrize("layout", ["nhwc", "rows"])
def test_sample_follows_the_training_layout(layout):
    X = load_digits().images[:100]
    kwargs = {}
    if layout == "nhwc":
        X = np.repeat(X[..., None], 3, axis=3)
    else:
        X, kwargs = X.reshape(100, -1), {"image_shape": (1, 8, 8)}
    est = VariationalClustering(n_clusters=3, max_epochs=1, random_state=0, **kwargs).fit(X)
    assert est.sample(4)[0].shape == (4, *X.shape[1:])


def test_mixture_reparametrisation():
    gen = torch.Generator().manual_seed(0)
    mean = torch.randn(5, 3, 4, generator=gen)
    log_var = torch.randn(5, 3, 4, generator=gen)
    eps = torch.randn(5, 1, 4, generator=gen)
    onehot = torch.nn.functional.one_hot(torch.tensor([0, 1, 2, 1, 0]), 3).float()
    z = mixture_reparametrize(onehot, mean, log_var, eps)
    rows = torch.arange(5)
    k = onehot.argmax(1)
    expected = mean[rows, k] + (0.5 * log_var[rows, k]).exp() * eps[:, 0]
    torch.testing.assert_close(z, expected)
    # A relaxed sample mixes the per-cluster draws linearly.
    soft = torch.tensor([[0.25, 0.75, 0.0]]).expand(5, 3)
    mixed = mixture_reparametrize(soft, mean, log_var, eps)
    draws = mean + (0.5 * log_var).exp() * eps
    torch.testing.assert_close(mixed, 0.25 * draws[:, 0] + 0.75 * draws[:, 1])


def test_gumbel_softmax_samples_the_categorical():
    gen = torch.Generator().manual_seed(0)
    logits = torch.log(torch.tensor([[0.6, 0.3, 0.1]])).expand(20000, 3).clone().requires_grad_()
    soft = gumbel_softmax(logits, 0.5, generator=gen)
    torch.testing.assert_close(soft.sum(1), torch.ones(20000))
    freq = torch.bincount(soft.argmax(1), minlength=3).float() / 20000
    torch.testing.assert_close(freq, torch.tensor([0.6, 0.3, 0.1]), atol=0.015, rtol=0)
    hard = gumbel_softmax(logits, 0.5, straight_through=True, generator=gen)
    assert set(hard.detach().unique().tolist()) == {0.0, 1.0}
    (hard[:, 0]).sum().backward()
    assert logits.grad.abs().sum() > 0  # the relaxed sample's gradient passes through


@pytest.mark.parametrize(
    "params, absent",
    [
        (dict(reconstruction_weight=0), {"reconstruction"}),
        (dict(gaussian_kl_weight=0), {"gaussian_kl"}),
        (dict(categorical_kl_weight=0), {"categorical_kl"}),
    ],
    ids=["no-reconstruction", "no-gaussian-kl", "no-categorical-kl"],
)
def test_zero_weight_switches_its_term_off(params, absent):
    X = load_digits().images[:200]
    est = VariationalClustering(max_epochs=2, random_state=0, **params).fit(X)
    terms = set().union(*(r.keys() for r in est.history_))
    assert not absent & terms
    assert (TERMS - absent) <= terms


def test_pretraining_runs_first_and_the_mixture_starts_from_its_clusters():
    X = load_digits().images[:300]
    est = VariationalClustering(pretrain_epochs=3, max_epochs=2, random_state=0).fit(X)
    assert [r["phase"] for r in est.history_] == ["pretrain"] * 3 + ["train"] * 2
    assert {"reconstruction", "gaussian_kl"} <= set(est.history_[0])
    assert "categorical_kl" not in est.history_[0] and est.n_iter_ == 5
    paper = VariationalClustering(pretrain_epochs=0, max_epochs=2, random_state=0).fit(X)
    assert [r["phase"] for r in paper.history_] == ["train"] * 2
    # a warm start trains the mixture further: no second pretraining or initialisation
    est.set_params(warm_start=True).fit(X)
    assert [r["phase"] for r in est.history_] == ["pretrain"] * 3 + ["train"] * 4


def test_mixture_initialisation_copies_the_posterior_and_discriminates_the_components():
    torch.manual_seed(0)
    net = GaussianMixtureVAE((1, 8, 8), n_clusters=3, latent_dim=4)
    centers = torch.tensor([[0.0, 0, 0, 0], [3.0, 0, 0, 0], [0.0, 0, -3, 0]])
    variances = torch.full((3, 4), 0.5)
    net.init_mixture(centers, variances)
    h = torch.randn(50, 256)
    mean0, log_var0 = net._head(h, 0)
    for k in range(3):  # every q(z|x, y=k) is the pretrained one
        mean, log_var = net._head(h, k)
        torch.testing.assert_close(mean, mean0)
        torch.testing.assert_close(log_var, log_var0)
    torch.testing.assert_close(net.prior_mean.data, centers)
    torch.testing.assert_close(net.prior_log_var.data.exp(), variances)
    # q(y|x) picks the component nearest to the code (equal variances)
    nearest = torch.cdist(mean0, centers).argmin(dim=1)
    assert torch.equal(net.cluster_logits(h).argmax(dim=1), nearest)


@pytest.mark.parametrize(
    "shape, pretrained", [((1, 8, 8), False), ((1, 28, 28), True), ((5,), False)]
)
def test_auto_pretraining_is_for_samples_of_more_than_196_values(shape, pretrained):
    def epochs(n, **params):
        resolved = resolve(VariationalClustering(**params), n, shape)
        return resolved["pretrain_epochs"], resolved["max_epochs"]

    assert (epochs(10000)[0] > 0) == pretrained
    assert epochs(10, pretrain_epochs=7)[0] == 7
    if pretrained:  # about 1,000 updates within 20-150 epochs, then 100 mixture epochs
        assert [epochs(n)[0] for n in (10000, 1440, 200)] == [20, 46, 150]
        assert epochs(200)[1] == epochs(10000)[1] == 100
    else:  # from scratch: about 7,000 mixture updates within 100-250 epochs
        assert [epochs(n)[1] for n in (1797, 10000)] == [250, 100]


@pytest.mark.slow
def test_tabular_input_uses_gaussian_likelihood_and_finds_blobs():
    X, est = fit_blobs(VariationalClustering)
    assert est.sample(6)[0].shape == (6, 5)
    # An outlier is less likely than the data (a log-density of X in its units).
    assert est.score(X + 100.0) < est.score(X) - 100


@pytest.mark.slow
def test_grid_search_without_labels_selects_by_held_out_elbo():
    X, _ = make_blobs(300, centers=3, n_features=4, random_state=0)
    search = GridSearchCV(
        VariationalClustering(n_clusters=3, random_state=0), {"max_epochs": [1, 40]}, cv=3
    ).fit(X)
    assert search.best_params_ == {"max_epochs": 40}
    assert np.isfinite(search.best_score_)


def test_bad_parameters():
    X = load_digits().images[:50]
    with pytest.raises(ValueError, match="tau_min"):
        VariationalClustering(tau0=0.5, tau_min=1.0, max_epochs=1).fit(X)
    with pytest.raises(ValueError, match="bernoulli"):
        VariationalClustering(likelihood="bernoulli", max_epochs=1).fit(np.random.rand(50, 4))
    with pytest.raises(ValueError, match="likelihood"):
        VariationalClustering(likelihood="poisson", max_epochs=1).fit(X)
