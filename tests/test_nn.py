import numpy as np
import pytest
import torch
from torch import nn

from skdeepcluster.nn import augment, backbones, losses
from skdeepcluster.nn.loop import (
    Batches,
    Step,
    batch_slices,
    epochs_for_updates,
    train,
    warmup_cosine,
)


def _gen(seed=0):
    g = torch.Generator()
    g.manual_seed(seed)
    return g


# ------------------------------------------------------------------ augment
def _images(n=8, c=1, h=12, w=12):
    return torch.rand(n, c, h, w, generator=_gen(123))


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, g: augment.random_resized_crop(x, generator=g),
        lambda x, g: augment.random_affine(x, generator=g),
        lambda x, g: augment.color_jitter(x, generator=g),
        lambda x, g: augment.gaussian_noise(x, generator=g),
        lambda x, g: augment.ImageAugmenter(hflip=0.5, brightness=0.4, contrast=0.4, noise=0.02)(x, g),
    ],
    ids=["crop", "affine", "jitter", "noise", "chain"],
)
def test_each_image_gets_its_own_parameters_and_seed_repeats(fn):
    one = _images(1)
    batch = one.expand(6, -1, -1, -1).contiguous()  # six copies of one image
    out = fn(batch, _gen(0))
    assert out.shape == batch.shape
    assert not torch.allclose(out[0], out[1]), "two samples got the same random draw"
    torch.testing.assert_close(fn(batch, _gen(0)), out, rtol=0, atol=0)
    assert not torch.allclose(fn(batch, _gen(1)), out)


def test_hflip_flips_a_per_sample_subset():
    x = _images(64)
    out = augment.random_hflip(x, 0.5, _gen(0))
    flipped = torch.tensor([torch.equal(o, i.flip(-1)) for o, i in zip(out, x)])
    kept = torch.tensor([torch.equal(o, i) for o, i in zip(out, x)])
    assert (flipped | kept).all() and 10 < flipped.sum() < 54


def test_crop_of_full_scale_is_identity():
    x = _images(3)
    out = augment.random_resized_crop(x, scale=(1.0, 1.0), ratio=(1.0, 1.0), generator=_gen())
    torch.testing.assert_close(out, x, atol=1e-5, rtol=0)


def test_colour_operations_on_rgb():
    x = _images(5, c=3)
    grey = augment.to_grayscale(x)
    assert grey.shape == (5, 1, 12, 12)
    assert augment.to_grayscale(_images(2, c=1)).shape == (2, 1, 12, 12)
    mid = 0.4 + 0.2 * x  # away from 0 and 1, so no value is clipped
    jittered = augment.color_jitter(mid, 0.0, 0.0, 0.0, 0.25, generator=_gen())
    # A hue rotation keeps the component along the grey axis and moves the rest.
    torch.testing.assert_close(jittered.mean(1), mid.mean(1), atol=1e-5, rtol=0)
    assert not torch.allclose(jittered, mid)
    shuffled = augment.channel_shuffle(x, _gen())
    assert torch.equal(shuffled.sort(dim=1).values, x.sort(dim=1).values)
    assert augment.random_grayscale(x, 1.0, _gen()).shape == x.shape
    out = augment.ImageAugmenter(channel_shuffle=True, hflip=0.5, brightness=0.4, contrast=0.4,
                                 saturation=0.4, hue=0.1, grayscale=0.2)(x, _gen())
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1


def test_tabular_augmentations_are_per_sample():
    x = torch.zeros(4, 50)
    out = augment.TabularAugmenter(noise=0.1, dropout=0.5)(x + 1, _gen())
    assert not torch.allclose(out[0], out[1])
    dropped = augment.feature_dropout(torch.ones(4, 1000), 0.3, _gen())
    assert abs(float((dropped == 0).float().mean()) - 0.3) < 0.05


# ---------------------------------------------------------------- backbones
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (1, 16, 16), (1, 8, 8), (1, 9, 13), (3, 7, 5)])
@pytest.mark.parametrize("spec", [((16, 3, 2), (16, 3, 1), (32, 3, 2), (32, 3, 1)), ((64, 4, 2, 0), (128, 4, 2, 0))])
def test_encoder_decoder_shapes(shape, spec):
    enc = backbones.build_encoder(shape, 7, conv_layers=spec, hidden=(32,))
    dec = backbones.build_decoder(shape, 7, conv_layers=spec, hidden=(32,), output_activation="sigmoid")
    x = torch.rand(3, *shape)
    z, features = enc(x, return_features=True)
    assert z.shape == (3, 7)
    assert features.shape[1:] == enc.feature_shape and min(features.shape[2:]) >= 1
    recon = dec(z)
    assert recon.shape == x.shape and recon.min() >= 0 and recon.max() <= 1


