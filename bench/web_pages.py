"""Web pages' time at N seeded projects (docs/web.md): p50 and p95 per page.

A fresh SQLite file (or `--database-url`) is migrated and seeded with the demo portfolio,
a real `tracker serve` answers once its projections are caught up (/readyz), and one
sequential client (httpx, keep-alive, signed in through /connexion) asks each page
`--repeat` times after a warm-up. The times are the client's, over loopback: the server's
time plus a fraction of a millisecond.

    .venv/bin/python -m bench.web_pages --projects 200 --repeat 50
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import percentile
from bench.server import free_port

TRACKER = str(Path(sys.executable).parent / "tracker")


def _tracker(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [TRACKER, *args], capture_output=True, text=True, env=env, check=True, timeout=900
    )
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="tracker-web-bench-"))
    url_db = args.database_url or f"sqlite:///{home / 'tracker.db'}"
    env = {
        **os.environ,
        "TRACKER_DATABASE_URL": url_db,
        "TRACKER_SESSION_SECRET": "bench-" + "x" * 40,
        "TRACKER_LOG_LEVEL": "WARNING",
    }
    _tracker(env, "migrate")
    _tracker(env, "seed", "--projects", str(args.projects), "--force")
    # An auditor reads every page, the history too.
    token = _tracker(env, "token", "create", "--role", "auditor", "--name", "bench")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (home / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [TRACKER, "serve", "--port", str(port), "--no-migrate"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=home,
        )
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            deadline = time.monotonic() + 300
            while True:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the server was not ready within 300 s")
                time.sleep(0.2)
            client.post("/connexion", data={"jeton": token, "suite": "/"}, headers={"Origin": base})
            listed = client.get("/projets")
            marker = 'href="/projets/'
            start = listed.text.index(marker) + len(marker)
            project_id = listed.text[start : start + 36]
            pages = {
                "/": "/",
                "/?connu_le=…": "/?connu_le=2030-01-01T00:00:00",
                "/projets": "/projets",
                "/projets?phase=…&text=…": "/projets?phase=prototyping&text=a",
                "/?on=…": "/?on=2024-12-31",
                "/projets/{id}": f"/projets/{project_id}",
                "/projets/{id}?on=…": f"/projets/{project_id}?on=2030-01-01",
                "/projets/{id}/historique": f"/projets/{project_id}/historique",
                "/projets.csv": "/projets.csv",
                "/formations": "/formations",
                "/campagnes/{slug}": "/campagnes/mois-innovation-publique-2020",
                "/comparaison?du=…&au=…": "/comparaison?du=2024-12-31&au=2025-06-30",
                "/connexion": "/connexion",
            }
            backend = url_db.split(":")[0]
            print(f"{args.projects} projects, {args.repeat} requests per page ({backend})")
            print(f"{'page':<28} {'p50 ms':>8} {'p95 ms':>8}")
            for name, path in pages.items():
                for _ in range(3):
                    assert client.get(path).status_code == 200, path
                samples = []
                for _ in range(args.repeat):
                    began = time.perf_counter()
                    response = client.get(path)
                    samples.append((time.perf_counter() - began) * 1000)
                    assert response.status_code == 200, path
                p50, p95 = percentile(samples, 50), percentile(samples, 95)
                print(f"{name:<28} {p50:>8.1f} {p95:>8.1f}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
