import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits, make_blobs

from skdeepcluster import DualAESpectralClustering
from skdeepcluster.metrics import cluster_accuracy
from skdeepcluster.nn.backbones import CholeskyOrthonorm

from .conftest import quick, resolve
from .conftest import torch_generator as _gen


@pytest.mark.slow
def test_fit_on_digit_images_trains_every_term_and_beats_chance():
    digits = load_digits()
    X, y = digits.images[:600], digits.target[:600]
    est = DualAESpectralClustering(
        n_clusters=10,
        pretrain_epochs=15,
        siamese_epochs=10,
        spectral_epochs=15,
        max_epochs=5,
        spectral_batch_size=300,
        random_state=0,
    ).fit(X)
    phases = [r["phase"] for r in est.history_]
    assert phases == ["autoencoder"] * 15 + ["siamese"] * 10 + ["spectral"] * 15 + ["joint"] * 5
    assert est.n_iter_ == 45
    joint = est.history_[-1]
    assert {"reconstruction", "dual", "mi_global", "mi_local", "kl", "spectral"} <= set(joint)
    first_ae, last_ae = est.history_[0], est.history_[14]
    assert last_ae["reconstruction"] < first_ae["reconstruction"]
    assert last_ae["mi_local"] < first_ae["mi_local"]
    assert est.history_[24]["siamese"] < est.history_[15]["siamese"]
    assert est.history_[39]["spectral"] < est.history_[25]["spectral"]
    assert cluster_accuracy(y, est.labels_) > 0.6
    embedding = est.transform(X)
    assert embedding.shape == (600, 10)
    # The spectral embedding is orthonormal over the training set.
    np.testing.assert_allclose(embedding.T @ embedding / 600, np.eye(10), atol=1e-3)
    np.testing.assert_array_equal(est.predict(X), est.labels_)
    assert est.cluster_centers_.shape == (10, 10)


@pytest.mark.parametrize(
    "weights, absent",
    [
        (
            dict(mi_global_weight=0, mi_local_weight=0, dual_weight=0, spectral_weight=0),
            {"mi_global", "mi_local", "dual", "spectral"},
        ),
        (dict(dual_weight=0), {"dual"}),
        (dict(kl_weight=0, spectral_weight=0), {"kl", "spectral"}),
    ],
    ids=["ConvAE", "no-RS", "no-KL-no-SN"],
)
def test_zero_weight_switches_its_term_off(weights, absent):
    X = load_digits().images[:120]
    est = quick(DualAESpectralClustering, random_state=0, **weights).fit(X)
    # The spectral phase always trains the spectral net; the weights act on
    # the autoencoder and joint phases.
    terms = set().union(*(r.keys() for r in est.history_ if r["phase"] != "spectral"))
    assert not absent & terms
    assert "reconstruction" in terms


@pytest.mark.slow
def test_tabular_input_uses_mlp_and_finds_blobs():
    X, y = make_blobs(300, centers=4, n_features=6, random_state=1)
    est = DualAESpectralClustering(n_clusters=4, random_state=0).fit(X)
    assert est.image_shape_ is None and est.module_.mi_local is None
    assert cluster_accuracy(y, est.labels_) > 0.9


def test_paper_affinity_has_no_siamese_phase():
    X = load_digits().images[:150]
    est = quick(DualAESpectralClustering, affinity="knn", latent_dim=16, random_state=0).fit(X)
    assert est.module_.siamese is None
    assert "siamese" not in {r["phase"] for r in est.history_}
    assert est.module_.spectral[0].in_features == 16  # the spectral net reads z


@pytest.mark.parametrize(
    "shape, expected", [((8, 8), 10), ((28, 28), 120), ((16, 16), 39), ((3, 32, 32), 120)]
)
def test_auto_latent_dim_keeps_the_papers_ratio(shape, expected):
    X = np.random.default_rng(0).random((40, *shape))
    est = DualAESpectralClustering(
        n_clusters=2,
        pretrain_epochs=1,
        siamese_epochs=1,
        spectral_epochs=1,
        max_epochs=1,
        image_shape=shape if len(shape) == 3 else None,
        random_state=0,
    ).fit(X)
    assert est.module_.latent_dim == expected


@pytest.mark.slow
def test_auto_epochs_count_updates_not_passes():
    # 300 samples are one autoencoder batch of 256 (the rest dropped) and one
    # joint batch: "auto" gives the capped 100 and 50 epochs.
    X = load_digits().images[:300]
    est = DualAESpectralClustering(
        latent_dim=8, siamese_epochs=1, spectral_epochs=1, batch_size=256, random_state=0
    ).fit(X)
    phases = [r["phase"] for r in est.history_]
    assert phases.count("autoencoder") == 100 and phases.count("joint") == 50


