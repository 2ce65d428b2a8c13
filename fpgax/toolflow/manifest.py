"""``bitstreams/manifest.json``: what each built image is, written by the build, read by ``fpgax load``.

    {"images": [{"file": "fpgax_u280.xclbin", "sha256": "...", "protocol_version": 2,
                 "kernel_version": 1, "profile": "u280", "parameters": {...EngineConfig...},
                 "data_width": 512, "git_revision": "...", "tools": {"vitis": "..."},
                 "date": "2026-11-24T12:00:00Z"}]}

``check_image`` refuses an image whose bytes, protocol, kernel version or parameters differ from
what this host expects, with a message naming the difference.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fpgax.errors import FpgaxError
from fpgax.spec import regmap as rm
from fpgax.spec.config import EngineConfig

#: Every field of an image entry and its JSON type.
REQUIRED = {"file": str, "sha256": str, "protocol_version": int, "kernel_version": int, "profile": str,
            "parameters": dict, "data_width": int, "git_revision": str, "tools": dict, "date": str}


class ManifestError(FpgaxError, ValueError):
    """A manifest that cannot be read, or an image it does not vouch for."""


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_manifest(path) -> list[dict]:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ManifestError(f"{path}: no manifest (images are listed in bitstreams/manifest.json "
                            "by `fpgax build xclbin`)") from None
    except json.JSONDecodeError as e:
        raise ManifestError(f"{path}:{e.lineno}: not valid JSON: {e.msg}") from None
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, list):
        raise ManifestError(f"{path}: expected an object with an \"images\" list")
    for i, image in enumerate(images):
        if not isinstance(image, dict):
            raise ManifestError(f"{path}: image {i} is not an object")
        missing = [k for k in REQUIRED if k not in image]
        if missing:
            raise ManifestError(f"{path}: image {i} lacks {', '.join(missing)}")
        wrong = [f"{k} is {type(image[k]).__name__}, not {kind.__name__}" for k, kind in REQUIRED.items()
                 if not isinstance(image[k], kind) or isinstance(image[k], bool)]
        if wrong:
            raise ManifestError(f"{path}: image {i}: {'; '.join(wrong)}")
    return images


def write_manifest(path, images: list[dict]) -> None:
    Path(path).write_text(json.dumps({"images": images}, indent=2, sort_keys=True) + "\n")


def add_image(path, entry: dict) -> None:
    """Add or replace (by file name) one image's entry."""
    path = Path(path)
    images = read_manifest(path) if path.exists() else []
    images = [i for i in images if i["file"] != entry["file"]] + [entry]
    write_manifest(path, images)


def check_image(image_path, manifest_path, config: EngineConfig | None = None) -> dict:
    """The manifest entry of an image, after checking it against the file and this host."""
    image_path = Path(image_path)
    entries = [e for e in read_manifest(manifest_path) if e["file"] == image_path.name]
    if not entries:
        raise ManifestError(f"{image_path.name} is not in {manifest_path}; load only images the build recorded")
    entry = entries[0]
    if not image_path.exists():
        raise ManifestError(f"{image_path}: no such file")
    digest = sha256(image_path)
    if digest != entry["sha256"]:
        raise ManifestError(f"{image_path}: sha256 {digest[:16]}... differs from the manifest's "
                            f"{entry['sha256'][:16]}... (rebuilt or corrupted?)")
    problems = rm.incompatibilities(entry["kernel_version"], entry["protocol_version"], entry["parameters"], config)
    if problems:
        raise ManifestError(f"{image_path.name}: " + "; ".join(problems))
    return entry
