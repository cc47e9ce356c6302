import copy

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from skdeepcluster import GATCluster
from skdeepcluster.gatcluster import (
    _TargetBatches,
    balanced_target,
    relation_groups,
    sharpened_target,
)
from skdeepcluster.metrics import cluster_accuracy
from skdeepcluster.nn.backbones import VGG_LAYOUTS, VGGEncoder
from skdeepcluster.nn.critics import dissimilar_partner
from skdeepcluster.nn.loop import epochs_for_updates

from .conftest import fit_blobs, resolve

TERMS = {"similarity", "entropy", "attention_entropy", "relation", "attention"}


@pytest.fixture(scope="module")
def digits_fit():
    digits = load_digits()
    X, y = digits.images[:600], digits.target[:600]
    est = GATCluster(n_clusters=10, max_epochs=8, random_state=0).fit(X)
    return X, y, est


@pytest.mark.slow
def test_fit_on_digit_images_trains_every_term_and_beats_chance(digits_fit):
    X, y, est = digits_fit
    assert est.n_iter_ == 8 and TERMS <= set(est.history_[-1])
    assert 0 <= est.history_[-1]["relation_fallback"] <= 1
    # The entropy terms reach their minimum, -log(10) each, for balanced clusters.
    assert est.history_[-1]["entropy"] < -3 * 0.9 * np.log(10)
    assert est.history_[-1]["similarity"] < est.history_[0]["similarity"]
    assert cluster_accuracy(y, est.labels_) > 0.35  # one cluster for all: 0.1
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_array_equal(proba.argmax(axis=1), est.labels_)
    np.testing.assert_array_equal(est.predict(X), est.labels_)
    assert est.transform(X).shape == (600, 32)  # the pooled feature map


@pytest.mark.slow
def test_attention_maps(digits_fit):
    X, _, est = digits_fit
    att = est.attention_maps(X[:20])
    assert att["centers"].shape == (20, 2) and att["sigma"].shape == (20,)
    assert att["maps"].shape == (20, 4, 4)  # an 8x8 digit gives a 4x4 feature map
    assert np.all((att["centers"] >= 0) & (att["centers"] <= 1))
    assert np.all((att["maps"] > 0) & (att["maps"] <= 1))


def test_targets_are_distributions_and_the_sharpened_one_is_sharper():
    q = torch.softmax(torch.randn(50, 4, generator=torch.Generator().manual_seed(0)), dim=1)
    for target in (balanced_target(q), sharpened_target(q)):
        # The released 1e-5 in the denominators keeps rows a hair below 1.
        torch.testing.assert_close(target.sum(1), torch.ones(50), atol=1e-3, rtol=0)
    assert (sharpened_target(q).max(1).values >= q.max(1).values - 1e-6).float().mean() > 0.9
    # The balanced target lowers the weight of a cluster that takes most rows.
    skewed = torch.tensor([[0.9, 0.1]] * 9 + [[0.5, 0.5]])
    assert balanced_target(skewed)[-1, 1] > 0.5


def test_relation_groups_and_their_identity_fallback():
    rng = np.random.default_rng(0)
    centres = np.eye(3)
    p = torch.as_tensor(np.repeat(centres, 20, axis=0) + 0.01 * rng.random((60, 3)))
    groups = relation_groups(p, 3, 0.1, seed=0)
    assert len(torch.unique(groups)) == 3
    assert all(len(torch.unique(groups[i * 20 : (i + 1) * 20])) == 1 for i in range(3))
    # One cluster of two rows is smaller than 0.5 * 62 / 3 rows: identity.
    small = torch.cat([p, torch.tensor([[0.0, 0.0, 5.0], [0.0, 0.0, 5.0]])])
    torch.testing.assert_close(
        relation_groups(torch.cat([small[:40], small[-2:]]), 3, 0.5, 0), torch.arange(42)
    )
    # Fewer distinct rows than clusters: identity.
    torch.testing.assert_close(relation_groups(torch.ones(30, 3), 3, 0.1, 0), torch.arange(30))


def test_negatives_come_from_other_groups():
    groups = torch.tensor([0, 0, 1, 1, 2, 2])
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        partner = dissimilar_partner(groups, gen)
        assert torch.all(groups[partner] != groups)
    torch.testing.assert_close(
        dissimilar_partner(torch.zeros(4, dtype=torch.long), gen), torch.tensor([1, 2, 3, 0])
    )


@pytest.mark.parametrize(
    "params, absent",
    [
        (dict(similarity_weight=0), {"similarity"}),
        (dict(entropy_weight=0), {"entropy", "attention_entropy"}),
        (dict(relation_weight=0), {"relation", "relation_fallback"}),
        (dict(attention_weight=0), {"attention"}),
    ],
    ids=["no-similarity", "no-entropy", "no-relation", "no-attention"],
)
def test_zero_weight_switches_its_term_off(params, absent):
    X = load_digits().images[:200]
    est = GATCluster(max_epochs=1, num_repeat=2, random_state=0, **params).fit(X)
    terms = set().union(*(r.keys() for r in est.history_))
    assert not absent & terms
    assert (TERMS - absent) <= terms


