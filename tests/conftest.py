from pathlib import Path

import pytest

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture
def shared_datasets():
    """The real benchmark files of ../shared/datasets (skipped where absent)."""
    if not (SHARED_DATASETS / "mnist.npz").is_file():
        pytest.skip(f"the shared benchmark data are not at {SHARED_DATASETS}")
    return SHARED_DATASETS