def test_dccs_spec_gives_official_5x5_map_on_28x28():
    enc = backbones.build_encoder((1, 28, 28), 60, conv_layers=((64, 4, 2, 0), (128, 4, 2, 0)), hidden=(1024,))
    assert enc.feature_shape == (128, 5, 5)


def test_mlp_backbone_for_tabular():
    enc = backbones.build_encoder((5,), 3, hidden=(16,))
    dec = backbones.build_decoder((5,), 3, hidden=(16,))
    x = torch.randn(4, 5)
    assert enc(x).shape == (4, 3) and dec(enc(x)).shape == (4, 5)


# ------------------------------------------------------------------- losses
def _trained_critic_losses(est, features, z, steps=150):
    """The estimator's loss before and after ``steps`` Adam steps on ``(features, z)``."""
    opt = torch.optim.Adam(est.parameters(), 1e-2)
    first = float(est(features, z, _gen()).detach())
    for _ in range(steps):
        loss = est(features, z)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return first, float(est(features, z).detach())


# log 4 ~ 1.386 is the loss of a critic that cannot tell pairs apart.
def test_jsd_mi_estimator_learns_dependence():
    torch.manual_seed(0)
    x = torch.randn(256, 4)
    z = x @ torch.randn(4, 3)
    first, last = _trained_critic_losses(losses.GlobalMIEstimator(4, 3, hidden=(32,)), x, z)
    assert first > 1.2 and last < 0.8


def test_local_mi_estimator_learns_dependence_at_every_position():
    torch.manual_seed(0)
    z = torch.randn(128, 3)
    # Every position of the map carries a code of z, in its own noise.
    features = (z @ torch.randn(3, 8))[:, :, None, None] + 0.1 * torch.randn(128, 8, 4, 4)
    est = losses.LocalMIEstimator(8, 3, hidden=16)
    first, last = _trained_critic_losses(est, features, z)
    assert first > 1.2 and last < 0.8
    # The trained critic tells nothing of codes independent of the features.
    assert float(est(features, torch.randn(128, 3)).detach()) > 1.2


def test_pair_linear_is_the_linear_layer_on_the_concatenation():
    torch.manual_seed(0)
    layer = losses.PairLinear(5, 3, 4)
    assert isinstance(layer, torch.nn.Linear) and layer.weight.shape == (4, 8)
    a, b = torch.randn(6, 5), torch.randn(6, 3)
    expected = torch.nn.functional.linear(torch.cat([a, b], 1), layer.weight, layer.bias)
    torch.testing.assert_close(layer(a, b), expected)


@pytest.mark.parametrize("local", [False, True], ids=["global", "local"])
def test_mi_critics_score_the_concatenated_pairs(local):
    # The shared first layer is a rewrite, not a change: the scores equal the
    # critic run on [feature, z] and on [feature, shuffled z].
    torch.manual_seed(0)
    est = losses.LocalMIEstimator(4, 3, hidden=8) if local else losses.GlobalMIEstimator(4, 3, (8, 8))
    f = torch.randn(5, 4, 2, 2) if local else torch.randn(5, 4)
    z = torch.randn(5, 3)
    loss = est(f, z, _gen(1))
    z_neg = losses.shuffle_negatives(z, _gen(1))
    whole = torch.nn.Sequential(torch.nn.Linear(7, 8), *est.rest)
    whole[0].weight.data.copy_(est.first.weight)
    whole[0].bias.data.copy_(est.first.bias)
    rows = f.flatten(2).transpose(1, 2) if local else f
    def score(codes):
        codes = codes[:, None].expand(-1, rows.shape[1], -1) if local else codes
        return whole(torch.cat([rows, codes], -1))
    torch.testing.assert_close(loss, losses.jsd_mi_loss(score(z), score(z_neg)))


