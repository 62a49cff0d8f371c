import pytest

from pysot.datasets.synthetic import write_crop511_dataset


@pytest.fixture(scope="session")
def synthetic_crop511(tmp_path_factory):
    """A small synthetic crop-511 dataset: 12 clips x 6 frames, 2 objects each, 6 categories."""
    out = tmp_path_factory.mktemp("syn511")
    return write_crop511_dataset(str(out), num_videos=12, num_frames=6, seed=1, num_distractors=1)
