"""Write-once named files of the storage backends (the audit checkpoints' area): local and S3."""

from __future__ import annotations

import pytest

from backoffice.services import storage as st


def _round_trip(storage) -> None:
    storage.put_named("checkpoints", "audit-1.json", b'{"seq": 1}')
    storage.put_named("checkpoints", "audit-2.json", b'{"seq": 2}')
    storage.put_named("elsewhere", "audit-3.json", b"{}")
    assert storage.named("checkpoints") == ["audit-1.json", "audit-2.json"]
    assert storage.get_named("checkpoints", "audit-2.json") == b'{"seq": 2}'
    with pytest.raises(FileExistsError):  # write-once: never replaced
        storage.put_named("checkpoints", "audit-1.json", b"forged")
    assert storage.get_named("checkpoints", "audit-1.json") == b'{"seq": 1}'
    assert storage.named("empty") == []
    for area, name in [("..", "x"), ("checkpoints", "../../etc/passwd"), ("a/b", "x"),
                       ("checkpoints", ".hidden"), ("checkpoints", "")]:  # fmt: skip
        with pytest.raises(st.InvalidKeyError):
            storage.put_named(area, name, b"{}")


def test_local_named_files_are_write_once_read_only_and_inside_the_root(tmp_path):
    """Local: files land in <root>/<area>/, read-only, never replaced; no name escapes."""
    storage = st.LocalStorage(tmp_path / "store")
    _round_trip(storage)
    path = storage.root / "checkpoints" / "audit-1.json"
    assert path.stat().st_mode & 0o777 == 0o440
    assert not list((storage.root / "checkpoints").glob(".tmp-*"))


def test_s3_named_files_are_write_once(tmp_path):
    """S3: objects under <area>/, never replaced through put_named."""
    boto3 = pytest.importorskip("boto3", reason="boto3 is the optional 's3' extra")
    moto = pytest.importorskip("moto", reason="moto is needed to fake S3")
    with moto.mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="evidence")
        _round_trip(st.S3Storage("evidence", client=client))
        keys = [o["Key"] for o in client.list_objects_v2(Bucket="evidence")["Contents"]]
        assert "checkpoints/audit-1.json" in keys
