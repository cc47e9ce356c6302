import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits, make_blobs
from sklearn.model_selection import GridSearchCV

from skdeepcluster import VariationalClustering
from skdeepcluster.metrics import cluster_accuracy
from skdeepcluster.nn.latent import categorical_kl, expected_kl, marginal_categorical_kl

from .conftest import fit_blobs, resolve
from .conftest import torch_generator as _gen

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
    assert set(labels) <= set(range(10))
    assert images.min() >= 0 and images.max() <= 16  # digits' own range
    # Clusters are drawn from the uniform prior p(y), and the samples come cluster by cluster.
    _, many = est.sample(2000)
    counts = np.bincount(many, minlength=10)
    assert counts.min() > 140 and counts.max() < 260  # 200 each, within 4.5 binomial sd
    assert np.count_nonzero(np.diff(many)) == 10 - 1  # one run of samples per cluster
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


def test_elbo_terms_are_the_elbos_kl_terms_weighted():
    est = VariationalClustering(
        n_clusters=3, latent_dim=2, reconstruction_weight=0.0, categorical_kl="per_sample"
    )
    est.resolved_params_ = resolve(est, 30, (5,))
    beta = est.resolved_params_["gaussian_kl_weight"]
    torch.manual_seed(0)
    module = est._build_module(torch.zeros(2, 5))
    x = torch.randn(8, 5)
    terms = est._elbo_terms(module, x, tau=1.0, generator=_gen())
    logits, mean, log_var = module.encode(x)
    q, log_q = logits.softmax(1), logits.log_softmax(1)
    kl = expected_kl(q, module.kl_gaussians(mean, log_var)).mean()
    assert set(terms) == {"gaussian_kl", "categorical_kl"}  # no reconstruction at weight 0
    torch.testing.assert_close(terms["gaussian_kl"], beta * kl)
    torch.testing.assert_close(terms["categorical_kl"], categorical_kl(q, log_q).mean())
    est.set_params(categorical_kl="marginal")
    marginal = est._elbo_terms(module, x, tau=1.0, generator=_gen())["categorical_kl"]
    torch.testing.assert_close(marginal, marginal_categorical_kl(q))
    # confident assignments cost nothing in the marginal form, all of log K per row otherwise
    assert float(marginal) < float(terms["categorical_kl"])
