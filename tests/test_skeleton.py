import numpy as np
import pytest

from dancesearch.errors import SourceError
from dancesearch.skeleton import J, check_plausible, floor_to_zero, resample, z_up_to_y_up


def test_resample_keeps_duration_and_interpolates_linearly():
    t = np.arange(61, dtype=np.float32)  # 1 s at 60 FPS, a joint moving 1 unit per frame
    joints = np.zeros((61, 22, 3), np.float32)
    joints[:, :, 0] = t[:, None]
    out = resample(joints, 60.0, 30.0)
    assert out.shape == (31, 22, 3)
    np.testing.assert_allclose(out[:, 0, 0], np.arange(0, 61, 2))
    up = resample(joints[:3], 60.0, 120.0)
    np.testing.assert_allclose(up[:, 0, 0], [0, 0.5, 1, 1.5, 2])


def test_z_up_to_y_up_is_a_proper_rotation():
    # a right-handed Z-up frame's x, y, z axes map to a right-handed Y-up frame
    ex, ey, ez = z_up_to_y_up(np.eye(3))
    np.testing.assert_allclose(ez, [0, 1, 0])  # up stays up
    np.testing.assert_allclose(np.cross(ex, ey), ez)  # handedness kept


def test_check_plausible_rejects_centimetres_and_nans(tmp_path):
    body = np.zeros((10, 22, 3), np.float32)
    body[:, J["head"], 1] = 0.6
    check_plausible(body, tmp_path / "ok")
    with pytest.raises(SourceError, match="cm.npy.*head is 60.00 m"):
        check_plausible(body * 100, tmp_path / "cm.npy")
    body[3, 5, 0] = np.nan
    with pytest.raises(SourceError, match="1 frame"):
        check_plausible(body, tmp_path / "nan.npy")


def test_floor_puts_supporting_foot_at_zero():
    body = np.zeros((100, 22, 3), np.float32)
    body[:, :, 1] = 0.5
    body[:, J["left_foot"], 1] = 0.07
    body[:50, J["left_foot"], 1] = 0.3  # lifted half the time, the other foot lower
    body[:, J["right_foot"], 1] = 0.07
    assert abs(floor_to_zero(body)[:, J["right_foot"], 1]).max() < 1e-6
