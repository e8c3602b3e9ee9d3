"""Tests of sources.bvh: the parser, forward kinematics, the rig maps and the BVH/CMU reader."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from dancesearch.errors import SourceError
from dancesearch.skeleton import FPS, JOINTS, J, Sequence
from dancesearch.sources import bvh, cmu
from tests.fixtures import bvh_fixtures as fx


@pytest.fixture(scope="module")
def salsa(data: Path) -> Sequence:
    return bvh.read(data / "cmu" / "60_05_scaled.bvh")[0]


@pytest.fixture(scope="module")
def salsa_partner(data: Path) -> Sequence:
    return bvh.read(data / "cmu" / "61_05_scaled.bvh")[0]


@pytest.fixture(scope="module")
def salsa_fk(data: Path) -> tuple[bvh.Bvh, np.ndarray]:
    parsed = bvh.parse(data / "cmu" / "60_05_scaled.bvh")
    return parsed, bvh.forward_kinematics(parsed)


def cumulative_offsets(parsed: bvh.Bvh) -> np.ndarray:
    out = np.zeros((len(parsed.names), 3))
    for j, parent in enumerate(parsed.parents):
        out[j] = parsed.offsets[j] + (out[parent] if parent >= 0 else 0.0)
    return out


def chain_positions(folder: Path, channels: tuple[str, ...], values: list[float]) -> np.ndarray:
    """(4, 3) FK of fx.chain with the root at the origin and `values` on joint a only."""
    root = fx.chain(channels)
    motion = np.zeros((1, fx.n_channels(root)))
    motion[0, fx.columns(root)["a"]] = values
    parsed = bvh.parse(fx.write_bvh(folder / "chain.bvh", root, motion))
    return bvh.forward_kinematics(parsed)[0]


# ------------------------------------------------------------------------------ parser


def test_parses_cmu_salsa_header_and_motion(salsa_fk: tuple[bvh.Bvh, np.ndarray]) -> None:
    parsed = salsa_fk[0]
    assert parsed.n_frames == 1678
    assert parsed.fps == 120.0  # as declared; the true rate is applied by load
    assert parsed.motion.shape == (1678, 132)
    assert parsed.names[0] == "hip" and parsed.parents[0] == -1
    assert parsed.channels[0] == fx.POS + ("Zrotation", "Yrotation", "Xrotation")
    assert parsed.channels[1] == ("Zrotation", "Xrotation", "Yrotation")
    # end sites are kept as extra points after their parent
    toe = parsed.names.index("lFoot_end")
    assert parsed.names[parsed.parents[toe]] == "lFoot" and parsed.channels[toe] == ()


def test_parses_bandai_six_channel_joints(data: Path) -> None:
    parsed = bvh.parse(data / "bandai" / "dataset-1_dance-short_normal_001.bvh")
    assert parsed.n_frames == 1901
    assert parsed.fps == 30.0  # 1 / 0.0333333 snapped
    joints = [
        c for c, name in zip(parsed.channels, parsed.names, strict=True) if "_end" not in name
    ]
    assert all(len(c) == 6 for c in joints)
    assert parsed.names[parsed.parents[parsed.names.index("Hips")]] == "joint_Root"


# ------------------------------------------------------------------- forward kinematics


def test_zero_rotations_reproduce_the_rest_pose(salsa_fk: tuple[bvh.Bvh, np.ndarray]) -> None:
    parsed = salsa_fk[0]
    still = dataclasses.replace(parsed, motion=np.zeros_like(parsed.motion[:3]))
    world = bvh.forward_kinematics(still)
    np.testing.assert_allclose(world, np.broadcast_to(cumulative_offsets(parsed), world.shape))


def test_known_rotation_gives_hand_computed_positions(tmp_path: Path) -> None:
    # a turned 90 degrees about Z: its child b (offset +X) lands on +Y, the end site (+Z) stays +Z
    world = chain_positions(tmp_path, fx.ZYX, [90.0, 0.0, 0.0])
    np.testing.assert_allclose(world, [[0, 0, 0], [0, 1, 0], [0, 2, 0], [0, 2, 1]], atol=1e-9)


def test_root_translation_and_rotation_carry_the_children(tmp_path: Path) -> None:
    root = fx.chain(fx.ZYX)
    motion = np.zeros((2, fx.n_channels(root)))
    motion[1, :3] = [10.0, 0.0, 5.0]
    motion[1, 4] = 90.0  # root Yrotation: +X turns to -Z
    world = bvh.forward_kinematics(bvh.parse(fx.write_bvh(tmp_path / "r.bvh", root, motion)))
    np.testing.assert_allclose(world[0], [[0, 0, 0], [0, 1, 0], [1, 1, 0], [1, 1, 1]], atol=1e-9)
    np.testing.assert_allclose(
        world[1], [[10, 0, 5], [10, 1, 5], [10, 1, 4], [11, 1, 4]], atol=1e-9
    )


@pytest.mark.parametrize(
    ("channels", "values", "b", "end"),
    [
        # listed Z X Y: R = Rz(90) Rx(90). +X: Rx keeps it, Rz turns it to +Y.
        # +Z: Rx turns it to -Y, Rz turns that to +X.
        (("Zrotation", "Xrotation", "Yrotation"), [90.0, 90.0, 0.0], [0, 2, 0], [1, 2, 0]),
        # listed X Y Z: R = Rx(90) Rz(90). +X: Rz turns it to +Y, Rx turns that to +Z.
        # +Z: Rz keeps it, Rx turns it to -Y.
        (("Xrotation", "Yrotation", "Zrotation"), [90.0, 0.0, 90.0], [0, 1, 1], [0, 0, 1]),
    ],
)
def test_each_rotation_order_is_honoured(
    tmp_path: Path, channels: tuple[str, ...], values: list[float], b: list[int], end: list[int]
) -> None:
    # the same two angles (X 90, Z 90) on joint a; only the order the file lists them differs
    world = chain_positions(tmp_path, channels, values)
    np.testing.assert_allclose(world[1:], [[0, 1, 0], b, end], atol=1e-9)


def test_position_channels_replace_the_offset_of_a_joint(tmp_path: Path) -> None:
    root = fx.chain(fx.POS + fx.ZYX)  # a and b get 6 channels
    motion = np.zeros((1, fx.n_channels(root)))
    motion[0, fx.columns(root)["a"]] = [0.0, 2.0, 0.0, 0.0, 0.0, 0.0]
    motion[0, fx.columns(root)["b"]] = [3.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    world = bvh.forward_kinematics(bvh.parse(fx.write_bvh(tmp_path / "p.bvh", root, motion)))[0]
    np.testing.assert_allclose(world[1:3], [[0, 2, 0], [3, 2, 0]])


@pytest.mark.parametrize(
    "parts",
    [("cmu", "60_05_scaled.bvh"), ("bandai", "dataset-1_dance-short_normal_001.bvh")],
)
def test_bone_lengths_are_constant_on_real_files(data: Path, parts: tuple[str, str]) -> None:
    parsed = bvh.parse(data.joinpath(*parts))
    world = bvh.forward_kinematics(parsed)
    parents = parsed.parents
    # children of a root are left out: Bandai's Hips moves against its ground node joint_Root
    bones = [j for j, p in enumerate(parents) if p >= 0 and parents[p] >= 0]
    lengths = np.linalg.norm(world[:, bones] - world[:, parents[bones]], axis=-1)
    assert (lengths.std(axis=0) <= 1e-4 * np.maximum(lengths.mean(axis=0), 1e-9)).all()


# -------------------------------------------------------------------------- rig maps


def assert_upright_body(joints: np.ndarray) -> None:
    """(T, 22, 3) metres Y up: head over pelvis, feet lowest, left on the left, human thighs."""
    head_height = np.median(joints[:, J["head"], 1] - joints[:, J["pelvis"], 1])
    assert 0.4 < head_height < 0.9
    feet = [J[n] for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")]
    assert np.isin(joints[..., 1].argmin(axis=1), feet).mean() > 0.95
    # facing from heel to toe; the body's left is up x forward in a right-handed Y-up frame
    forward = (joints[:, feet[2:]] - joints[:, feet[:2]]).mean(axis=1) * [1, 0, 1]
    body_left = np.cross([0.0, 1.0, 0.0], forward)
    hips = joints[:, J["left_hip"]] - joints[:, J["right_hip"]]
    assert (np.einsum("fi,fi->f", body_left, hips) > 0).mean() > 0.9
    thigh = np.linalg.norm(joints[:, J["left_hip"]] - joints[:, J["left_knee"]], axis=-1)
    assert 0.3 < np.median(thigh) < 0.6


@pytest.mark.parametrize(
    ("parts", "rig"),
    [
        (("cmu", "60_05_scaled.bvh"), "sl_avatar"),
        (("cmu", "61_12_scaled.bvh"), "sl_avatar"),
        (("bandai", "dataset-1_dance-short_normal_001.bvh"), "bandai"),
    ],
)
def test_real_rigs_map_to_an_upright_body(data: Path, parts: tuple[str, str], rig: str) -> None:
    joints, _, quality, found = bvh.load(data.joinpath(*parts))
    assert found == rig
    assert joints.dtype == np.float32 and joints.shape[1:] == (22, 3)
    assert len(quality) == len(JOINTS) and quality[J["pelvis"]] == "exact"
    assert_upright_body(joints)


def test_cgspeed_rig_drops_the_t_pose_and_maps_upright(tmp_path: Path) -> None:
    path = fx.write_cgspeed(tmp_path / "05_02.bvh", n_frames=61)
    joints, fps, quality, rig = bvh.load(path)
    assert rig == "cmu_cgspeed" and fps == 120.0
    assert joints.shape == (60, 22, 3)
    # the T-pose would hold the wrists level with the shoulders; the first motion frame does not
    assert joints[0, J["left_wrist"], 1] < joints[0, J["left_shoulder"], 1] - 0.3
    assert quality[J["spine2"]] == "interpolated" and quality[J["left_knee"]] == "exact"
    assert_upright_body(joints)
    hips_height = joints[0, J["pelvis"], 1]
    assert hips_height == pytest.approx(fx.HIPS_HEIGHT * 0.0254 / 0.45, rel=1e-5)


def test_rig_maps_cover_every_joint_in_order() -> None:
    for rig in bvh.RIGS:
        assert tuple(rig.smpl) == JOINTS
        assert {q for _, q in rig.smpl.values()} <= {"exact", "approximate", "interpolated"}


def test_lerp_points_sit_between_their_ends(salsa_fk: tuple[bvh.Bvh, np.ndarray]) -> None:
    parsed, world = salsa_fk
    joints = bvh.to_smpl(world, parsed.names, bvh.SL_AVATAR)
    toe, tip = world[:, parsed.names.index("lFoot")], world[:, parsed.names.index("lFoot_end")]
    expected = (0.4 * toe + 0.6 * tip) * bvh.SL_AVATAR.scale
    np.testing.assert_allclose(joints[:, J["left_foot"]], expected, atol=1e-5)


def test_fps_override_wins_over_header_and_known_rate(tmp_path: Path) -> None:
    path = fx.write_cgspeed(tmp_path / "60_05.bvh")  # declares 120 fps; subject 60 is 60 fps
    assert bvh.load(path)[1] == 60.0
    assert bvh.load(path, fps=24.0)[1] == 24.0
    assert bvh.load(fx.write_cgspeed(tmp_path / "take.bvh"))[1] == 120.0
    with pytest.raises(SourceError, match="60_05.bvh"):
        bvh.load(path, fps=0.0)


# ---------------------------------------------------------------------- reader: CMU


def test_cmu_salsa_read_at_true_rate(salsa: Sequence) -> None:
    # 1678 frames at the true 60 fps are 27.97 s; at 30 FPS that is 839 frames
    assert salsa.fps == FPS
    assert salsa.n_frames == 839
    assert salsa.duration == pytest.approx(27.97, abs=0.01)
    assert salsa.seq_id == "cmu/60_05_scaled" and salsa.source == "cmu"
    assert salsa.descriptions == ["salsa dance"]
    assert salsa.genre == "salsa"
    assert salsa.performer == "CMU subject 60"
    assert salsa.labels == {"trial": "60_05", "category": "dance"}
    assert "mocap.cs.cmu.edu" in salsa.credit and "outworldz" in salsa.credit
    assert "may not resell" in salsa.licence
    assert salsa.joints[..., 1].min() > -0.05  # floored by to_common


def test_cmu_partners_share_a_group(data: Path, salsa: Sequence, salsa_partner: Sequence) -> None:
    assert salsa.group == salsa_partner.group == "cmu/trial_05_60+61"
    assert salsa_partner.performer == "CMU subject 61"
    assert cmu.partner_group(data / "cmu" / "60_10_scaled.bvh") != salsa.group


def test_cmu_grouping_needs_the_same_frame_count(tmp_path: Path) -> None:
    fx.write_cgspeed(tmp_path / "18_01.bvh", n_frames=31)
    fx.write_cgspeed(tmp_path / "19_01.bvh", n_frames=31)
    fx.write_cgspeed(tmp_path / "20_01.bvh", n_frames=41)
    fx.write_descriptions(tmp_path, [("18_01", 18, "chicken dance", "", "18_01.bvh")])
    assert cmu.partner_group(tmp_path / "18_01.bvh") == "cmu/trial_01_18+19"
    assert cmu.partner_group(tmp_path / "20_01.bvh") is None


def test_cmu_cgspeed_trial_metadata(tmp_path: Path) -> None:
    fx.write_cgspeed(tmp_path / "05_02.bvh", n_frames=61)
    fx.write_cgspeed(tmp_path / "05_01.bvh", n_frames=31)
    fx.write_descriptions(
        tmp_path,
        [
            ("05_01", 5, "walk", "Subject #5 (modern dance)", ""),
            ("05_02", 5, "dance - expressive arms, pirouette", "Subject #5 (modern dance)", ""),
        ],
    )
    [seq] = bvh.read(tmp_path / "05_02.bvh")
    assert seq.seq_id == "cmu/05_02" and seq.performer == "CMU subject 5"
    assert seq.genre == "modern" and seq.labels == {"trial": "05_02", "category": "dance"}
    assert seq.group == seq.seq_id  # no partner
    assert seq.n_frames == 15  # 60 frames after the T-pose, at 120 fps, resampled to 30 FPS
    assert "outworldz" not in seq.credit  # not the Second Life retarget
    [walk] = bvh.read(tmp_path / "05_01.bvh")
    assert walk.labels["category"] == "non-dance" and walk.genre is None


def test_cmu_genre_keywords() -> None:
    def genre(description: str, subject: str = "") -> str | None:
        return cmu.Trial("x_01", 1, "01", description, subject).genre

    assert genre("lambada dance", "Subject #55 (animal behaviors)") == "lambada"
    assert genre("charleston_01", "Subject #103 (Charelston Dancing)") == "charleston"
    assert genre("Unknown", "Subject #94 (indian dance)") == "indian"
    assert genre("dance - sideways arabesque") == "ballet"
    assert genre("Dance") is None
    assert genre("wash windows") is None


def test_plain_bvh_folder_reads_as_generic_source(tmp_path: Path) -> None:
    nested = tmp_path / "takes" / "a"
    nested.mkdir(parents=True)
    fx.write_cgspeed(nested / "my_dance.bvh")
    (tmp_path / "notes.txt").write_text("not motion")
    assert bvh.looks_like(tmp_path)
    assert bvh.discover(tmp_path) == [nested / "my_dance.bvh"]
    [seq] = bvh.read(nested / "my_dance.bvh")
    assert seq.seq_id == "bvh/my_dance" and seq.source == "bvh" and seq.descriptions == []


def test_cmu_name_without_descriptions_is_generic(tmp_path: Path) -> None:
    fx.write_cgspeed(tmp_path / "60_05.bvh")
    [seq] = bvh.read(tmp_path / "60_05.bvh")
    assert seq.source == "bvh" and seq.seq_id == "bvh/60_05"
    assert seq.n_frames == 30  # subject 60's true 60 fps applies: 60 frames -> 30 at 30 FPS


def test_discover_and_looks_like_on_real_folder(data: Path) -> None:
    files = bvh.discover(data / "cmu")
    assert [f.name for f in files][:2] == ["60_05_scaled.bvh", "60_10_scaled.bvh"]
    assert len(files) == 6


def test_empty_folder_is_not_bvh(tmp_path: Path) -> None:
    assert not bvh.looks_like(tmp_path)
    with pytest.raises(SourceError, match="no .bvh"):
        bvh.discover(tmp_path)


# ------------------------------------------------------------------------ bad input


def _good_text() -> str:
    """A valid chain file whose motion values are 0, 1, 2, ... 35 (three rows of 12)."""
    root = fx.chain()
    return fx.bvh_text(root, np.arange(36.0).reshape(3, 12), 1 / 30)


LAST_ROW = " ".join(f"{v:.6f}" for v in range(24, 36)) + "\n"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (LAST_ROW, "", r"declares 3 frames but holds 2 rows \(truncated\)"),
        (" 35.000000", "", "motion row 3 has 11 values, expected 12"),
        (" 3.000000 ", " abc ", "non-numeric value 'abc' in motion row 1"),
        (" 15.000000 ", " nan ", "motion row 2 holds NaN"),
        ("MOTION", "MOTON", "no MOTION section"),
        ("HIERARCHY", "HIERARCHX", "not a BVH file"),
        ("Frames: 3", "Frames: 0", "declares 0 frames"),
        ("OFFSET 0.00000 1.00000", "OFFSET 0.00000 x", "non-numeric OFFSET of a"),
        ("Frame Time: 0.0333333", "Frame Time: 0", "Frame Time must be positive"),
        ("CHANNELS 3", "CHANNELS 4", "bad CHANNELS"),
    ],
)
def test_bad_input_names_the_file(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = _good_text()
    assert old in text
    path = tmp_path / "broken_take.bvh"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(SourceError, match=message) as err:
        bvh.load(path)
    assert "broken_take.bvh" in str(err.value)


def test_truncated_real_file(data: Path, tmp_path: Path) -> None:
    source = data / "cmu" / "60_05_scaled.bvh"
    text = source.read_text()
    path = tmp_path / "60_05_cut.bvh"
    path.write_text(text[: len(text) // 2])  # cut mid-row, as an interrupted copy would
    with pytest.raises(SourceError, match=r"60_05_cut\.bvh.*truncated"):
        bvh.load(path)


def test_unknown_rig_lists_missing_joints(tmp_path: Path) -> None:
    path = tmp_path / "robot.bvh"
    path.write_text(_good_text())
    with pytest.raises(SourceError, match="robot.bvh") as err:
        bvh.load(path)
    message = str(err.value)
    assert "unknown skeleton" in message
    assert "sl_avatar lacks hip, lThigh" in message and "bandai lacks Hips" in message
