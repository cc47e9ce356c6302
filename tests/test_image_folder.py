"""load_image_folder: a folder of image files, odd and bad ones included (written here)."""

import numpy as np
import pytest
from PIL import Image

from skdeepcluster.datasets import load_image_folder


def _write(path, array, mode=None, **save):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode).save(path, **save) if mode else Image.fromarray(array).save(
        path, **save
    )
    return path


def _grey(value, shape=(12, 12)):
    return np.full(shape, value, dtype=np.uint8)


def test_class_sub_folders_give_labels_in_sorted_order(tmp_path):
    _write(tmp_path / "dogs" / "b.png", _grey(200))
    _write(tmp_path / "dogs" / "a.png", _grey(190))
    _write(tmp_path / "cats" / "x" / "deep.png", _grey(10))  # recursive, labelled by top folder
    bunch = load_image_folder(tmp_path, size=8)
    assert list(bunch.filenames) == ["cats/x/deep.png", "dogs/a.png", "dogs/b.png"]
    assert list(bunch.target_names) == ["cats", "dogs"]
    assert bunch.target.tolist() == [0, 1, 1]
    assert bunch.images.shape == (3, 8, 8) and bunch.images.dtype == np.uint8
    assert bunch.images[:, 4, 4].tolist() == [10, 190, 200]
    assert bunch.data.shape == (3, 64)
    X, y = load_image_folder(tmp_path, size=8, return_X_y=True)
    np.testing.assert_array_equal(X, bunch.images)
    np.testing.assert_array_equal(y, bunch.target)


def test_flat_folder_has_no_labels_and_hidden_files_are_left_out(tmp_path):
    _write(tmp_path / "one.png", _grey(5))
    _write(tmp_path / "sub" / "two.png", _grey(6))
    (tmp_path / ".DS_Store").write_bytes(b"\0\1")
    _write(tmp_path / ".thumbs" / "three.png", _grey(7))
    bunch = load_image_folder(tmp_path)
    assert list(bunch.filenames) == ["one.png", "sub/two.png"]
    assert bunch.target is None and bunch.target_names is None
    assert bunch.images.shape == (2, 32, 32)
    assert load_image_folder(tmp_path, return_X_y=True)[1] is None


def test_mixed_sizes_and_modes_fit_one_array(tmp_path):
    rng = np.random.RandomState(0)
    rgb = rng.randint(0, 256, (20, 30, 3), dtype=np.uint8)
    _write(tmp_path / "a_rgb.jpg", rgb, quality=95)
    rgba = np.dstack([rgb, np.zeros((20, 30), np.uint8)])  # fully transparent: white
    _write(tmp_path / "b_rgba.png", rgba)
    _write(tmp_path / "c_grey.png", _grey(100, (40, 16)))
    Image.fromarray(_grey(3, (9, 9))).convert("P").save(tmp_path / "d_palette.gif")
    sixteen = np.full((10, 10), 257 * 50, dtype=np.uint16)
    Image.fromarray(sixteen).save(tmp_path / "e_16bit.png")  # mode I;16
    Image.fromarray(_grey(255, (5, 5))).convert("1").save(tmp_path / "f_bilevel.bmp")
    bunch = load_image_folder(tmp_path, size=(6, 8))
    assert bunch.images.shape == (6, 6, 8, 3) and bunch.images.dtype == np.uint8
    assert (bunch.images[1] == 255).all()  # transparent on white
    np.testing.assert_array_equal(bunch.images[2], 100)
    np.testing.assert_array_equal(bunch.images[3], 3)
    np.testing.assert_array_equal(bunch.images[4], 50)  # 16-bit scaled to 8
    np.testing.assert_array_equal(bunch.images[5], 255)
    grey = load_image_folder(tmp_path, size=(6, 8), color="grey").images
    assert grey.shape == (6, 6, 8)
    np.testing.assert_array_equal(grey[2:], bunch.images[2:, ..., 0])  # grey stays exact


def test_own_size_kept_when_asked_and_different_sizes_refused(tmp_path):
    _write(tmp_path / "a.png", _grey(1, (5, 7)))
    assert load_image_folder(tmp_path, size=None).images.shape == (1, 5, 7)
    _write(tmp_path / "b.png", _grey(1, (6, 7)))
    with pytest.raises(ValueError, match="different sizes.*size=32"):
        load_image_folder(tmp_path, size=None)


def test_one_image_folder(tmp_path):
    _write(tmp_path / "only.png", _grey(9))
    assert load_image_folder(tmp_path, size=4).images.shape == (1, 4, 4)


def test_unreadable_files_are_named_or_skipped_with_a_warning(tmp_path):
    _write(tmp_path / "good.png", _grey(9))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    with pytest.raises(
        ValueError, match=r"2 of the 3 files.*broken\.png.*notes\.txt.*on_error='warn'"
    ):
        load_image_folder(tmp_path)
    with pytest.warns(UserWarning, match=r"skipped: broken\.png.*notes\.txt"):
        bunch = load_image_folder(tmp_path, on_error="warn")
    assert list(bunch.filenames) == ["good.png"]
    assert bunch.skipped == ["broken.png", "notes.txt"]


def test_empty_missing_and_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="holds no files"):
        load_image_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match="No folder"):
        load_image_folder(tmp_path / "absent")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(NotADirectoryError):
        load_image_folder(tmp_path / "f.txt")
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="no readable image"):
        load_image_folder(tmp_path, on_error="warn")
    for bad in (
        dict(size=0),
        dict(size=(3,)),
        dict(size=True),
        dict(color="cmyk"),
        dict(on_error="ignore"),
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            load_image_folder(tmp_path, **bad)


def test_a_loaded_folder_fits(tmp_path):
    from skdeepcluster import DCCSClustering

    for k in range(6):
        _write(tmp_path / f"{k}.png", np.full((9, 11, 4), 40 * k, dtype=np.uint8))  # RGBA
    X = load_image_folder(tmp_path, size=8).images
    labels = DCCSClustering(n_clusters=2, max_epochs=1, random_state=0).fit_predict(X)
    assert labels.shape == (6,)
