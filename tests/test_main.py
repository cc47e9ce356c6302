"""``python -m skdeepcluster``: the estimator's scores beside KMeans's."""

import functools
import re

from skdeepcluster import DualAESpectralClustering
from skdeepcluster import __main__ as cli


def test_prints_the_estimator_and_kmeans_side_by_side(monkeypatch, capsys):
    quick = functools.partial(DualAESpectralClustering, pretrain_epochs=2, siamese_epochs=1,
                              spectral_epochs=1, max_epochs=1, latent_dim=8)
    monkeypatch.setitem(cli.METHODS, "dual-ae-spectral", quick)
    cli.main(["--seed", "1"])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("digits: 1797 images, 10 clusters, device")
    assert out[1].split() == ["ACC", "NMI", "ARI", "fit", "(s)"]
    score = r"\s+0\.\d{4}\s+-?0\.\d{4}\s+-?0\.\d{4}\s+\d+\.\d\d$"
    assert re.match(r"DualAESpectralClustering" + score, out[2])
    assert re.match(r"KMeans \(pixels\)" + score, out[3])
