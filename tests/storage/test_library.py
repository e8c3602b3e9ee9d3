import numpy as np
import pandas as pd
import pytest

from dancesearch.errors import LibraryError
from dancesearch.storage.library import Library, array_key


def test_a_folder_becomes_a_library_only_when_asked(tmp_path):
    with pytest.raises(LibraryError, match="not a dancesearch library"):
        Library(tmp_path / "lib")
    lib = Library(tmp_path / "lib", create=True)
    assert Library(tmp_path / "lib").uid == lib.uid  # reopening keeps its identity
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "thesis.tex").write_text("precious")
    with pytest.raises(LibraryError, match="not empty"):
        Library(tmp_path / "other", create=True)


def test_a_second_writer_is_refused(tmp_path):
    lib = Library(tmp_path, create=True)
    with lib.lock(), pytest.raises(LibraryError, match="another process"), lib.lock():
        pass
    with lib.lock():  # released after use
        pass


def test_arrays_and_tables_round_trip_without_leftovers(tmp_path):
    lib = Library(tmp_path, create=True)
    joints = np.random.default_rng(0).random((5, 22, 3), dtype=np.float32)
    lib.save_motion("m2d/DANCE_W_1", joints)
    lib.save_features("m2d/DANCE_W_1", "k1", motion=joints[:, :, 0])
    np.testing.assert_array_equal(lib.load_motion("m2d/DANCE_W_1"), joints)
    assert lib.load_features("m2d/DANCE_W_1", "k1")["motion"].shape == (5, 22)
    lib.write_table("clips", pd.DataFrame({"clip_id": ["a@000000"], "seq_id": ["a"]}))
    assert lib.clip("a@000000")["seq_id"] == "a"
    assert not list(tmp_path.rglob("*.tmp"))  # temporary files are renamed into place
    with pytest.raises(LibraryError, match="features of 'm2d/DANCE_W_1' are missing"):
        lib.load_features("m2d/DANCE_W_1", "other-key")


def test_array_keys_are_safe_and_distinct():
    assert "/" not in array_key("cmu/60_05") and array_key("a/b") != array_key("a_b")
