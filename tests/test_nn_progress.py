"""nn/progress.py: the progress bar draws where asked, and only there."""

from skdeepcluster.nn.progress import progress_bar


def test_the_bar_counts_its_units_and_stays_silent_unless_shown(capsys):
    with progress_bar(10, "train", "epoch", show=True, initial=2) as bar:
        bar.update(3)
        assert bar.n == 5
    assert "train" in capsys.readouterr().err
    with progress_bar(10, "quiet", "epoch", show=False) as bar:
        bar.update(10)
    assert capsys.readouterr().err == ""
