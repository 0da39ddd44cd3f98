"""Where evidence bytes live (SPEC §3.4, Art.17–19): a local folder, or S3-compatible storage.

Both backends share one contract:

- ``put(stream)`` streams the upload in chunks, computing SHA-256 and enforcing the size limit
  as it goes, and stores it under a key the server generates (uuid4 hex, sharded as
  ``ab/cd/<32 hex>``). A user-supplied name never reaches the storage. Nothing is ever
  overwritten: a new upload always gets a new key.
- ``read_verified(key, sha256)`` re-hashes the bytes on every read and raises
  ``TamperedError`` when they no longer match what was recorded at upload.
- Keys are validated against the generated pattern, and local paths are resolved and checked to
  lie inside the storage root, so no key can reach outside it.

Beside the evidence, both keep write-once *named* files in an area of their own (the signed
audit checkpoints, ``services/checkpoints.py``): ``put_named(area, name, data)`` never replaces
a file (``FileExistsError``), ``named(area)`` lists the names, ``get_named(area, name)`` reads
one. Areas and names are plain file names, checked like keys.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, BinaryIO, NamedTuple

CHUNK = 64 * 1024
# Verified bytes are kept in memory up to this size, then in a temporary file.
_SPOOL_MEMORY = 1024 * 1024
KEY_RE = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}$")
_TMP_DIR = ".tmp"

#: Called with the complete temporary file (positioned at 0) before it is committed to
#: storage; raising rejects the upload and the temporary file is deleted.
Check = Callable[[BinaryIO], Any]


class StorageError(Exception):
    """The storage could not do what was asked."""


class TooLargeError(StorageError):
    """The stream exceeded the upload size limit; nothing was kept."""

    def __init__(self, limit: int):
        super().__init__(f"upload exceeds {limit} bytes")
        self.limit = limit


class InvalidKeyError(StorageError):
    """The key is not one this server generates (or would resolve outside the root)."""


class TamperedError(StorageError):
    """The stored bytes no longer match the SHA-256 recorded at upload (or are missing)."""

    def __init__(self, key: str, expected: str, actual: str | None):
        detail = "missing" if actual is None else f"sha256 {actual}"
        super().__init__(f"stored object {key} fails verification: expected {expected}, {detail}")
        self.key, self.expected, self.actual = key, expected, actual


class StoredObject(NamedTuple):
    key: str
    size: int
    sha256: str


def new_key() -> str:
    """A fresh server-generated key, sharded two levels deep to keep folders small."""
    h = uuid.uuid4().hex
    return f"{h[:2]}/{h[2:4]}/{h}"


def check_key(key: str) -> str:
    """Return ``key`` if it has the generated shape, else raise ``InvalidKeyError``."""
    if not isinstance(key, str) or not KEY_RE.fullmatch(key):
        raise InvalidKeyError(f"invalid storage key {key!r}")
    return key


_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def check_name(name: str) -> str:
    """Return an area or file name if it is a plain name (no separator, no dot-dot start)."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidKeyError(f"invalid storage name {name!r}")
    return name


def _copy_hashing(stream: IO[bytes], out: IO[bytes], limit: int | None) -> tuple[int, str]:
    """Copy ``stream`` into ``out`` chunk by chunk; abort as soon as ``limit`` is passed."""
    digest = hashlib.sha256()
    size = 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if limit is not None and size > limit:
            raise TooLargeError(limit)
        digest.update(chunk)
        out.write(chunk)
    return size, digest.hexdigest()


def _verified_copy(source: IO[bytes], key: str, expected: str) -> BinaryIO:
    """Hash ``source`` into a spooled copy; return the copy (at 0) only if the hash matches.

    The caller then serves exactly the bytes that were verified, not a second read of the
    stored object that could have changed in between.
    """
    copy = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY)  # noqa: SIM115 - returned
    try:
        _, actual = _copy_hashing(source, copy, None)
    except BaseException:
        copy.close()
        raise
    if actual != expected:
        copy.close()
        raise TamperedError(key, expected, actual)
    copy.seek(0)
    return copy  # type: ignore[return-value]


