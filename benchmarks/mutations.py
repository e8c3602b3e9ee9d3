"""Mutation check: does the test suite catch the bugs it exists to catch?

Each mutation below breaks one promise of the code on purpose: the library's atomic writes and
its lock, ingest keeping good data and rechecking missing arrays, segmentation, what the feature
columns mean. The script copies the repository (at a git ref, or the working tree) into a
scratch folder, applies one mutation at a time, runs the tests relevant to it there (the whole
default suite for the mutations marked FULL), and reports which tests caught it. It first
checks that the unmutated copy passes the default suite and that the copy's package, not the
installed one, is what Python imports.

A mutation that no test catches is a promise nothing holds: the script then exits 1 (and 2 when
a mutation no longer applies because the code it edits has changed).

    .venv/bin/python benchmarks/mutations.py [--ref HEAD | --worktree] [--only NAME ...]
        [--no-baseline] [--keep] [--out benchmarks/results/mutations]

It takes about half an hour on two busy cores and prints its progress, so run it in the
background: `.venv/bin/python benchmarks/mutations.py > /tmp/mutations.log 2>&1 &`.
Results: <out>.json and <out>.md (the table the README points to).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FULL: tuple[str, ...] = ()  # no paths: the whole default suite
TIMEOUT_S = 1800  # per pytest run; a hang counts as caught (CI would fail too) and is flagged

FLOW_TESTS = (
    "tests/flows/test_write_safety.py",
    "tests/flows/test_end_to_end_synthetic.py",
    "tests/flows/test_ingest_flow.py",
)
INGEST_TESTS = (*FLOW_TESTS, "tests/test_ingest_hash.py", "tests/cli")


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str  # the file it edits, relative to the repository
    edits: tuple[tuple[str, str], ...]  # (old, new); each old text must occur exactly once
    breaks: str  # the promise it breaks, in words
    tests: tuple[str, ...] = FULL  # test files or folders to run
    from_issue: bool = False  # one of the mutations issue 11 listed


MUTATIONS = (
    # ---- the five the issue listed: each survived the suite before
    Mutation(
        "ingest-without-lock",
        "dancesearch/flows/ingest.py",
        (("with lib.lock():", "if True:  # mutation: no lock"),),
        "the ingest flow takes the library's lock for its whole run",
        FULL,
        True,
    ),
    Mutation(
        "annotate-without-lock",
        "dancesearch/flows/annotate.py",
        (("with lib.lock():", "if True:  # mutation: no lock"),),
        "the annotate flow takes the library's lock for its whole run",
        (*FLOW_TESTS, "tests/flows/test_refresh.py", "tests/annotate/test_pipeline.py"),
        True,
    ),
    Mutation(
        "atomic-write-in-place",
        "dancesearch/storage/library.py",
        (("        write(tmp)\n        os.replace(tmp, path)\n", "        write(path)\n"),),
        "every library file is written to a temporary name and renamed into place",
        FULL,
        True,
    ),
    Mutation(
        "corrupt-item-loses-its-data",
        "dancesearch/ingest.py",
        (
            (
                "replaced = ok_items | skipped_before if recut else ok_items",
                "replaced = ok_items | skipped_before",
            ),
            ("if len(old_items) and not recut:", "if False:"),
        ),
        "a good item that turns bad keeps its clips, sequences and 'ok' row",
        (*INGEST_TESTS, "tests/storage"),
        True,
    ),
    Mutation(
        "flow-skips-array-recheck",
        "dancesearch/ingest.py",
        (
            (
                'return result.status == "ok" and not library.has_arrays(',
                "return False and not library.has_arrays(",
            ),
        ),
        "a cached result whose arrays have gone from the library is recomputed",
        (*FLOW_TESTS, "tests/test_ingest.py"),
        True,
    ),
    Mutation(
        "chroma-reversed",
        "dancesearch/features/music.py",
        (("[mfcc, chroma, envelope[None]", "[mfcc, chroma[::-1], envelope[None]"),),
        "each chroma column holds its own pitch class (valence reads the mode from them)",
        ("tests/features", "tests/annotate/test_descriptors.py", "tests/annotate/test_tagger.py"),
        True,
    ),
    # ---- library
    Mutation(
        "lock-shared",
        "dancesearch/storage/library.py",
        (("fcntl.LOCK_EX | fcntl.LOCK_NB", "fcntl.LOCK_SH | fcntl.LOCK_NB"),),
        "the lock is exclusive: a second writer in another process waits",
        ("tests/storage", "tests/flows/test_write_safety.py"),
    ),
    Mutation(
        "has-arrays-checks-motion-only",
        "dancesearch/storage/library.py",
        (
            (
                "self.motion_path(s).exists() and self.features_path(s, feature_key).exists()",
                "self.motion_path(s).exists()",
            ),
        ),
        "an item missing its features (not only its motion) is ingested again",
        ("tests/storage", *FLOW_TESTS),
    ),
    Mutation(
        "array-key-collides",
        "dancesearch/storage/library.py",
        (('return f"{safe}-{hashlib.sha1(seq_id.encode()).hexdigest()[:8]}"', "return safe"),),
        "two sequence ids never share an array file",
        ("tests/storage",),
    ),
    # ---- ingest
    Mutation(
        "unchanged-ignores-config",
        "dancesearch/ingest.py",
        (
            (
                '(items["config_key"] == config.key())',
                '(items["config_key"] == items["config_key"])',
            ),
        ),
        "an item ingested with another configuration is ingested again",
        (*INGEST_TESTS, "tests/flows/test_recorded_config.py"),
    ),
    Mutation(
        "hash-ignores-bytes",
        "dancesearch/items.py",
        (("h.update(block)", "pass"),),
        "an item whose bytes changed is ingested again",
        INGEST_TESTS,
    ),
    Mutation(
        "recorded-hash-trusted-blindly",
        "dancesearch/items.py",
        (("recorded is not None and recorded[1] == stats[key]", "recorded is not None"),),
        "an item whose files' size or mtime changed is hashed again, not taken as unchanged",
        ("tests/test_items.py", *INGEST_TESTS),
    ),
    Mutation(
        "replace-keeps-old-rows",
        "dancesearch/ingest.py",
        (("keep = keep[~keep[column].isin(values)]", "keep = keep"),),
        "re-ingesting an item replaces its rows instead of adding a second copy",
        INGEST_TESTS,
    ),
    Mutation(
        "corrupt-item-sequences-dropped",
        "dancesearch/ingest.py",
        (
            (
                "replaced = ok_items | skipped_before if recut else ok_items",
                "replaced = ok_items | skipped_before",
            ),
        ),
        "a good item that turns bad keeps its sequences and clips",
        INGEST_TESTS,
    ),
    Mutation(
        "corrupt-item-row-overwritten",
        "dancesearch/ingest.py",
        (("if len(old_items) and not recut:", "if False:"),),
        "a good item that turns bad keeps its 'ok' row in the items table",
        INGEST_TESTS,
    ),
    # ---- clips
    Mutation(
        "clip-music-not-shifted",
        "dancesearch/clips.py",
        (
            (
                "music_start_s=seq.music_offset + start / FPS if",
                "music_start_s=seq.music_offset if",
            ),
        ),
        "each clip plays the music under its own frames",
        ("tests/test_clips.py", *FLOW_TESTS),
    ),
    Mutation(
        "static-windows-kept",
        "dancesearch/clips.py",
        (("if reason is None and is_static(window, FPS):", "if False:"),),
        "windows where nobody moves are dropped and counted",
        ("tests/test_clips.py",),
    ),
    Mutation(
        "stride-ignored",
        "dancesearch/clips.py",
        (("range(0, n_frames - win + 1, stride)", "range(0, n_frames - win + 1, win)"),),
        "--stride sets the step between window starts",
        ("tests/test_clips.py", *FLOW_TESTS),
    ),
    # ---- features
    Mutation(
        "onset-peaks-two-frames-late",
        "dancesearch/features/music.py",
        (("peak_onehot[peaks] = 1.0", "peak_onehot[np.minimum(peaks + 2, natural - 1)] = 1.0"),),
        "onset_peak marks the frame of the onset",
        ("tests/features",),
    ),
    Mutation(
        "beats-two-frames-late",
        "dancesearch/features/music.py",
        (("beat_onehot[beats] = 1.0", "beat_onehot[np.minimum(beats + 2, natural - 1)] = 1.0"),),
        "beat marks the frame of the beat",
        ("tests/features",),
    ),
    Mutation(
        "mfcc-from-power",
        "dancesearch/features/music.py",
        (("mfcc(S=log_mel,", "mfcc(S=power,"),),
        "MFCCs come from the log-mel spectrum: loudness moves MFCC 0 alone",
        ("tests/features",),
    ),
    Mutation(
        "contacts-ignore-speed",
        "dancesearch/features/motion.py",
        (("speed[:, contact_idx] < config.contact_speed_m_s", "speed[:, contact_idx] >= 0"),),
        "a foot in contact is low and slow, not merely low",
        ("tests/features/test_motion.py",),
    ),
    Mutation(
        "velocity-in-world-frame",
        "dancesearch/features/motion.py",
        (("body_vel = _keep_length(rotate_y(step, -mid_yaw))", "body_vel = _keep_length(step)"),),
        "velocities are in the body's heading frame (the same dance facing elsewhere matches)",
        ("tests/features/test_motion.py",),
    ),
)


@dataclass
class Outcome:
    name: str
    path: str
    breaks: str
    from_issue: bool
    tests: list[str]
    status: str = ""  # caught, survived, timeout, stale, invalid
    caught_by: list[str] = field(default_factory=list)
    seconds: float = 0.0
    detail: str = ""


# ------------------------------------------------------------------------- scratch copy


def make_copy(scratch: Path, ref: str | None) -> Path:
    """The repository's files at `ref` (or the working tree's tracked and unignored files when
    ref is None) under scratch/repo, with scratch/shared linked to ../shared (the test data)."""
    repo = scratch / "repo"
    repo.mkdir()
    if ref is None:
        names = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        ).stdout.split(b"\0")
        for name in filter(None, names):
            src = ROOT / name.decode()
            if src.is_file():  # a file deleted in the working tree is still listed by git
                (repo / name.decode()).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, repo / name.decode())
    else:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", ref], cwd=ROOT, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(repo)], input=archive, check=True)
    if (ROOT.parent / "shared").exists():
        (scratch / "shared").symlink_to(ROOT.parent / "shared")
    return repo


def environment(repo: Path) -> dict[str, str]:
    """Python imports the copy's package (PYTHONPATH precedes the editable install) and writes
    no bytecode, so a restored file is never shadowed by the mutant's cached .pyc."""
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_HOME", "PREFECT_API_URL")}
    env.update(PYTHONPATH=str(repo), PYTHONDONTWRITEBYTECODE="1")
    return env


