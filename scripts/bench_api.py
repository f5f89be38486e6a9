"""Load on the HTTP API: `python -m qa serve --workers 2` on each store, 8 clients asking at once, and a
streaming replica answering reads while its primary takes an add (docs/scaling.md).

    python scripts/bench_api.py [--clients 8] [--questions 25] [--workers 2] [--work runs/api]

For each store (a local folder; a PostgreSQL server started here with `qa.store.postgres_server`), a
new collection holding the seed articles is served on a free 127.0.0.1 port; after one warm-up
question per worker, --clients threads each ask --questions of bench_pipeline's seed questions in
turn, with a deadline. It prints errors, questions/s and latency p50 / p95 / max. Everything targets
loopback and stops by itself. Then, on PostgreSQL: a replica (`postgres replica`) is started and
served by its own read-only API while an article is added through the primary's, and the script
reports how long until the replica's API answers from the new article.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from bench_pipeline import QUESTIONS  # noqa: E402
from qa.store import postgres_server  # noqa: E402
from qa.store.postgres_server import free_port  # noqa: E402

DEADLINE_S = 900
TOKEN = "bench-token"
CAIRO = b"Snow in Cairo\nSnow fell on Cairo on Tuesday for the first time in 112 years, the weather office said.\n"


def serve(env: dict, workers: int, log: Path) -> tuple[subprocess.Popen, str]:
    """`python -m qa serve` on a free loopback port (its output in `log`), once it answers /healthz."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "qa", "serve", "--port", str(port), "--workers", str(workers)],
                            env={**os.environ, "HF_HUB_OFFLINE": "1", "QA_ADMIN_TOKEN": TOKEN, **env}, cwd=REPO,
                            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    stop(proc)
    raise RuntimeError(f"the server did not answer /healthz in time; its log: {log}")


def stop(proc: subprocess.Popen) -> None:
    """Stop the server and its workers (its process group), by force if they do not go in 30 s."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def load(url: str, clients: int, questions: int, workers: int) -> dict:
    with httpx.Client(base_url=url, timeout=120) as warm:
        for _ in range(2 * workers):  # each worker answers once before the clock starts
            warm.post("/ask", json={"question": QUESTIONS[0]}).raise_for_status()
    latencies, errors, lock = [], [], threading.Lock()
    deadline = time.monotonic() + DEADLINE_S
    go = threading.Barrier(clients)

    def client(n: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            go.wait()
            for i in range(questions):
                if time.monotonic() > deadline:
                    with lock:
                        errors.append("deadline")
                    return
                t = time.perf_counter()
                try:
                    r = http.post("/ask", json={"question": QUESTIONS[(n + i) % len(QUESTIONS)]})
                    ok = r.status_code == 200 and r.json()["question"]
                except httpx.HTTPError as err:
                    ok, r = False, err
                with lock:
                    latencies.append(time.perf_counter() - t)
                    if not ok:
                        errors.append(str(getattr(r, "status_code", r)))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {"questions": len(latencies), "errors": len(errors), "questions/s": round(len(latencies) / wall, 2),
            "p50 ms": round(1000 * statistics.median(ordered)), "p95 ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))]),
            "max ms": round(1000 * ordered[-1]), "wall s": round(wall, 1)}


def replica_check(work: Path, primary: postgres_server.Server, primary_api: str, workers: int) -> dict:
    """A replica serving reads while the primary takes an add: how long until it answers from it."""
    replica = postgres_server.start_replica(work / "replica", primary.folder, free_port())
    proc, url = serve({"QA_STORE": replica.url}, workers, work / "replica-serve.log")
    try:
        with httpx.Client(timeout=120) as http:
            before = http.get(f"{url}/articles").json()["count"]
            refused = http.post(f"{url}/articles", files={"files": ("cairo.txt", CAIRO)},
                                headers={"Authorization": f"Bearer {TOKEN}"}).status_code
            added_at = time.perf_counter()
            http.post(f"{primary_api}/articles", files={"files": ("cairo.txt", CAIRO)},
                      headers={"Authorization": f"Bearer {TOKEN}"}).raise_for_status()
            added_s = time.perf_counter() - added_at
            while time.perf_counter() - added_at < 60:
                answer = http.post(f"{url}/ask", json={"question": "When did snow fall on Cairo?"}).json()
                if answer["answers"] and answer["answers"][0]["article_id"] == "cairo":
                    break
                time.sleep(0.05)
            seen_s = time.perf_counter() - added_at
            after = http.get(f"{url}/articles").json()["count"]
        return {"replica articles before / after": f"{before} / {after}", "write on the replica": refused,
                "add on the primary (s)": round(added_s, 2), "replica answers from it after (s)": round(seen_s, 2),
                "answer": answer["answers"][0]["text"] if answer["answers"] else None}
    finally:
        stop(proc)
        postgres_server.stop(replica.folder)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--questions", type=int, default=25)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "api")
    args = parser.parse_args()
    work = args.work.resolve()
    if work.exists():
        for folder in ("postgres", "replica"):
            postgres_server.stop(work / folder)
        subprocess.run(["rm", "-rf", str(work)], check=True)
    work.mkdir(parents=True)
    rows = {}
    primary = postgres_server.start(work / "postgres", free_port())
    try:
        for name, env in (("local", {"QA_INDEX_DIR": str(work / "index"), "QA_STORE": ""}),
                          ("postgresql", {"QA_STORE": primary.url})):
            proc, url = serve(env, args.workers, work / f"{name}-serve.log")
            try:
                rows[name] = load(url, args.clients, args.questions, args.workers)
                print(name, rows[name], flush=True)
                if name == "postgresql":
                    print("replica", replica_check(work, primary, url, args.workers), flush=True)
            finally:
                stop(proc)
    finally:
        postgres_server.stop(primary.folder)
    print(f"\n{args.clients} clients x {args.questions} questions, serve --workers {args.workers}\n")
    print("| store | " + " | ".join(next(iter(rows.values()))) + " |\n|---|" + "---|" * len(next(iter(rows.values()))))
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(str(v) for v in row.values()) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