def test_nearest_neighbors_is_exact_and_excludes_the_row_itself():
    from sklearn.neighbors import NearestNeighbors

    z = torch.randn(300, 5, generator=_gen(2), dtype=torch.float64)
    dist, idx = losses.nearest_neighbors(z, 4, chunk_size=64)
    ref_dist, ref_idx = NearestNeighbors(n_neighbors=5).fit(z.numpy()).kneighbors(z.numpy())
    np.testing.assert_array_equal(idx.numpy(), ref_idx[:, 1:])
    np.testing.assert_allclose(dist.numpy(), ref_dist[:, 1:], rtol=1e-6)
    with pytest.raises(ValueError, match="n_neighbors=300"):
        losses.nearest_neighbors(z, 300)


def test_contrastive_loss_margins():
    anchor = torch.zeros(4, 2)
    near = torch.full((4, 3, 2), 0.01)          # within the positive margin
    far = torch.full((4, 3, 2), 1.0)            # beyond the negative margin
    assert float(losses.contrastive_loss(anchor, near, far)) == 0.0
    # Swapped roles: positives too far, negatives too close.
    loss = losses.contrastive_loss(anchor, far, near)
    d_far, d_near = 2 ** 0.5, 0.01 * 2 ** 0.5
    assert abs(float(loss) - ((d_far - 0.05) ** 2 + (1 - d_near) ** 2)) < 1e-5
    # One partner per anchor works too.
    assert losses.contrastive_loss(anchor, near[:, 0], far[:, 0]).dim() == 0


def test_spectral_loss_is_the_weighted_sum_of_squared_distances():
    y = torch.randn(7, 3, generator=_gen(4), dtype=torch.float64)
    w = torch.rand(7, 7, generator=_gen(5), dtype=torch.float64)  # not symmetric
    pairwise = (w * (y[:, None] - y[None]).pow(2).sum(-1)).sum() / (2 * 7)
    torch.testing.assert_close(losses.spectral_loss(y, w), pairwise)


def test_shuffle_negatives_is_a_derangement():
    z = torch.arange(10.0)[:, None]
    for seed in range(20):
        assert (losses.shuffle_negatives(z, _gen(seed)) != z).all()


def test_entropy_terms():
    uniform = torch.full((4, 5), 0.2)
    onehot = torch.eye(5)[:4]
    assert float(losses.entropy(uniform)) == pytest.approx(np.log(5), rel=1e-5)
    assert float(losses.entropy(onehot)) == pytest.approx(0.0, abs=1e-5)
    assert float(losses.marginal_entropy(torch.eye(5))) == pytest.approx(np.log(5), rel=1e-5)


def test_kl_terms():
    mu, logvar = torch.zeros(3, 4), torch.zeros(3, 4)
    assert float(losses.kl_standard_normal(mu, logvar)) == 0.0
    assert float(losses.kl_standard_normal(mu + 1, logvar)) == pytest.approx(2.0)
    p = torch.randn(6, 4)
    assert float(losses.kl_categorical(p, p)) == pytest.approx(0.0, abs=1e-6)
    q = torch.randn(6, 4)
    ref = nn.functional.kl_div(q.log_softmax(1), p.log_softmax(1), log_target=True, reduction="batchmean")
    assert float(losses.kl_categorical(p, q)) == pytest.approx(float(ref), rel=1e-5)


def test_gradient_penalty_is_zero_for_unit_gradient_and_differentiable():
    w = torch.tensor([[0.6], [0.8]], requires_grad=True)  # |w| = 1

    def critic(x):
        return x @ w

    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    assert float(losses.gradient_penalty(critic, real, fake, _gen()).detach()) == pytest.approx(0.0, abs=1e-10)
    w2 = torch.tensor([[2.0], [0.0]], requires_grad=True)
    gp = losses.gradient_penalty(lambda x: x @ w2, real, fake, _gen())
    assert float(gp.detach()) == pytest.approx(1.0)
    gp.backward()
    assert w2.grad is not None and float(w2.grad.norm()) > 0


def test_cholesky_orthonorm_layer():
    layer = losses.CholeskyOrthonorm(3)
    y = torch.randn(50, 3) @ torch.randn(3, 3)
    out = layer.train()(y)
    torch.testing.assert_close(out.T @ out / 50, torch.eye(3), atol=1e-4, rtol=0)
    # Evaluation applies the stored map of the last training batch.
    torch.testing.assert_close(layer.eval()(y), out, atol=1e-4, rtol=0)
    y.requires_grad_(True)
    layer.train()(y).sum().backward()
    assert torch.isfinite(y.grad).all()