def test_mutual_information_variant():
    X = load_digits().images[:200]
    est = GATCluster(max_epochs=1, num_repeat=2, mi_weight=2.0, feature_dim=32, random_state=0).fit(
        X
    )
    assert "mi" in est.history_[-1] and est.module_.mi is not None
    assert est.transform(X).shape == (200, 32)
    assert GATCluster(max_epochs=1, num_repeat=1, random_state=0).fit(X).module_.mi is None


def test_extra_heads_train_and_their_consensus_labels(monkeypatch):
    from skdeepcluster.nn.attention import GaussianAttentionNet

    initial = []
    build = GaussianAttentionNet.__init__

    def spy(self, *args, **kwargs):
        build(self, *args, **kwargs)
        initial.extend(copy.deepcopy(head.state_dict()) for head in self.extra_heads)

    monkeypatch.setattr(GaussianAttentionNet, "__init__", spy)
    X = load_digits().images[:300]
    est = GATCluster(max_epochs=2, num_repeat=2, n_heads=3, random_state=0).fit(X)
    heads = est.module_.extra_heads
    assert len(heads) == len(initial) == 2
    for head, start in zip(heads, initial):  # every extra head learnt
        assert any(not torch.equal(head.state_dict()[k], v) for k, v in start.items())
    perms = est.head_alignment_["perms"]
    assert perms.shape == (3, 10) and all(sorted(p) == list(range(10)) for p in perms)
    np.testing.assert_array_equal(est.predict(X), est.labels_)
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba.argmax(axis=1), est.labels_)
    # One head is the paper's network: no extra heads, no alignment.
    one = GATCluster(max_epochs=1, num_repeat=1, random_state=0).fit(X[:100])
    assert len(one.module_.extra_heads) == 0 and one.head_alignment_ is None


@pytest.mark.parametrize("layout, size", [("96", 96), ("128", 128)])
def test_released_backbones_give_a_6x6_map(layout, size):
    encoder = VGGEncoder((1, size, size), 10, VGG_LAYOUTS[layout])
    assert encoder(torch.zeros(2, 1, size, size)).shape == (2, 10, 6, 6)
    assert encoder.feature_shape == (10, 6, 6)


def test_backbone_follows_the_image_size_and_widths():
    X = np.random.default_rng(0).random((40, 28, 28))
    est = GATCluster(n_clusters=3, max_epochs=1, num_repeat=1, random_state=0).fit(X)
    assert est.module_.backbone.feature_shape == (32, 4, 4)
    assert est.attention_maps(X[:2])["maps"].shape == (2, 4, 4)
    convs = [m.out_channels for m in est.module_.backbone.net if isinstance(m, torch.nn.Conv2d)]
    assert convs == [32, 32, 64, 64, 32]  # under 64 px: half the released widths
    narrow = GATCluster(
        n_clusters=3,
        max_epochs=1,
        num_repeat=1,
        backbone_widths=(16, 32),
        feature_dim=10,
        random_state=0,
    ).fit(X)
    widths = [m.out_channels for m in narrow.module_.backbone.net if isinstance(m, torch.nn.Conv2d)]
    assert widths == [16, 16, 32, 32, 10]
    with pytest.raises(ValueError, match="backbone_widths"):
        GATCluster(backbone_widths=(16, -1), max_epochs=1).fit(X)
    with pytest.raises(ValueError, match="crop_scale"):
        GATCluster(crop_scale=(0.5, 1.5), max_epochs=1).fit(X)
    cropped = GATCluster(
        n_clusters=3, max_epochs=1, num_repeat=1, crop_scale=(0.4, 1.0), random_state=0
    ).fit(X)
    assert cropped.predict(X).shape == (40,)


def test_colour_images_grayscale_by_default_and_rgb_on_request():
    X = np.random.default_rng(0).random((40, 12, 12, 3)).astype(np.float32)
    grey = GATCluster(n_clusters=3, max_epochs=1, num_repeat=1, random_state=0).fit(X)
    rgb = GATCluster(
        n_clusters=3, max_epochs=1, num_repeat=1, color_mode="rgb", hflip=True, random_state=0
    ).fit(X)
    assert grey.module_.backbone.net[0].in_channels == 1
    assert rgb.module_.backbone.net[0].in_channels == 3
    assert grey.predict(X).shape == rgb.predict(X).shape == (40,)


@pytest.mark.slow
def test_tabular_input_finds_blobs():
    X, est = fit_blobs(GATCluster)
    assert est.attention_maps(X[:3])["maps"].shape == (3, 1, 1)


