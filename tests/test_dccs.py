import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from skdeepcluster import DCCSClustering
from skdeepcluster.metrics import cluster_accuracy
from skdeepcluster.nn.backbones import ResNetEncoder

from .conftest import fit_blobs, resolve

TERMS = {"critic", "gradient_penalty", "adversarial", "mi", "balance", "augmentation"}


@pytest.mark.slow
def test_fit_on_digit_images_trains_every_term_and_beats_chance():
    digits = load_digits()
    X, y = digits.images[:600], digits.target[:600]
    est = DCCSClustering(n_clusters=10, max_epochs=60, batch_size=64, random_state=0).fit(X)
    assert est.n_iter_ == 60 and TERMS <= set(est.history_[-1])
    # The critic's Wasserstein estimate shrinks as the encoder matches the prior.
    assert est.history_[-1]["critic"] > est.history_[0]["critic"]
    assert est.history_[-1]["mi"] < est.history_[0]["mi"]
    assert cluster_accuracy(y, est.labels_) > 0.3  # chance is about 0.2
    assert len(np.unique(est.labels_)) == 10
    # The batch-mean assignment ends close to uniform: KL to it well under log 10 = 2.3
    # (the term is that KL times the weight, 4 on 60 images per cluster).
    assert est.resolved_params_["beta_balance"] == 4.0
    assert est.history_[-1]["balance"] < 0.05 * 4.0
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_array_equal(proba.argmax(axis=1), est.labels_)
    embedding = est.transform(X)
    assert embedding.shape == (600, 60)
    # transform is [z_s, softmax(z_c)]: its category part is predict_proba up to the label order.
    np.testing.assert_allclose(
        np.sort(embedding[:, 50:], axis=1), np.sort(proba, axis=1), atol=1e-12
    )
    np.testing.assert_array_equal(est.predict(X), est.labels_)


@pytest.mark.parametrize(
    "params, absent",
    [
        (dict(beta_adv=0), {"critic", "gradient_penalty", "adversarial"}),
        (dict(n_critic=0), {"critic", "gradient_penalty", "adversarial"}),
        (dict(beta_mi=0), {"mi"}),
        (dict(beta_aug=0), {"augmentation"}),
        (dict(beta_balance=0), {"balance"}),
        (dict(gp_weight=0), {"gradient_penalty"}),
    ],
    ids=["no-adv", "no-critic", "no-mi", "no-aug", "no-balance", "no-gp"],
)
def test_zero_weight_switches_its_term_off(params, absent):
    X = load_digits().images[:200]
    est = DCCSClustering(max_epochs=2, batch_size=64, random_state=0, **params).fit(X)
    terms = set().union(*(r.keys() for r in est.history_))
    assert not absent & terms
    assert (TERMS - absent) <= terms


def test_colour_images_grayscale_by_default_and_rgb_on_request():
    rng = np.random.default_rng(0)
    X = rng.random((40, 3, 12, 12)).astype(np.float32)
    grey = DCCSClustering(n_clusters=3, max_epochs=1, random_state=0).fit(X)
    rgb = DCCSClustering(
        n_clusters=3, max_epochs=1, color_mode="rgb", hflip=True, random_state=0
    ).fit(X)
    assert grey.module_.encoder.conv_front[0][0].in_channels == 1
    assert rgb.module_.encoder.conv_front[0][0].in_channels == 3
    assert grey.predict(X).shape == rgb.predict(X).shape == (40,)


def test_large_images_get_the_resnet_encoder_on_request():
    X = np.random.default_rng(0).random((24, 32, 32, 3)).astype(np.float32)
    est = DCCSClustering(
        n_clusters=2, encoder="resnet", max_epochs=1, batch_size=8, random_state=0
    ).fit(X)
    encoder = est.module_.encoder
    assert isinstance(encoder, ResNetEncoder)
    assert encoder.feature_shape == (512, 4, 4)  # the official CIFAR feature map
    assert est.predict_proba(X).shape == (24, 2)


