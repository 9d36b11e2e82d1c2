"""Rebuild this corpus's photos and logos from their public sources (not run by CI: it needs
the fetched repositories and packages named in SOURCES.md; the evaluation reads the files it wrote).

Every photo is stored once, its long side at most 512 px, as JPEG quality 88 (logos as PNG, at most
256 px, transparency kept); ``manifest.tsv`` names each file's source, licence and role. The role
(``official``: a catalogue photo whose copies must be found; ``unrelated``: a distinct photo that
must never match) is drawn from a hash of the file name, so it never changes between rebuilds.

    python evaluation/corpora/images/build.py SOURCE_ROOTS.json
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
PHOTO_SIDE = 512
LOGO_SIDE = 256
OFFICIAL_SHARE = 0.45


def _role(name: str, share: float = OFFICIAL_SHARE) -> str:
    digest = hashlib.sha256(f"role:{name}".encode()).digest()
    return "official" if int.from_bytes(digest[:8], "big") / 2**64 < share else "unrelated"


def _git_blob(git_dir: str, path: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={git_dir}", "show", f"HEAD:{path}"], check=True,
                          capture_output=True).stdout


def _save_photo(data: bytes, name: str) -> None:
    with Image.open(io.BytesIO(data)) as img:
        rgb = img.convert("RGB")
    rgb.thumbnail((PHOTO_SIDE, PHOTO_SIDE), Image.LANCZOS)
    rgb.save(HERE / "photos" / name, "JPEG", quality=88, optimize=True)


def _save_logo(data: bytes, name: str) -> None:
    with Image.open(io.BytesIO(data)) as img:
        rgba = img.convert("RGBA")
    rgba.thumbnail((LOGO_SIDE, LOGO_SIDE), Image.LANCZOS)
    rgba.save(HERE / "logos" / name, "PNG", optimize=True)


def main(roots_file: str) -> int:
    spec = json.loads(Path(roots_file).read_text())
    (HERE / "photos").mkdir(exist_ok=True)
    (HERE / "logos").mkdir(exist_ok=True)
    rows = ["file\tsource\tlicence\trole"]
    for item in spec["photos"]:
        data = _git_blob(item["git_dir"], item["path"]) if "git_dir" in item else Path(item["file"]).read_bytes()
        name = item["name"] + ".jpg"
        _save_photo(data, name)
        rows.append(f"photos/{name}\t{item['source']}\t{item['licence']}\t{_role(name)}")
    for item in spec["logos"]:
        data = Path(item["file"]).read_bytes()
        name = item["name"] + ".png"
        _save_logo(data, name)
        rows.append(f"logos/{name}\t{item['source']}\t{item['licence']}\t{_role(name, 0.5)}")
    (HERE / "manifest.tsv").write_text("\n".join(rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