def imported_file(repo: Path, module: str) -> Path:
    """The file Python loads for `module` when run as the tests run in the copy."""
    code = f"import importlib, sys; print(importlib.import_module({module!r}).__file__)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=repo,
        env=environment(repo),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return Path(out.strip().splitlines()[-1]).resolve()


def check_imports_copy(repo: Path, mutation: Mutation) -> None:
    """Raise unless the mutated module Python imports is the copy's mutated file."""
    module = mutation.path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
    loaded = imported_file(repo, module)
    target = (repo / mutation.path).resolve()
    if loaded != target:
        raise RuntimeError(f"{module} is imported from {loaded}, not the mutated {target}")
    if mutation.edits and mutation.edits[0][1] not in loaded.read_text():
        raise RuntimeError(f"{loaded} does not hold the mutation {mutation.name}")


# ------------------------------------------------------------------------------ running


def run_pytest(repo: Path, tests: tuple[str, ...]) -> tuple[int | None, str, float]:
    """(exit code or None on timeout, output, seconds) of the default suite or `tests`."""
    for cache in repo.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-rfE",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
    ]
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*cmd, *tests],
        cwd=repo,
        env=environment(repo),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # so a timeout can end pytest and whatever it started
    )
    try:
        out, _ = proc.communicate(timeout=TIMEOUT_S)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        code = None
    return code, out, time.perf_counter() - started