class LocalStorage:
    """Evidence in a local folder: ``<root>/ab/cd/<key>``; temporary files in ``<root>/.tmp``."""

    def __init__(self, root: str | os.PathLike, max_bytes: int | None = None):
        self.root = Path(root).resolve()
        self.max_bytes = max_bytes

    def _path(self, key: str) -> Path:
        check_key(key)
        path = (self.root / key).resolve()
        # Defence in depth: the key pattern already excludes "..", but never trust one check.
        if not path.is_relative_to(self.root) or path == self.root:
            raise InvalidKeyError(f"storage key {key!r} resolves outside the storage root")
        return path

    def put(self, stream: IO[bytes], check: Check | None = None) -> StoredObject:
        """Store ``stream`` under a new key. Side effect: one new file; never overwrites.

        The bytes go to a temporary file inside the root, then ``check`` runs on it, then it is
        linked to its final name with an exclusive create (a collision fails instead of
        replacing). On any error, including the size limit, the temporary file is removed.
        """
        tmp_dir = self.root / _TMP_DIR
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="up-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "w+b") as out:
                size, sha = _copy_hashing(stream, out, self.max_bytes)
                out.flush()
                os.fsync(out.fileno())
                if check is not None:
                    out.seek(0)
                    check(out)
            for _ in range(3):
                key = new_key()
                final = self._path(key)
                final.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(tmp, final)  # atomic and exclusive: fails if the name exists
                except FileExistsError:
                    continue
                os.chmod(final, 0o440)
                return StoredObject(key, size, sha)
            raise StorageError("could not allocate a unique storage key")
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def open(self, key: str) -> BinaryIO:
        """Open the stored bytes for reading, unverified (use ``read_verified`` to serve)."""
        return open(self._path(key), "rb")  # noqa: SIM115 - returned to the caller

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def read_verified(self, key: str, expected_sha256: str) -> BinaryIO:
        """Return the bytes of ``key`` (a file object at 0) after checking their SHA-256.

        Raises ``TamperedError`` when the hash differs or the object is missing. Read-only.
        """
        try:
            source = self.open(key)
        except FileNotFoundError:
            raise TamperedError(key, expected_sha256, None) from None
        with source:
            return _verified_copy(source, key, expected_sha256)

    def discard(self, key: str) -> None:
        """Remove an object no document refers to (an upload rolled back). Idempotent."""
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            path.chmod(0o640)
            path.unlink()

    # -- write-once named files: <root>/<area>/<name> -----------------------------------------

    def _named_path(self, area: str, name: str) -> Path:
        return self.root / check_name(area) / check_name(name)

    def put_named(self, area: str, name: str, data: bytes) -> None:
        """Store ``data`` as ``area/name``, durably, once: ``FileExistsError`` rather than
        replace an existing file. The file is made read-only."""
        path = self._named_path(area, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.link(tmp, path)  # exclusive: fails rather than replace
            os.chmod(path, 0o440)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def named(self, area: str) -> list[str]:
        """The names stored in ``area`` (sorted; temporary files included, callers filter)."""
        folder = self.root / check_name(area)
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []

    def get_named(self, area: str, name: str) -> bytes:
        return self._named_path(area, name).read_bytes()


class S3Storage:
    """Evidence in an S3-compatible bucket; boto3 is imported only when this backend is used."""

    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None = None,
        region: str | None = None,
        max_bytes: int | None = None,
        client: Any = None,
    ):
        if not bucket:
            raise StorageError("S3_BUCKET must be set for the s3 storage backend")
        if client is None:
            try:
                import boto3
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise StorageError(
                    "the s3 storage backend needs boto3: pip install 'qingqian[s3]'"
                ) from exc
            client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
        self.bucket, self.client, self.max_bytes = bucket, client, max_bytes

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def put(self, stream: IO[bytes], check: Check | None = None) -> StoredObject:
        """Spool, hash, check, then upload under a new key. Side effect: one new object."""
        with tempfile.TemporaryFile() as spool:
            size, sha = _copy_hashing(stream, spool, self.max_bytes)
            if check is not None:
                spool.seek(0)
                check(spool)
            for _ in range(3):
                key = new_key()
                if self._exists(key):
                    continue
                spool.seek(0)
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=spool,
                    ContentLength=size,
                    ContentType="application/octet-stream",
                    Metadata={"sha256": sha},
                )
                return StoredObject(key, size, sha)
        raise StorageError("could not allocate a unique storage key")

    def open(self, key: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        check_key(key)
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(key) from exc
            raise

    def exists(self, key: str) -> bool:
        return self._exists(check_key(key))

    def read_verified(self, key: str, expected_sha256: str) -> BinaryIO:
        """As ``LocalStorage.read_verified``."""
        try:
            body = self.open(key)
        except FileNotFoundError:
            raise TamperedError(key, expected_sha256, None) from None
        try:
            return _verified_copy(body, key, expected_sha256)
        finally:
            body.close()

    def discard(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=check_key(key))

    # -- write-once named files: objects <area>/<name> --------------------------------------

    def put_named(self, area: str, name: str, data: bytes) -> None:
        """As ``LocalStorage.put_named`` (the existence check and the put are two requests)."""
        key = f"{check_name(area)}/{check_name(name)}"
        if self._exists(key):
            raise FileExistsError(key)
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def named(self, area: str) -> list[str]:
        prefix = f"{check_name(area)}/"
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        found = [o["Key"][len(prefix) :] for page in pages for o in page.get("Contents", [])]
        return sorted(found)

    def get_named(self, area: str, name: str) -> bytes:
        key = f"{check_name(area)}/{check_name(name)}"
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()


Storage = LocalStorage | S3Storage


def get_storage(config: Any = None) -> Storage:
    """The backend named by ``STORAGE_BACKEND`` in ``config`` (the current app's by default)."""
    if config is None:
        from flask import current_app

        config = current_app.config
    limit = config.get("UPLOAD_MAX_BYTES")
    backend = (config.get("STORAGE_BACKEND") or "local").lower()
    if backend == "local":
        return LocalStorage(config["STORAGE_DIR"], max_bytes=limit)
    if backend == "s3":
        return S3Storage(
            config.get("S3_BUCKET"),
            endpoint_url=config.get("S3_ENDPOINT_URL"),
            region=config.get("S3_REGION"),
            max_bytes=limit,
        )
    raise StorageError(f"unknown STORAGE_BACKEND {backend!r}")
