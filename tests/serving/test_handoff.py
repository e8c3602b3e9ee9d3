"""serve.json: written for the owner only, and followed only when the embedded collection is
held by another process -- told by the error's type, never by its text."""

from __future__ import annotations

import stat

from dancesearch.errors import CollectionHeld, LibraryError, LibraryLocked
from dancesearch.serving.handoff import holder, write_handoff


def test_serve_json_is_private_and_followed_only_for_a_held_collection(tmp_path):
    path = write_handoff(tmp_path, "http://127.0.0.1:8765", "secret")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds the job token
    held = CollectionHeld(f"{tmp_path}/qdrant/x: open in another process")
    assert holder(tmp_path, None, held) == {
        "url": "http://127.0.0.1:8765", "pid": holder(tmp_path, None, held)["pid"],
        "token": "secret",
    }  # fmt: skip
    # the same words in another error lead nowhere: the library lock, a broken collection
    assert holder(tmp_path, None, LibraryLocked("another process is writing")) is None
    assert holder(tmp_path, None, LibraryError("open in another process")) is None
    assert holder(tmp_path, "http://qdrant:6333", held) is None  # a server is shared anyway
    path.unlink()
    assert holder(tmp_path, None, held) is None  # no server running