def failures(output: str) -> list[str]:
    """Test ids pytest reported as FAILED or ERROR, in order, without their messages."""
    found = re.findall(r"^(?:FAILED|ERROR) (\S+)", output, flags=re.MULTILINE)
    return list(dict.fromkeys(found))


def apply(repo: Path, mutation: Mutation) -> str | None:
    """Edit the copy; returns the original text, or None when an edit no longer applies."""
    path = repo / mutation.path
    original = text = path.read_text()
    for old, new in mutation.edits:
        if text.count(old) != 1:
            return None
        text = text.replace(old, new)
    path.write_text(text)
    return original


def try_mutation(repo: Path, mutation: Mutation) -> Outcome:
    outcome = Outcome(
        mutation.name,
        mutation.path,
        mutation.breaks,
        mutation.from_issue,
        list(mutation.tests) or ["(default suite)"],
    )
    original = apply(repo, mutation)
    if original is None:
        outcome.status = "stale"
        outcome.detail = "the code it edits has changed: update the mutation"
        return outcome
    try:
        compiled = subprocess.run(
            [sys.executable, "-m", "py_compile", str(repo / mutation.path)],
            capture_output=True,
            text=True,
            env=environment(repo),
        )
        if compiled.returncode != 0:
            outcome.status, outcome.detail = "invalid", compiled.stderr[-500:]
            return outcome
        check_imports_copy(repo, mutation)
        tests = tuple(t for t in mutation.tests if (repo / t).exists())  # files come and go
        if mutation.tests and not tests:
            outcome.status, outcome.detail = "invalid", "none of its test files exist"
            return outcome
        outcome.tests = list(tests) or ["(default suite)"]
        code, output, outcome.seconds = run_pytest(repo, tests)
    finally:
        (repo / mutation.path).write_text(original)
    outcome.caught_by = failures(output)
    if code is None:
        outcome.status, outcome.detail = "timeout", f"no result within {TIMEOUT_S} s"
    elif code == 0:
        outcome.status = "survived"
    elif code == 1 and outcome.caught_by:
        outcome.status = "caught"
    else:  # usage error, no tests collected, internal error: not a verdict on the mutation
        outcome.status, outcome.detail = "invalid", f"pytest exit {code}: {output[-500:]}"
    return outcome