@pytest.mark.parametrize("size, feature_shape", [(32, (128, 6, 6)), (64, (256, 6, 6))])
def test_auto_encoder_on_the_cpu_is_the_conv_encoder_grown_to_the_image(size, feature_shape):
    X = np.random.default_rng(0).random((16, size, size)).astype(np.float32)
    est = DCCSClustering(
        n_clusters=2, max_epochs=1, batch_size=8, device="cpu", random_state=0
    ).fit(X)
    assert not isinstance(est.module_.encoder, ResNetEncoder)
    assert est.module_.encoder.feature_shape == feature_shape
    assert est.module_.mi.first.in_features == 36 * feature_shape[0] + 50 + 2


def test_a_torch_module_as_encoder_is_copied_and_trained():
    backbone = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, stride=2), torch.nn.ReLU())
    before = [p.detach().clone() for p in backbone.parameters()]
    X = load_digits().images[:120]
    est = DCCSClustering(
        n_clusters=3, encoder=backbone, max_epochs=1, batch_size=20, random_state=0
    ).fit(X)  # 6 batches: 4 critic, 1 encoder, 1 critic
    # The user's module is untouched; the fitted copy started from its weights and moved.
    for p, b in zip(backbone.parameters(), before):
        assert torch.equal(p, b)
    fitted = est.module_.encoder.backbone
    assert fitted is not backbone
    assert not torch.equal(fitted[0].weight, before[0])
    assert est.module_.encoder.feature_shape == (8, 3, 3)
    assert est.predict(X).shape == (120,)


def test_encoder_module_with_wrong_output_is_refused():
    class Scalar(torch.nn.Module):
        def forward(self, x):
            return x.sum()

    with pytest.raises(ValueError, match="encoder must map"):
        DCCSClustering(n_clusters=3, encoder=Scalar(), max_epochs=1).fit(load_digits().images[:30])


@pytest.mark.slow
def test_tabular_input_uses_mlp_and_finds_blobs():
    fit_blobs(DCCSClustering)


def test_bad_color_mode():
    with pytest.raises(ValueError, match="color_mode"):
        DCCSClustering(color_mode="sepia").fit(load_digits().images[:20])


def test_auto_crop_scale_is_official_on_large_sets_of_28_pixels_and_more():
    def crop(n, shape, n_clusters=10, **params):
        return resolve(DCCSClustering(n_clusters=n_clusters, **params), n, shape)["crop_scale"]

    assert crop(10000, (1, 28, 28)) == (0.4, 1.0)  # MNIST-test: 1,000 per cluster
    assert crop(5000, (1, 64, 96)) == (0.4, 1.0)
    assert crop(70000, (1, 8, 8)) == (0.7, 1.0)  # too small to crop 40%
    assert crop(2000, (1, 28, 28)) == (0.7, 1.0)  # few images per cluster
    assert crop(1440, (1, 32, 32), n_clusters=20) == (0.7, 1.0)  # COIL-20
    assert crop(100, (5,)) is None
    assert crop(100, (1, 8, 8), crop_scale=(0.5, 0.9)) == (0.5, 0.9)


@pytest.mark.parametrize(
    "shape, hflip, flipped",
    [
        ((1, 8, 8), "auto", False),  # digits change meaning mirrored
        ((1, 28, 28), "auto", False),
        ((1, 32, 32), "auto", True),  # COIL-20
        ((3, 28, 28), "auto", True),  # colour photographs
        ((1, 32, 32), False, False),
        ((1, 8, 8), True, True),
    ],
)
def test_auto_hflip_mirrors_photographs_not_small_grey_images(shape, hflip, flipped):
    est = DCCSClustering(n_clusters=2, hflip=hflip)
    est.resolved_params_ = resolve(est, 4, shape)
    augmenter = est._augmenter(torch.zeros(4, *shape))
    assert augmenter.hflip == (0.5 if flipped else 0.0)


