"""Reads the schema folder as it was at a git ref (``git ls-tree`` + one ``git cat-file --batch``),
so the policy can compare the working tree with what was released there."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from velocity_stream.errors import VelocityError


class GitSnapshotError(VelocityError):
    """The ref or the repository cannot be read (not a repository, unknown ref, git missing)."""


@dataclass(frozen=True, slots=True)
class SchemaSnapshot:
    """Every file under the schema folder at ``ref``, by path relative to that folder."""

    ref: str
    commit: str
    files: dict[str, str]


def _git(args: list[str], cwd: Path, stdin: bytes | None = None) -> bytes:
    try:
        completed = subprocess.run(
            ["git", *args], cwd=cwd, input=stdin, capture_output=True, check=False, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GitSnapshotError(f"cannot run git: {error}") from error
    if completed.returncode != 0:
        message = completed.stderr.decode(errors="replace").strip().splitlines()
        raise GitSnapshotError(f"git {args[0]} failed: {message[-1] if message else '?'}")
    return completed.stdout


def read_snapshot(schemas_dir: Path, ref: str) -> SchemaSnapshot:
    """The files of ``schemas_dir`` at ``ref``; an empty snapshot if the folder did not exist."""
    folder = schemas_dir.resolve()
    if not folder.is_dir():
        raise GitSnapshotError(f"{schemas_dir} is not a directory")
    toplevel = Path(_git(["rev-parse", "--show-toplevel"], folder).decode().strip())
    try:
        resolved = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], toplevel)
    except GitSnapshotError as error:
        raise GitSnapshotError(f"unknown git ref {ref!r}") from error
    commit_id = resolved.decode().strip()
    relative = PurePosixPath(folder.relative_to(toplevel.resolve()).as_posix())
    listing = _git(["ls-tree", "-r", "-z", "--name-only", commit_id, "--", str(relative)], toplevel)
    paths = [p for p in listing.decode().split("\0") if p]
    if not paths:
        return SchemaSnapshot(ref, commit_id, {})
    # One cat-file process for every blob: a subprocess per file would dominate the check.
    request = "".join(f"{commit_id}:{path}\n" for path in paths).encode()
    output = _git(["cat-file", "--batch"], toplevel, stdin=request)
    files: dict[str, str] = {}
    offset = 0
    for path in paths:
        header_end = output.index(b"\n", offset)
        header = output[offset:header_end].decode().split()
        if len(header) != 3:
            raise GitSnapshotError(f"cannot read {path} at {ref}: {' '.join(header)}")
        size = int(header[2])
        body = output[header_end + 1 : header_end + 1 + size]
        offset = header_end + 1 + size + 1  # the body is followed by a newline
        inner = (
            path if str(relative) == "." else PurePosixPath(path).relative_to(relative).as_posix()
        )
        files[inner] = body.decode("utf-8", errors="replace")
    return SchemaSnapshot(ref, commit_id, files)
