"""The evidence store: files kept as proof, addressed by their SHA-256.

A file's path is derived from its digest, so the same screenshot or image
seen twice is stored once, and anyone can check a file against the hash
recorded in Elasticsearch. Files are written to a temporary name and renamed,
so a crash never leaves a truncated file under a valid name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from brandhound.items import File, Hash


class EvidenceStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def path_for(self, sha256: str, suffix: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}{suffix}"

    def put(self, data: bytes, *, suffix: str, mime_type: str | None) -> File:
        """Store ``data`` (once) and describe it as an ECS ``file`` object."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.path_for(digest, suffix)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return File(path=str(path.relative_to(self.root)), size=len(data), mime_type=mime_type, hash=Hash(sha256=digest))

    def read(self, file: File) -> bytes:
        assert file.path is not None, "a stored file always has a path"
        return (self.root / file.path).read_bytes()
