"""Reading a PDF back as a person or a phone would: its text (pdftotext), its page size and document information
(pdfinfo), and the QR codes on its rendered first page (pdftoppm, then zbarimg), with Debian's poppler-utils and
zbar-tools."""

import hashlib
import re
import subprocess
from pathlib import Path

# In whole points: PDF writers round the millimetre sizes differently (595.276 or 595.28).
A4_LANDSCAPE = (842, 595)
LETTER_LANDSCAPE = (792, 612)


def _write(pdf: bytes, folder: Path) -> Path:
    """The PDF as a file named by its content: two PDFs read into one folder never overwrite each other, nor a
    test's own files there."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"read-{hashlib.sha256(pdf).hexdigest()[:16]}.pdf"
    path.write_bytes(pdf)
    return path


def pdf_text(pdf: bytes, folder: Path, *, raw: bool = False) -> str:
    """The text, with runs of white space made one space (a PDF breaks lines where the layout does).

    ``raw`` reads it in drawing order instead of by layout, where a word broken at its own hyphen keeps the hyphen
    (Konstantinopoulou-Featherstonehaugh)."""
    mode = "-raw" if raw else "-layout"
    out = subprocess.run(["pdftotext", mode, str(_write(pdf, folder)), "-"], check=True, capture_output=True)
    return " ".join(out.stdout.decode("utf-8").split())


def unspaced(text: str) -> str:
    """The text without white space: a long line wraps wherever the layout breaks it, even inside a URL or a hash."""
    return re.sub(r"\s", "", text)


def pdf_info(pdf: bytes, folder: Path) -> dict[str, str]:
    """The document information pdfinfo prints, by name: Title, Author, Pages, "Page size" (of the first page)."""
    out = subprocess.run(["pdfinfo", str(_write(pdf, folder))], check=True, capture_output=True, text=True).stdout
    return {name.strip(): value.strip() for name, value in re.findall(r"^([^:]+):(.*)$", out, re.M)}


def page_sizes(pdf: bytes, folder: Path) -> list[tuple[int, int]]:
    """Each page's width and height in whole points."""
    out = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "999", str(_write(pdf, folder))], check=True, capture_output=True, text=True
    ).stdout
    return [
        (round(float(w)), round(float(h))) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", out)
    ]


def qr_codes(pdf: bytes, folder: Path, dpi: int = 150) -> list[str]:
    """What the QR codes on the first page say, as a phone camera would read the printed page."""
    path = _write(pdf, folder)
    # -singlefile: the first page only, written to exactly the name given plus .png (no page number to glob for).
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-singlefile", "-png", str(path), str(path.with_suffix(""))], check=True
    )
    # zbarimg exits 4 when it finds no code; the empty list then says so.
    out = subprocess.run(["zbarimg", "--quiet", "--raw", str(path.with_suffix(".png"))], capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if line]