def test_auto_epochs_count_optimiser_steps():
    def epochs(n, **params):
        return resolve(GATCluster(**params), n, (1, 8, 8))["max_epochs"]

    # 200 images: one target batch of 6 sub-batches, 8 passes: 48 steps an epoch.
    assert [epochs(n) for n in (200, 1440, 1797, 10000)] == [40, 18, 14, 10]
    assert epochs(10000, max_epochs=3) == 3


def test_target_batches_are_prepared_then_passed_over_several_times():
    prepared = []
    batches = _TargetBatches(8, target_batch=20, passes=3, prepare=lambda idx: prepared.append(idx))
    generator = torch.Generator().manual_seed(0)
    perm = torch.randperm(50, generator=generator)
    drawn = list(batches(perm, generator))
    # 50 rows in target batches of at most 20: three of 17, 17 and 16.
    assert [len(c) for c in prepared] == [17, 17, 16]
    assert torch.equal(torch.cat(prepared).sort().values, torch.arange(50))
    # Each: 3 passes of 2 full batches of 8 (drop_last), only from that target batch, reshuffled.
    assert len(drawn) == 3 * 3 * 2 == batches.steps_per_epoch(50)
    assert all(len(b) == 8 for b in drawn)
    assert all(set(b.tolist()) <= set(prepared[0].tolist()) for b in drawn[:6])
    assert not torch.equal(drawn[0], drawn[2])
    assert len(prepared) == 3 and epochs_for_updates(50, batches, 36) == 2


@pytest.mark.parametrize("fresh, calls", [(True, 2 * 3 * 2), (False, 2)], ids=["fresh", "released"])
def test_fresh_views_draw_an_augmentation_per_sub_batch(monkeypatch, fresh, calls):
    from skdeepcluster.nn import augment

    count = {"n": 0}
    original = augment.ImageAugmenter.__call__

    def counting(self, x, generator=None):
        count["n"] += 1
        return original(self, x, generator)

    monkeypatch.setattr(augment.ImageAugmenter, "__call__", counting)
    X = load_digits().images[:200]
    # Two target batches of 100, three sub-batches of 32 each, two passes.
    GATCluster(max_epochs=1, target_batch=100, num_repeat=2, fresh_views=fresh, random_state=0).fit(
        X
    )
    assert count["n"] == calls


@pytest.mark.parametrize("mode", ["running", "batch", "clean"])
def test_target_norm_modes(mode):
    from skdeepcluster.nn.backbones import recompute_batch_norm

    X = load_digits().images[:200]
    est = GATCluster(max_epochs=1, num_repeat=1, target_norm=mode, random_state=0).fit(X)
    assert est.predict(X).shape == (200,)
    module = est.module_
    clean = torch.as_tensor(est._scale(est._validate_X(X, reset=False)), dtype=torch.float32)
    recomputed = copy.deepcopy(module)
    recompute_batch_norm(recomputed, recomputed.original, [clean[:100], clean[100:]])
    bn = [name for name, _ in module.named_buffers() if name.endswith("running_mean")][0]
    same = torch.allclose(module.get_buffer(bn), recomputed.get_buffer(bn), atol=1e-5)
    # "batch" and "clean" end on the clean images' statistics; "running" on the training batches'.
    assert same is (mode != "running")


# ------------------------------------------------------------------ the losses
def test_similarity_term_is_minus_the_weighted_agreement_with_each_heads_target():
    est = GATCluster(n_clusters=3, similarity_weight=5.0)
    onehot = torch.eye(3)[[0, 1, 2, 0]]
    assert float(est._similarity_term([onehot, onehot], [onehot, onehot])) == -10.0
    uniform = torch.full((4, 3), 1 / 3)
    assert float(est._similarity_term([uniform], [onehot])) == pytest.approx(-5 / 3)


def test_entropy_terms_reward_a_balanced_batch():
    est = GATCluster(n_clusters=3, entropy_weight=3.0)
    balanced, collapsed = torch.eye(3), torch.eye(3)[[0, 0, 0]]
    term, attention = est._entropy_terms(balanced, [], balanced)
    assert float(term) == float(attention) == pytest.approx(-3 * np.log(3), rel=1e-4)
    assert float(est._entropy_terms(collapsed, [], balanced)[0]) == pytest.approx(0, abs=1e-4)
    with_head = est._entropy_terms(balanced, [balanced], balanced)[0]  # each head adds its own
    assert float(with_head) == pytest.approx(-6 * np.log(3), rel=1e-4)


def test_relation_term_is_small_when_similar_pairs_share_a_group():
    est = GATCluster(n_clusters=3)
    q = torch.eye(3)[[0, 0, 1, 2]]
    agreeing = est._relation_term(q, torch.tensor([5, 5, 6, 7]))
    disagreeing = est._relation_term(q, torch.tensor([5, 6, 6, 6]))
    assert float(agreeing) < 1e-3 < float(disagreeing)
