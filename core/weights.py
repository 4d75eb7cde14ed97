"""The official weight files of the learned presets: where they are, how big, their sha256.

``download`` fetches one into a folder, resuming an interrupted transfer from its
``.part`` file (HTTP ``Range``) and checking size and sha256 before the file takes
its final name. ``verify`` checks a file on disk against the table.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Optional

CHUNK = 1 << 20
TIMEOUT_S = 30.0
DEFAULT_DIR_VARIABLE = "FOCALXL_WEIGHTS"
CLICKSEG_DRIVE = "https://drive.google.com/drive/folders/1XzUlpPqbzAyMt009HVpEeW31ln1FeXfX"
CLICKSEG_MIRROR = "https://github.com/supervisely-ecosystem/serve-clickseg/releases/download/v1.1.12/"
SAM_RELEASE = "https://dl.fbaipublicfiles.com/segment_anything/"
SAM2_RELEASE = "https://dl.fbaipublicfiles.com/segment_anything_2/092824/"


class WeightsError(Exception):
    """A weight file could not be fetched or does not match the table; the message says what to do."""


class MissingWeights(ValueError):
    """A learned preset loaded without a checkpoint; ``how_to_get`` says where its weights come from."""

    def __init__(self, preset: str, how_to_get: str):
        super().__init__(f"checkpoint: {preset} needs its weights; {how_to_get}, and pass checkpoint=PATH "
                         f"(or random_weights=True for benchmarks)")
        self.preset = preset
        self.how_to_get = how_to_get


@dataclass(frozen=True)
class WeightFile:
    """One preset's official file. ``url``, ``size`` or ``sha256`` is ``None`` where nothing is published."""

    preset: str
    file_name: str
    url: Optional[str]
    size: Optional[int]
    sha256: Optional[str]
    source: str


def _sam(variant: str, file_name: str, size: int, sha256: str) -> WeightFile:
    return WeightFile(f"sam-{variant}", file_name, SAM_RELEASE + file_name, size, sha256,
                      "Meta AI, segment-anything README (model checkpoints)")


def _sam2(variant: str, size: int, sha256: str) -> WeightFile:
    file_name = f"sam2.1_hiera_{variant.replace('-', '_')}.pt"
    return WeightFile(f"sam2.1-hiera-{variant}", file_name, SAM2_RELEASE + file_name, size, sha256,
                      "Meta AI, sam2 checkpoints/download_ckpts.sh; Meta publishes no checksum: size and sha256 "
                      "as pinned by several independent projects that downloaded the file (they agree)")


def _focalclick(preset: str, mirror_id: Optional[str]) -> WeightFile:
    if mirror_id is None:
        return WeightFile(preset, f"{preset}.pth", None, None, None,
                          f"ClickSEG Google Drive folder only ({CLICKSEG_DRIVE}); download it by hand")
    return WeightFile(preset, f"{mirror_id}.pth", CLICKSEG_MIRROR + f"{mirror_id}.pth", None, None,
                      "ClickSEG release, mirrored by Supervisely on GitHub (size and sha256 not published)")


TABLE: Dict[str, WeightFile] = {entry.preset: entry for entry in (
    _sam("vit-b", "sam_vit_b_01ec64.pth", 375_042_383,
         "ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912"),
    _sam("vit-l", "sam_vit_l_0b3195.pth", 1_249_524_607,
         "3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622"),
    _sam("vit-h", "sam_vit_h_4b8939.pth", 2_564_550_879,
         "a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e"),
    _sam2("tiny", 156_008_466, "7402e0d864fa82708a20fbd15bc84245c2f26dff0eb43a4b5b93452deb34be69"),
    _sam2("small", 184_416_285, "6d1aa6f30de5c92224f8172114de081d104bbd23dd9dc5c58996f0cad5dc4d38"),
    _sam2("base-plus", 323_606_802, "a2345aede8715ab1d5d31b4a509fb160c5a4af1970f199d9054ccfb746c004c5"),
    _sam2("large", 898_083_611, "2647878d5dfa5098f2f8649825738a9345572bae2d4350a2468587ece47dd318"),
    _focalclick("focalclick-segformer-b0-s1", "segformerb0-s1_6"),
    _focalclick("focalclick-segformer-b0-s2", "segformerb0-s2_7"),
    _focalclick("focalclick-segformer-b3-s2", "segformerb3-s2_8"),
    _focalclick("focalclick-hrnet18s-s1", None),
    _focalclick("focalclick-hrnet18s-s2", None),
    _focalclick("focalclick-hrnet32-s2", None),
    WeightFile("focalclick-xl-b", "focalclick-xl-b.pth", None, None, None,
               "no official release; make an initial checkpoint from SAM with `focalxl weights init-xl`"),
    WeightFile("focalclick-xl-h", "focalclick-xl-h.pth", None, None, None,
               "no official release; make an initial checkpoint from SAM with `focalxl weights init-xl`"),
)}


