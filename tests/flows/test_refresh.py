"""The scheduled refresh: a real run of the flow, and its deployment's schedule."""

import pytest
from click.testing import CliRunner

from dancesearch.cli import main
from dancesearch.flows.refresh import refresh, refresh_deployment
from dancesearch.storage.library import Library


def test_refresh_ingests_then_annotates_and_skips_what_is_unchanged(data, tmp_path):
    src = tmp_path / "g1"
    src.mkdir()
    for name in ("J_ShortDance16_JazzWalk.npz", "M_ShortMove14.npz", "labels.csv"):
        (src / name).symlink_to(data / "g1" / name)
    lib = tmp_path / "lib"
    first = refresh([str(src)], library=str(lib))
    assert first["new_clips"] == 2 and first["annotated_clips"] == 2
    assert len(Library(lib).table("captions")) > 0
    again = refresh([str(src)], library=str(lib))
    assert again["new_clips"] == 0 and again["annotated_clips"] == 2


def test_deployment_carries_schedule_and_parameters(tmp_path):
    deployment = refresh_deployment(["/data/mocap"], str(tmp_path), cron="30 2 * * 1")
    assert deployment.name == "nightly"
    assert deployment.parameters == {"paths": ["/data/mocap"], "library": str(tmp_path)}
    (schedule,) = deployment.schedules
    assert schedule.schedule.cron == "30 2 * * 1"


@pytest.mark.parametrize(
    ("args", "message"),
    [(["nowhere"], "does not exist"), ([".", "--cron", "every day"], "not a valid cron")],
)
def test_schedule_refuses_bad_input_at_once(tmp_path, args, message):
    result = CliRunner().invoke(main, ["schedule", *args, "--library", str(tmp_path / "lib")])
    assert result.exit_code == 2 and message in result.output