# ------------------------------------------------------------------------------ report


def markdown(result: dict) -> str:
    lines = [
        "# Mutation check",
        "",
        f"`benchmarks/mutations.py` on {result['source']}, {result['date']}, "
        f"{result['machine']}. Each mutation breaks one promise on purpose; the tests named "
        "are those that failed because of it (pytest in file order, `-p no:randomly`).",
        "",
    ]
    if result["baseline"]:
        b = result["baseline"]
        lines += [f"Unmutated copy: default suite exit {b['exit']} in {b['seconds']:.0f} s.", ""]
    lines += [
        "| mutation | file | promise broken | tests run | verdict | caught by |",
        "|---|---|---|---|---|---|",
    ]
    for o in result["mutations"]:
        name = f"**{o['name']}**" if o["from_issue"] else o["name"]
        tests = "default suite" if o["tests"] == ["(default suite)"] else ", ".join(o["tests"])
        caught = "<br>".join(f"`{t}`" for t in o["caught_by"][:4]) or o["detail"]
        if len(o["caught_by"]) > 4:
            caught += f"<br>and {len(o['caught_by']) - 4} more"
        lines.append(
            f"| {name} | `{o['path']}` | {o['breaks']} | {tests} | {o['status']} | {caught} |"
        )
    counts = {s: sum(o["status"] == s for o in result["mutations"]) for s in ("caught", "survived")}
    lines += [
        "",
        f"Bold: listed in issue 11. {counts['caught']} caught, {counts['survived']} survived, "
        f"of {len(result['mutations'])}.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--ref", default="HEAD", help="git ref to copy (default HEAD)")
    where.add_argument("--worktree", action="store_true", help="copy the working tree instead")
    parser.add_argument("--only", action="append", help="run only this mutation (repeatable)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "mutations")
    args = parser.parse_args()
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only]
    unknown = set(args.only or ()) - {m.name for m in MUTATIONS}
    if unknown:
        parser.error(f"unknown mutation(s): {', '.join(sorted(unknown))}")

    scratch = Path(tempfile.mkdtemp(prefix="dancesearch-mutations-"))
    ref = None if args.worktree else args.ref
    source = "the working tree" if ref is None else f"`{ref}` ({git_head(ref)})"
    result: dict = {
        "what": "which tests catch deliberate bugs (mutations) of dancesearch",
        "source": source,
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "baseline": None,
        "mutations": [],
    }
    try:
        repo = make_copy(scratch, ref)
        loaded = imported_file(repo, "dancesearch")
        print(f"copy of {source} at {repo}; dancesearch imported from {loaded}", flush=True)
        if not loaded.is_relative_to(repo.resolve()):
            print("the copy's package is not the one imported: stopping", flush=True)
            return 2
        if not args.no_baseline:
            print("baseline: the default suite on the unmutated copy ...", flush=True)
            code, output, seconds = run_pytest(repo, FULL)
            result["baseline"] = {"exit": code, "seconds": seconds, "failed": failures(output)}
            print(f"baseline: exit {code} in {seconds:.0f} s", flush=True)
            if code != 0:
                print(output[-3000:], flush=True)
                print("the unmutated suite does not pass: a mutation verdict would mean nothing")
                return 2
        for k, mutation in enumerate(chosen, 1):
            print(f"[{k}/{len(chosen)}] {mutation.name} ({mutation.path}) ...", flush=True)
            outcome = try_mutation(repo, mutation)
            result["mutations"].append(asdict(outcome))
            first = outcome.caught_by[0] if outcome.caught_by else outcome.detail[:200]
            print(f"    {outcome.status} in {outcome.seconds:.0f} s: {first}", flush=True)
            write_results(args.out, result)  # partial results survive an interrupted run
    finally:
        if args.keep:
            print(f"scratch copy kept at {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    write_results(args.out, result)
    bad = [o for o in result["mutations"] if o["status"] not in ("caught", "timeout")]
    print(f"{len(chosen) - len(bad)} of {len(chosen)} caught; results in {args.out}.md")
    for o in bad:
        print(f"  {o['status']}: {o['name']} - {o['breaks']}")
    if any(o["status"] in ("stale", "invalid") for o in bad):
        return 2
    return 1 if bad else 0


def git_head(ref: str) -> str:
    out = subprocess.run(
        ["git", "rev-parse", "--short", ref], cwd=ROOT, capture_output=True, text=True
    )
    return out.stdout.strip() or "?"


def write_results(out: Path, result: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    out.with_suffix(".md").write_text(markdown(result))


if __name__ == "__main__":
    sys.exit(main())
