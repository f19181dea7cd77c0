"""Published keys and the signed-history detail of `/readyz`, through the real ASGI app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tracker.asgi import create_app
from tracker.config.settings import Settings
from tracker.store import migrate
from tracker.store.signing import Signer, generate_key_file


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "signing.key"
    generate_key_file(path)
    return path


def _client(settings: Settings) -> Iterator[TestClient]:
    migrate.upgrade(settings)
    with TestClient(create_app(settings, run_projector=False)) as client:
        yield client


@pytest.fixture
def signed_client(empty_database_url: str, key_file: Path) -> Iterator[TestClient]:
    yield from _client(Settings(database_url=empty_database_url, audit_signing_key_file=key_file))


@pytest.fixture
def unsigned_client(empty_database_url: str) -> Iterator[TestClient]:
    yield from _client(Settings(database_url=empty_database_url))


def test_the_public_keys_are_published_without_a_token(
    signed_client: TestClient, key_file: Path
) -> None:
    signer = Signer.from_file(key_file)
    answer = signed_client.get("/api/v1/audit/keys")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "algorithm": "ed25519",
        "rule": "tracker-signed-head-v1",
        "current": signer.key_id,
        "keys": [{"key_id": signer.key_id, "public_key": signer.public_key}],
    }


def test_readyz_says_the_history_is_signed_with_the_current_key(
    signed_client: TestClient, key_file: Path
) -> None:
    checks = signed_client.get("/readyz").json()["checks"]
    assert checks["history"] == f"signed (key {Signer.from_file(key_file).key_id})"


def test_readyz_says_a_store_without_a_key_keeps_an_unsigned_history(
    unsigned_client: TestClient,
) -> None:
    answer = unsigned_client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json()["checks"]["history"].startswith("unsigned")


def test_a_store_without_a_key_publishes_no_key(unsigned_client: TestClient) -> None:
    body = unsigned_client.get("/api/v1/audit/keys").json()
    assert body["current"] is None
    assert body["keys"] == []