def default_dir() -> Path:
    """``$FOCALXL_WEIGHTS``, else ``~/.cache/focalxl/weights``."""
    return Path(os.environ.get(DEFAULT_DIR_VARIABLE) or Path.home() / ".cache" / "focalxl" / "weights")


def lookup(name: str) -> WeightFile:
    if name not in TABLE:
        raise WeightsError(f"unknown preset {name!r}; presets with weights: {', '.join(TABLE)}")
    return TABLE[name]


def sha256_file(path: os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Verdict:
    """What ``verify`` found: ``ok`` is ``None`` when the table has no checksum to hold the file to."""

    path: Path
    entry: Optional[WeightFile]
    size: int
    sha256: str
    ok: Optional[bool]
    reason: str


def verify(path: os.PathLike, name: Optional[str] = None) -> Verdict:
    """Check ``path`` against the table entry ``name`` (default: the entry with the file's name)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path} does not exist or is not a file")
    if name is not None:
        entry = lookup(name)
    else:
        entry = next((e for e in TABLE.values() if e.file_name == path.name), None)
    if entry is None:
        digest = sha256_file(path)
        entry = next((e for e in TABLE.values() if e.sha256 == digest), None)
        if entry is None:
            return Verdict(path, None, path.stat().st_size, digest, False,
                           f"not an official file (no table entry named {path.name!r} or with this sha256); "
                           "pass --name PRESET to check it against a preset")
    return check(path, entry)


def check(path: Path, entry: WeightFile) -> Verdict:
    """Hold ``path`` to ``entry``'s size and sha256."""
    size, digest = path.stat().st_size, sha256_file(path)
    if entry.sha256 is None:
        return Verdict(path, entry, size, digest, None,
                       f"{entry.preset}: no published sha256 to check against ({entry.source})")
    if entry.size is not None and size != entry.size:
        return Verdict(path, entry, size, digest, False,
                       f"{entry.preset}: size {size} bytes, expected {entry.size} (truncated or a different file)")
    if digest != entry.sha256:
        return Verdict(path, entry, size, digest, False, f"{entry.preset}: sha256 {digest}, expected {entry.sha256}")
    return Verdict(path, entry, size, digest, True, f"{entry.preset}: size and sha256 match")


Progress = Callable[[int, Optional[int]], None]


def download(entry: WeightFile | str, directory: Optional[os.PathLike] = None, url: Optional[str] = None,
             progress: Optional[Progress] = None) -> Path:
    """Fetch ``entry``'s file into ``directory`` (default :func:`default_dir`) and return its path.

    A file already there that matches the table is kept. An interrupted transfer leaves
    ``NAME.part``; the next call resumes it with an HTTP ``Range`` request. ``url``
    fetches from a mirror; the file is still held to the official size and sha256.
    """
    entry = lookup(entry) if isinstance(entry, str) else entry
    source = url or entry.url
    if source is None:
        raise WeightsError(f"{entry.preset} has no download address: {entry.source}")
    folder = Path(directory) if directory is not None else default_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / entry.file_name
    if target.is_file() and check(target, entry).ok:
        return target
    part = folder / (entry.file_name + ".part")
    _fetch(source, part, entry.size, progress)
    verdict = check(part, entry)
    if verdict.ok is False:
        part.unlink()
        raise WeightsError(f"{source}: {verdict.reason}; the download was removed, run the command again")
    os.replace(part, target)
    return target


def _fetch(url: str, part: Path, expected: Optional[int], progress: Optional[Progress]) -> None:
    """Append the rest of ``url`` to ``part`` (resuming from its size), or raise ``WeightsError``."""
    have = part.stat().st_size if part.is_file() else 0
    if expected is not None and have >= expected:
        return
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:      # nothing left to send: the part is whole (checked next)
            return
        raise WeightsError(f"{url}: the server answered HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise WeightsError(f"cannot reach {url} ({reason}). Without network access, fetch the file elsewhere, "
                           f"copy it to {part.parent / part.name[:-len('.part')]} and check it with "
                           "`focalxl weights verify PATH`") from None
    with response:
        resumed = response.status == 206
        if not resumed:
            have = 0                         # the server sent the whole file: start over
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else expected
        received = have
        with open(part, "ab" if resumed else "wb") as out:
            try:
                for block in iter(lambda: response.read(CHUNK), b""):
                    out.write(block)
                    received += len(block)
                    if progress is not None:
                        progress(received, total)
            except (OSError, http.client.HTTPException) as error:
                raise WeightsError(f"{url}: transfer interrupted after {received} bytes ({error}); "
                                   "run the command again to resume") from None
    if total is not None and received < total:
        raise WeightsError(f"{url}: transfer interrupted after {received} of {total} bytes; "
                           "run the command again to resume")
