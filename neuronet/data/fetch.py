"""Downloads that are verified and atomic: a checked file appears whole or not at all.

Every download streams into a temporary file next to its destination, is
checked against the published MD5, and only then takes its final name with
``os.replace``; an interrupted or corrupt download leaves nothing behind.
"""
import contextlib
import hashlib
import http.client
import os
import tarfile
import tempfile
from pathlib import Path
from urllib.request import urlopen

from neuronet.data.errors import DatasetError

TIMEOUT_S = 30
CHUNK = 1 << 20


def fetch_file(urls, destination, md5, timeout=TIMEOUT_S):
    """Download the first of ``urls`` that answers into ``destination``, checking its MD5.

    Raises:
        DatasetError: every URL failed; the message gives each URL's reason.
    """
    destination = Path(destination)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatasetError(f"cannot create {destination.parent}: {error}") from error
    failures = []
    for url in urls:
        try:
            with urlopen(url, timeout=timeout) as response:
                _write_atomically(response, destination, md5)
            return
        except (OSError, http.client.HTTPException, DatasetError) as error:
            failures.append(f"{url}: {error}")
    raise DatasetError("; ".join(failures))


def extract_members(archive, members, target):
    """Extract the regular files named ``members`` (and nothing else) from a tar archive.

    Only the listed names are read, each through a temporary file and ``os.replace``,
    so links or ``..`` paths inside the archive cannot write outside ``target``.
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in members:
                info = tar.getmember(member)
                if not info.isfile():
                    raise DatasetError(f"archive {archive}: {member} is not a regular file")
                with tar.extractfile(info) as source:
                    _write_atomically(source, target / Path(member).name)
    except (OSError, tarfile.TarError, KeyError) as error:
        raise DatasetError(f"archive {archive}: cannot extract {members}: {error}") from error


def _write_atomically(source, destination, md5=None):
    """Stream ``source`` into ``destination`` via a temporary file, checking ``md5`` if given."""
    digest = hashlib.md5(usedforsecurity=False)
    descriptor, temporary = tempfile.mkstemp(dir=destination.parent,
                                             prefix=f".{destination.name}.", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as file:
            for chunk in iter(lambda: source.read(CHUNK), b""):
                digest.update(chunk)
                file.write(chunk)
        if md5 is not None and digest.hexdigest() != md5:
            raise DatasetError(f"checksum mismatch for {destination.name}: expected MD5 {md5}, "
                               f"got {digest.hexdigest()}")
        os.replace(temporary, destination)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
