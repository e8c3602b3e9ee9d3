"""Load on `dancesearch serve`: concurrent clients send searches to loopback for a bounded time;
throughput, p50/p95 latency and errors at 1, 8 and 32 clients.

    python benchmarks/serve.py --library /path/to/built/library [--seconds 20]

The server runs as the product runs it (`dancesearch serve`, one uvicorn process) and holds
the library's collection while the benchmark runs: nothing else may have it open.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
CLIENTS = (1, 8, 32)
QUERIES = (
    ({"q": "a slow waltz with wide turns", "genre": "waltz"}),
    ({"q": "sharp arm isolations over a fast beat"}),
    ({"q": "a run in a childish style"}),
    ({"q": "spinning with arms raised", "music": "true"}),
    ({"q": "a calm dance", "tag": "tempo.slow"}),
    ({"q": "jumping", "mode": "dense"}),
    ({"q": "happy walk", "mode": "text"}),
    ({"q": "energetic cha-cha", "bpm_min": "110", "bpm_max": "130"}),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(library: Path, port: int) -> subprocess.Popen[str]:
    exe = Path(sys.executable).parent / "dancesearch"
    server = subprocess.Popen(
        [str(exe), "serve", "--library", str(library), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/facets", timeout=2)
            return server
        except OSError:
            if server.poll() is not None:
                output = server.stdout.read() if server.stdout else ""
                raise SystemExit(f"the server stopped: {output}") from None
            time.sleep(0.5)
    server.kill()
    raise SystemExit("the server did not start within 120 s")


def load(port: int, clients: int, seconds: float, fresh: bool = False) -> dict[str, float]:
    """`clients` threads each sending searches back to back for `seconds`; fresh: every
    request's text is new (a number appended), so the server's vector cache never helps."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client(k: int) -> None:
        i = k
        while time.perf_counter() < stop:
            query = dict(QUERIES[i % len(QUERIES)])
            if fresh:
                query["q"] += f" {k}x{i}"
            params = urllib.parse.urlencode({**query, "limit": 10})
            t = time.perf_counter()
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/search?{params}", timeout=30
                ) as r:
                    ok = r.status == 200 and json.loads(r.read())["results"] is not None
            except (OSError, ValueError):
                ok = False
            dt = time.perf_counter() - t
            with lock:
                if ok:
                    latencies.append(dt)
                else:
                    errors[0] += 1
            i += clients

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {
        "clients": clients,
        "texts": "new each request" if fresh else f"{len(QUERIES)} repeating",
        "requests": len(latencies),
        "errors": errors[0],
        "throughput_rps": len(latencies) / wall,
        "p50_ms": float(np.percentile(ms, 50)) if len(ms) else float("nan"),
        "p95_ms": float(np.percentile(ms, 95)) if len(ms) else float("nan"),
        "max_ms": float(ms.max()) if len(ms) else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--library", required=True, type=Path)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    port = free_port()
    server = start(args.library, port)
    try:
        load(port, 4, 3.0)  # warm-up: the text model, the page cache
        rows = [load(port, n, args.seconds) for n in CLIENTS]
        rows += [load(port, n, args.seconds, fresh=True) for n in CLIENTS[:2]]
        load_avg = os.getloadavg()[0]
    finally:
        server.terminate()
        server.wait(timeout=60)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "serve.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = [
        "# Load on `dancesearch serve`",
        "",
        f"`benchmarks/serve.py`, {args.seconds:g} s per level, {len(QUERIES)} searches in turn "
        "(hybrid, dense and text; with and without filters; top 10) repeating as a page "
        "re-runs its query when a filter changes (the server remembers recent query vectors), "
        "then new texts every request; clients back to back over "
        f"loopback, one uvicorn process; {os.cpu_count()} cores ({platform.processor() or 'cpu'}), "
        f"1-min load average at the end {load_avg:.1f}. Aim: zero errors, p95 <= 50 ms at 8 "
        "clients.",
        "",
        "| clients | query texts | requests | errors | throughput /s | p50 ms | p95 ms | max ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['clients']} | {r['texts']} | {r['requests']} | {r['errors']} | "
        f"{r['throughput_rps']:.1f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['max_ms']:.1f} |"
        for r in rows
    ]
    eight = next(r for r in rows if r["clients"] == 8)  # repeating texts, as a page re-runs
    met = eight["errors"] == 0 and eight["p95_ms"] <= 50
    lines += ["", f"At 8 clients: {eight['errors']} errors, p95 {eight['p95_ms']:.1f} ms -- "
              + ("aim met." if met else "aim **not met**.")]  # fmt: skip
    (RESULTS / "serve.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
