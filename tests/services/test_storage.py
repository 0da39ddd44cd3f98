"""Evidence storage backends: streamed hashing, size limit, no overwrite, verified reads."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from backoffice.services import storage as st
from backoffice.services.storage import (
    InvalidKeyError,
    LocalStorage,
    TamperedError,
    TooLargeError,
    get_storage,
)


def files_under(path: Path) -> list[Path]:
    return [Path(d) / f for d, _, fs in os.walk(path) for f in fs]


@pytest.fixture()
def store(tmp_path):
    return LocalStorage(tmp_path / "root", max_bytes=1000)


def test_put_streams_hash_and_size(store):
    """put() returns a generated key, the byte count and the SHA-256 of what was streamed."""
    data = b"%PDF-1.4 hello" * 50
    key, size, sha = store.put(io.BytesIO(data))
    assert st.KEY_RE.fullmatch(key)
    assert size == len(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert (store.root / key).read_bytes() == data
    assert key.startswith(f"{key[6:8]}/{key[8:10]}/")  # sharded by the key's own hex


def test_put_never_reuses_a_key(store):
    """Two uploads of the same bytes are two objects: nothing is overwritten."""
    a = store.put(io.BytesIO(b"same"))
    b = store.put(io.BytesIO(b"same"))
    assert a.key != b.key
    assert len(files_under(store.root)) == 2


def test_put_refuses_to_replace_an_existing_name(store, monkeypatch):
    """A generated key that already exists is skipped (exclusive create), never replaced."""
    first = store.put(io.BytesIO(b"first"))
    keys = iter([first.key, "aa/bb/" + "ab" * 16])
    monkeypatch.setattr(st, "new_key", lambda: next(keys))
    second = store.put(io.BytesIO(b"second"))
    assert second.key == "aa/bb/" + "ab" * 16
    assert (store.root / first.key).read_bytes() == b"first"


def test_oversize_aborts_and_leaves_nothing(store):
    """Passing UPLOAD_MAX_BYTES while streaming aborts the upload and deletes the temp file."""
    with pytest.raises(TooLargeError):
        store.put(io.BytesIO(b"x" * 1001))
    assert files_under(store.root) == []


def test_failed_check_leaves_nothing(store):
    """A content check that raises rejects the upload; no file stays in the storage."""

    def reject(f):
        assert f.read() == b"payload"
        raise ValueError("no")

    with pytest.raises(ValueError):
        store.put(io.BytesIO(b"payload"), check=reject)
    assert files_under(store.root) == []


def test_read_verified_detects_one_changed_byte(store):
    """Changing one stored byte makes the verified read raise TamperedError."""
    key, _, sha = store.put(io.BytesIO(b"evidence bytes"))
    with store.read_verified(key, sha) as f:
        assert f.read() == b"evidence bytes"
    path = store.root / key
    path.chmod(0o640)
    raw = bytearray(path.read_bytes())
    raw[0] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(TamperedError):
        store.read_verified(key, sha)


def test_read_verified_missing_object(store):
    """A stored object that disappeared fails verification too."""
    key, _, sha = store.put(io.BytesIO(b"abc"))
    store.discard(key)
    with pytest.raises(TamperedError) as info:
        store.read_verified(key, sha)
    assert info.value.actual is None


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "/etc/passwd",
        "aa/bb/../../../../etc/passwd",
        "aa/bb/" + "0" * 31,
        "AA/BB/" + "A" * 32,
        "aa\\bb\\" + "a" * 32,
        "",
    ],
)
def test_keys_are_validated(store, key):
    """Only server-generated keys are accepted; traversal and absolute keys are refused."""
    with pytest.raises(InvalidKeyError):
        store.open(key)


def test_get_storage_local_by_default(app):
    """STORAGE_BACKEND defaults to a local folder at STORAGE_DIR with the upload limit."""
    with app.app_context():
        backend = get_storage()
    assert isinstance(backend, LocalStorage)
    assert backend.root == Path(app.config["STORAGE_DIR"]).resolve()
    assert backend.max_bytes == app.config["UPLOAD_MAX_BYTES"]


def test_get_storage_unknown_backend():
    """An unknown backend name is a configuration error, not a silent fallback."""
    with pytest.raises(st.StorageError):
        get_storage({"STORAGE_BACKEND": "ftp", "UPLOAD_MAX_BYTES": 1})


def test_s3_backend_round_trip():
    """The S3 backend stores under a new key, verifies on read and detects tampering."""
    pytest.importorskip("boto3", reason="boto3 is the optional 's3' extra")
    moto = pytest.importorskip("moto", reason="moto is needed to fake S3")
    import boto3

    with moto.mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="evidence")
        s3 = st.S3Storage("evidence", client=client, max_bytes=100)
        key, size, sha = s3.put(io.BytesIO(b"%PDF-1.4 s3"))
        with s3.read_verified(key, sha) as f:
            assert f.read() == b"%PDF-1.4 s3"
        with pytest.raises(TooLargeError):
            s3.put(io.BytesIO(b"x" * 101))
        client.put_object(Bucket="evidence", Key=key, Body=b"%PDF-1.4 s4")
        with pytest.raises(TamperedError):
            s3.read_verified(key, sha)
        assert size == 11