@pytest.mark.parametrize("crop_scale", [(0.0, 1.0), (0.8, 0.5), (0.5, 1.5), (0.5,), ("a", 1.0)])
def test_bad_crop_scale(crop_scale):
    with pytest.raises(ValueError, match="crop_scale"):
        DCCSClustering(crop_scale=crop_scale, max_epochs=1).fit(load_digits().images[:20])


def test_auto_epochs_give_55_encoder_updates_per_cluster_at_most_one_per_image():
    def epochs(n, n_clusters=10, **params):
        return resolve(DCCSClustering(n_clusters=n_clusters, **params), n, (1, 8, 8))["max_epochs"]

    # batches of 128; 5 batches per encoder update
    # digits: 14 batches an epoch, 550 updates; MNIST-test: 36 epochs, raised to 100
    assert [epochs(n) for n in (1797, 2000, 10000)] == [197, 184, 100]
    # COIL-20: 11 batches an epoch; 200 images: one batch an epoch, 200 updates
    assert [epochs(n, n_clusters=20) for n in (1440, 200)] == [500, 1000]
    assert epochs(1440, n_clusters=20, beta_adv=0) == 100  # 1 batch an update
    assert epochs(10000, max_epochs=3) == 3


def test_auto_balance_weight_is_4_on_small_sets_and_1_on_large_ones():
    def balance(n, n_clusters=10, **params):
        return resolve(DCCSClustering(n_clusters=n_clusters, **params), n, (1, 8, 8))[
            "beta_balance"
        ]

    # digits (180 images per cluster), 500 per cluster, MNIST-test and MNIST (1,000 and 7,000)
    assert [balance(n) for n in (1797, 5000, 10000, 70000)] == [4.0, 2.0, 1.0, 1.0]
    assert balance(1440, n_clusters=20) == 4.0  # COIL-20
    assert balance(100, beta_balance=0.5) == 0.5


# ------------------------------------------------------------------ the losses
def _dccs_net(est, shape=(1, 8, 8), n=40):
    """``est`` resolved for ``n`` images of ``shape`` and its network (seeded)."""
    est.resolved_params_ = resolve(est, n, shape)
    torch.manual_seed(0)
    return est._build_module(torch.zeros(2, *shape))


def test_balance_term_is_log_k_minus_the_entropy_of_the_mean_assignment():
    est = DCCSClustering(n_clusters=4, style_dim=3)
    est.n_clusters_ = 4  # what fit resolves n_clusters to
    uniform = torch.cat([torch.zeros(8, 3), 5.0 * torch.eye(4).repeat(2, 1)], dim=1)
    assert float(est._balance_term(uniform)) == pytest.approx(0.0, abs=1e-3)
    one = torch.cat([torch.zeros(8, 3), 50.0 * torch.eye(4)[[0] * 8]], dim=1)
    assert float(est._balance_term(one)) == pytest.approx(np.log(4), rel=1e-4)


def test_augmentation_term_is_zero_for_the_image_itself_and_positive_otherwise():
    est = DCCSClustering(n_clusters=4, style_dim=3, beta_adv=0.0, beta_mi=0.0, beta_balance=0.0)
    net = _dccs_net(est)
    x = torch.rand(16, 1, 8, 8)
    same = est._encoder_terms(net, x, lambda: x, None)
    assert list(same) == ["augmentation"] and float(same["augmentation"]) == 0.0
    other = est._encoder_terms(net, x, lambda: torch.rand(16, 1, 8, 8), None)
    assert float(other["augmentation"]) > 0.0


def test_critic_loss_falls_as_the_critic_scores_prior_draws_above_codes():
    est = DCCSClustering(n_clusters=4, style_dim=3, gp_weight=0.0)
    net = _dccs_net(est)
    x, gen = torch.rand(16, 1, 8, 8), torch.Generator().manual_seed(0)
    loss = est._critic_terms(net, x, gen)["critic"]
    loss.backward()
    # a step against the gradient makes the critic tell reals from fakes better
    with torch.no_grad():
        for p in net.critic.parameters():
            p -= 1e-3 * p.grad
    after = est._critic_terms(net, x, torch.Generator().manual_seed(0))["critic"]
    assert float(after) < float(loss)