# ----------------------------------------------------------------- training
def test_batch_slices():
    assert batch_slices(10, 4) == [(0, 4), (4, 8)]
    assert batch_slices(10, 4, drop_last=False) == [(0, 4), (4, 8), (8, 10)]
    assert batch_slices(3, 8) == [(0, 3)]
    assert batch_slices(8, 4) == [(0, 4), (4, 8)]


def test_epochs_for_updates():
    assert epochs_for_updates(1797, 256, 400) == 58      # 7 batches an epoch
    assert epochs_for_updates(10000, 256, 400) == 11     # 39 batches
    assert epochs_for_updates(100, 256, 400) == 400      # one (short) batch
    assert epochs_for_updates(70000, 256, 400, min_epochs=3) == 3
    assert epochs_for_updates(100, 256, 400, max_epochs=50) == 50
    assert epochs_for_updates(1797, Batches(256), 400) == 58  # a batch source counts its steps


def test_batch_statistics_read_a_batch_without_changing_the_model():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).eval()
    before = [b.clone() for b in net.buffers()]
    x = torch.randn(64, 3, generator=_gen(0)) * 5 + 2
    with backbones.batch_statistics(net):
        out = net(x)
    torch.testing.assert_close(out.mean(0), net[1].bias.detach().expand(4), atol=1e-5, rtol=0)
    assert all(torch.equal(a, b) for a, b in zip(before, net.buffers()))
    assert not net[1].training


def test_recompute_batch_norm_sets_the_statistics_of_the_batches():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).train()
    net[1].momentum = 0.3
    x = torch.randn(90, 3, generator=_gen(1)) * 3 + 1
    backbones.recompute_batch_norm(net, net, [x[:45], x[45:]])
    features = net[0](x).detach()
    torch.testing.assert_close(net[1].running_mean, features.mean(0), atol=1e-5, rtol=0)
    assert net[1].momentum == 0.3 and net[1].training


def _regression_steps(x, y):
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    calls = []

    def loss(idx):
        calls.append(len(idx))
        return {"mse": ((model(x[idx]) - y[idx]) ** 2).mean()}

    return model, {"fit": Step(opt, loss)}, calls


