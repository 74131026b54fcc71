"""Real English text from Debian's package descriptions, and instructions built on it.

Every Debian machine can fetch these descriptions (`apt-get update -o Acquire::Languages=en`),
so the toolchain needs no download beyond Debian's archive.
"""

from __future__ import annotations

import glob
import hashlib
import random
import re
import subprocess
from dataclasses import dataclass

TRANSLATION_GLOB = "/var/lib/apt/lists/*_debian_dists_*_main_i18n_Translation-en.lz4"


class CorpusMissingError(RuntimeError):
    pass


@dataclass
class Description:
    package: str
    summary: str
    body: str  # first paragraph of the long description, joined into one line


def read_descriptions(path: str | None = None, limit: int | None = None) -> list[Description]:
    paths = [path] if path else sorted(glob.glob(TRANSLATION_GLOB), key=len)
    if not paths:
        raise CorpusMissingError("No Debian package descriptions found under /var/lib/apt/lists. Run: apt-get update -o Acquire::Languages=en")
    text = subprocess.run(["lz4cat", paths[0]], check=True, capture_output=True).stdout.decode("utf-8", "replace")
    seen: set[str] = set()
    out: list[Description] = []
    for record in text.split("\n\n"):
        package = re.search(r"^Package: (.+)$", record, re.M)
        md5 = re.search(r"^Description-md5: (.+)$", record, re.M)
        desc = re.search(r"^Description-en: (.+)$", record, re.M)
        if not (package and md5 and desc) or md5.group(1) in seen:
            continue
        seen.add(md5.group(1))
        lines = record[desc.end() :].split("\n")
        paragraph: list[str] = []
        for line in lines[1:] if lines and lines[0] == "" else lines:
            line = line.strip()
            if line == ".":
                break
            if line:
                paragraph.append(line)
        body = " ".join(paragraph)
        out.append(Description(package.group(1), desc.group(1).strip(), body))
        if limit and len(out) >= limit:
            break
    return out


def is_held_out(package: str, fraction: float = 0.05) -> bool:
    """A stable split by package name, independent of any seed."""
    digest = hashlib.sha1(package.encode()).digest()
    return digest[0] / 256 < fraction


def instruction(desc: Description, rng: random.Random, max_words: int = 40) -> tuple[str, str]:
    summary = desc.summary.rstrip(".")
    body_words = desc.body.split()
    body = " ".join(body_words[:max_words]) + ("..." if len(body_words) > max_words else "")
    choices = [
        (f"What is the Debian package {desc.package}?", f"{desc.package} is a package that provides: {summary}."),
        (f"What does {desc.package} do?", body or f"{summary}."),
        (f"Summarise {desc.package} in one line.", f"{summary}."),
    ]
    if body:
        choices.append((f"Tell me about {desc.package}.", body))
    return rng.choice(choices)