@pytest.mark.slow
def test_small_sets_train_in_batches_of_64_on_a_10_neighbour_graph():
    # Fewer than 1,024 samples: batch_size="auto" is 64, so 600 samples give 9
    # updates an epoch and ~400 updates take 45 epochs (256: 2 an epoch, 100).
    X = load_digits().images[:600]
    est = DualAESpectralClustering(
        latent_dim=8, siamese_epochs=1, spectral_epochs=1, max_epochs=1, random_state=0
    ).fit(X)
    assert [r["phase"] for r in est.history_].count("autoencoder") == 45
    assert est.resolved_params_["batch_size"] == 64
    assert est.resolved_params_["pretrain_epochs"] == 45

    def auto(n, **params):
        resolved = resolve(DualAESpectralClustering(**params), n, (1, 8, 8))
        return resolved["batch_size"], resolved["affinity_neighbors"]

    assert auto(1023) == (64, 10) and auto(1024) == auto(10_000) == (256, 3)
    assert auto(200, affinity_neighbors=7, batch_size=32) == (32, 7)


def test_n_neighbors_is_the_deprecated_name_of_affinity_neighbors():
    X = load_digits().images[:120]
    quick = dict(pretrain_epochs=1, siamese_epochs=1, spectral_epochs=1, max_epochs=1)
    with pytest.warns(FutureWarning, match="renamed affinity_neighbors") as record:
        est = DualAESpectralClustering(n_neighbors=5, random_state=0, **quick).fit(X)
    assert record[0].filename == __file__  # the warning names the line that called fit
    renamed = DualAESpectralClustering(affinity_neighbors=5, random_state=0, **quick).fit(X)
    assert est.resolved_params_["affinity_neighbors"] == 5
    np.testing.assert_array_equal(est.labels_, renamed.labels_)
    with pytest.raises(ValueError, match="set only affinity_neighbors"):
        DualAESpectralClustering(n_neighbors=5, affinity_neighbors=4, **quick).fit(X)


# ------------------------------------------------------------------ the losses
def _dual_net(est, shape=(1, 8, 8), n=40):
    est.resolved_params_ = resolve(est, n, shape)
    torch.manual_seed(0)
    return est._build_module(torch.zeros(2, *shape))


def test_siamese_loss_pushes_codes_the_net_maps_together_apart():
    est = DualAESpectralClustering(n_clusters=3)
    net = _dual_net(est)
    for p in net.siamese.parameters():  # every code mapped to one point
        torch.nn.init.zeros_(p)
    codes = torch.randn(10, net.latent_dim)
    neighbors = torch.arange(10).roll(1)[:, None]
    loss = est._siamese_terms(net, codes, neighbors, torch.arange(10), _gen())["siamese"]
    # positives within the margin cost nothing, negatives at distance 0 cost margin^2 = 1
    assert float(loss) == pytest.approx(1.0, abs=1e-5)  # distances floored at 1e-6


def test_autoencoder_kl_term_vanishes_at_the_prior():
    est = DualAESpectralClustering(
        n_clusters=3, dual_weight=0, mi_global_weight=0, mi_local_weight=0, kl_weight=0.1
    )
    net = _dual_net(est)
    x = torch.rand(6, 1, 8, 8)
    mu, logvar = torch.zeros(6, net.latent_dim), torch.zeros(6, net.latent_dim)
    terms = est._autoencoder_terms(net, x, (mu, logvar, None), _gen())
    assert set(terms) == {"reconstruction", "kl"} and float(terms["kl"]) == 0.0
    shifted = est._autoencoder_terms(net, x, (mu + 1, logvar, None), _gen())
    assert float(shifted["kl"]) == pytest.approx(0.1 * 0.5 * net.latent_dim)


class _FixedSpectral(torch.nn.Module):
    """A spectral net that gives one embedding, whatever its input, then SpectralNet's layer."""

    def __init__(self, embedding):
        super().__init__()
        self.embedding = embedding
        self.orthonorm = CholeskyOrthonorm(embedding.shape[1])

    def spectral(self, rows):
        return self.embedding


def test_spectral_term_prefers_an_embedding_that_follows_the_graph():
    est = DualAESpectralClustering(n_clusters=2, affinity_neighbors=3)
    est.resolved_params_ = resolve(est, 40, (1, 8, 8))
    torch.manual_seed(0)
    space = torch.cat([torch.zeros(10, 2), torch.full((10, 2), 10.0)]) + 0.1 * torch.randn(20, 2)
    indicator = torch.cat([torch.zeros(10), torch.ones(10)])[:, None]
    follows = _FixedSpectral(torch.cat([indicator, torch.randn(20, 1)], dim=1))
    crosses = _FixedSpectral(torch.randn(20, 2))
    assert float(est._spectral_term(follows, space)) < float(est._spectral_term(crosses, space))