def test_train_minimises_and_records_history(capsys):
    g = _gen(0)
    x = torch.randn(64, 3, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    model, steps, calls = _regression_steps(x, y)
    history = train(steps, ["fit"], 64, batches=16, max_epochs=30, device=torch.device("cpu"),
                    generator=_gen(1), verbose=10)
    assert len(history) == 30 and history[-1]["mse"] < 1e-3 < history[0]["mse"]
    assert set(history[0]) == {"epoch", "mse", "time", "samples_per_s", "phase"}
    assert history[0]["phase"] == "train"
    assert calls[:4] == [16] * 4
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and "samples/s" in lines[0] and "ETA" in lines[0] and "mse=" in lines[0]


def test_warmup_cosine_rises_then_decays_to_final():
    factor = warmup_cosine(warmup=0.1, final=0.0)
    values = [factor(p) for p in np.linspace(0, 1, 101)]
    assert 0 < values[0] < 0.05 and values[10] == pytest.approx(1.0)
    assert np.all(np.diff(values[:11]) > 0) and np.all(np.diff(values[10:]) <= 1e-12)
    assert values[-1] == pytest.approx(0.0, abs=1e-12)
    assert warmup_cosine(0.0, final=0.2)(1.0) == pytest.approx(0.2)


def test_train_sets_each_steps_learning_rate_from_the_schedule():
    x = torch.randn(40, 3, generator=_gen(0))
    y = x.sum(1, keepdim=True)
    model, steps, _ = _regression_steps(x, y)
    optimizer = steps["fit"].optimizer
    base = optimizer.param_groups[0]["lr"]
    seen = []
    loss = steps["fit"].loss
    steps["fit"].loss = lambda idx: (seen.append(optimizer.param_groups[0]["lr"]), loss(idx))[1]
    progress = []
    train(steps, ["fit"], 40, batches=8, max_epochs=3, device=torch.device("cpu"),
          generator=_gen(5), lr_schedule=lambda p: (progress.append(p), 1 - p)[1])
    # 5 batches x 3 epochs; the schedule sees the fraction of steps taken before each step.
    np.testing.assert_allclose(progress, np.arange(15) / 15)
    np.testing.assert_allclose(seen, base * (1 - np.arange(15) / 15))
    before = model.weight.detach().clone()
    train(steps, ["fit"], 40, batches=8, max_epochs=1, device=torch.device("cpu"),
          generator=_gen(5), lr_schedule=lambda p: 0.0)
    assert torch.equal(model.weight, before)  # a zero factor freezes the model
    assert optimizer.param_groups[0]["lr"] == base  # and train restores the learning rate


def test_train_is_repeatable_with_the_same_generator():
    x = torch.randn(40, 3, generator=_gen(0))
    y = x.sum(1, keepdim=True)
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        model, steps, _ = _regression_steps(x, y)
        train(steps, ["fit"], 40, batches=8, max_epochs=3, device=torch.device("cpu"), generator=_gen(5))
        results.append(model.weight.detach().clone())
    assert torch.equal(results[0], results[1])


def test_schedule_alternates_steps_and_epoch_end_can_stop():
    seen = []

    def make(name):
        p = nn.Parameter(torch.zeros(1))

        def loss(idx):
            seen.append(name)
            return {f"{name}_loss": (p - 1).pow(2).sum()}

        return Step(torch.optim.SGD([p], lr=0.1), loss)

    steps = {"critic": make("critic"), "encoder": make("encoder")}
    history = train(steps, ["critic"] * 4 + ["encoder"], 40, batches=4, max_epochs=5,
                    device=torch.device("cpu"), generator=_gen(),
                    epoch_end=lambda epoch, record: epoch == 1)
    assert seen[:10] == (["critic"] * 4 + ["encoder"]) * 2
    assert len(history) == 2 and {"critic_loss", "encoder_loss"} <= set(history[0])


def test_nan_guard_names_term_and_epoch():
    p = nn.Parameter(torch.ones(1))

    def loss(idx):
        # "broken" carries no gradient, so the parameter stays finite.
        return {"fine": (p - 1).pow(2).sum(), "broken": torch.log(p.detach() - 2).sum()}

    with pytest.raises(FloatingPointError, match=r"'broken'.*epoch 1"):
        train({"s": Step(torch.optim.SGD([p], lr=0.0), loss)}, ["s"], 8, batches=4, max_epochs=3,
              device=torch.device("cpu"), generator=_gen())


@pytest.mark.parametrize("size, n_down, widths", [(32, 3, 512), (64, 4, 512), (96, 4, 512)])
def test_resnet_encoder_halves_to_at_most_seven_pixels(size, n_down, widths):
    enc = backbones.ResNetEncoder((1, size, size), 12)
    z, features = enc(torch.randn(2, 1, size, size), return_features=True)
    assert z.shape == (2, 12)
    assert features.shape[1:] == enc.feature_shape == (widths, size // 2 ** n_down, size // 2 ** n_down)
    assert len(enc.down) == n_down


def test_mlp_encoder_returns_its_last_hidden_layer():
    enc = backbones.MLPEncoder(7, 3, hidden=(16, 8))
    z, features = enc(torch.randn(5, 7), return_features=True)
    assert z.shape == (5, 3) and features.shape == (5, 8) == (5, *enc.feature_shape)
    assert backbones.MLPEncoder(7, 3, hidden=()).feature_shape == (7,)


def test_synced_batch_norm_swaps_in_and_back_sharing_the_tensors():
    from skdeepcluster.nn.distributed import synced_batch_norm

    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2),
                              torch.nn.Sequential(torch.nn.Flatten(), torch.nn.BatchNorm1d(8)))
    before = list(net.modules())
    weight, running = net[1].weight, net[1].running_mean
    with synced_batch_norm(net):
        assert isinstance(net[1], torch.nn.SyncBatchNorm)
        assert isinstance(net[2][1], torch.nn.SyncBatchNorm)
        assert net[1].weight is weight and net[1].running_mean is running
    assert list(net.modules()) == before
    with synced_batch_norm(net, enabled=False):
        assert isinstance(net[1], torch.nn.BatchNorm2d)
