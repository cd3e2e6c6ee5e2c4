"""Files the tool keeps outside the database (certificate PDFs), in one folder: TRACEBOOK_STORAGE_DIR.

Paths stored in the database are relative to that folder, so the folder can move; a file appears whole or not at
all (written beside its name, then renamed), so a reader never serves half a PDF."""

import os
import tempfile
from pathlib import Path


class FileStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"{name!r} is outside the storage folder")
        return path

    def write(self, name: str, data: bytes) -> None:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def read(self, name: str) -> bytes | None:
        path = self._path(name)
        return path.read_bytes() if path.is_file() else None

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)
