"""The certificate PDF, read back as a person and a phone read it: its text (pdftotext), its page (pdfinfo), its QR
code (pdftoppm, then zbarimg), all from Debian's poppler-utils and zbar-tools."""

import dataclasses
import logging
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from jinja2 import DictLoader

from exports.certificates import CertificateError, ResourceRefusedError, UnknownPageSizeError
from exports.certificates.pdf import CertificateRenderer
from tests.pdf_reading import pdf_info, pdf_text, qr_codes, unspaced

from .builders import make_certificate_facts

CREDENTIAL_ID = "urn:uuid:d9bad52a-9040-5258-9171-0a48ca345917"
SHA256 = "b669b84e8ec154622eac7cdd3792729776956e6ebd5a2fb4dfdc3d36273cb163"
# PDF points, landscape: A4 is 297 x 210 mm, US Letter 11 x 8.5 in.
PAGE_POINTS = {"A4": (841.89, 595.28), "Letter": (792.0, 612.0)}

# A second version, so that the page also says which certificate it supersedes.
FACTS = make_certificate_facts(
    certificate_id="Q4RT-8WXY-2MNB",
    version=2,
    verification_url="https://tracebook.example.edu/c/Q4RT-8WXY-2MNB",
    supersedes="K7M2-9QXD-4TJA",
)


@pytest.fixture(scope="module")
def renderer() -> CertificateRenderer:
    return CertificateRenderer()


@pytest.fixture(scope="module")
def pdfs(renderer: CertificateRenderer) -> dict[str, bytes]:
    return {size: renderer.render(FACTS, CREDENTIAL_ID, SHA256, size) for size in PAGE_POINTS}


class _Recorder(BaseHTTPRequestHandler):
    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads the requests list."""


@pytest.fixture
def remote() -> Iterator[tuple[str, list[str]]]:
    """A web server on loopback that records every request: proof that rendering fetched nothing."""
    requests: list[str] = []
    handler = type("Recorder", (_Recorder,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # A short poll interval: shutdown() waits for the loop's next poll.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", requests
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_text_states_holder_module_score_date_and_id(pdfs: dict[str, bytes], tmp_path: Path) -> None:
    text = pdf_text(pdfs["A4"], tmp_path, raw=True)

    for expected in (
        "Ada Lovelace",
        "Tracing LLM Calls",
        "13 / 15 (86 %)",
        "28 November 2026",
        "Northwind University (Canvas)",
        "Q4RT-8WXY-2MNB",
        "Version 2 — supersedes K7M2-9QXD-4TJA",
        "https://tracebook.example.edu/c/Q4RT-8WXY-2MNB",
        f"Credential {CREDENTIAL_ID}",
    ):
        assert expected in text, expected
    # The hash is printed in groups so it can wrap; together they are the credential's SHA-256.
    assert SHA256 in unspaced(text)


def test_a_first_version_mentions_no_predecessor(renderer: CertificateRenderer, tmp_path: Path) -> None:
    pdf = renderer.render(dataclasses.replace(FACTS, version=1, supersedes=None), CREDENTIAL_ID, SHA256, "A4")

    text = pdf_text(pdf, tmp_path, raw=True)

    assert "Q4RT-8WXY-2MNB" in text
    assert "supersedes" not in text
    assert "Version" not in text


@pytest.mark.parametrize("size", PAGE_POINTS)
def test_the_page_is_one_landscape_sheet_of_the_size_asked_for(
    pdfs: dict[str, bytes], size: str, tmp_path: Path
) -> None:
    info = pdf_info(pdfs[size], tmp_path)
    width, height = (float(n) for n in re.findall(r"[\d.]+", info["Page size"])[:2])

    assert info["Pages"] == "1"
    assert (width, height) == pytest.approx(PAGE_POINTS[size], abs=0.01)


@pytest.mark.parametrize("size", PAGE_POINTS)
def test_the_qr_code_is_the_verification_url(pdfs: dict[str, bytes], size: str, tmp_path: Path) -> None:
    assert qr_codes(pdfs[size], tmp_path) == ["https://tracebook.example.edu/c/Q4RT-8WXY-2MNB"]


def test_the_pdf_is_small_and_says_what_it_is(pdfs: dict[str, bytes], tmp_path: Path) -> None:
    for pdf in pdfs.values():
        assert len(pdf) <= 100_000
    info = pdf_info(pdfs["A4"], tmp_path)
    assert info["Title"] == "Certificate Q4RT-8WXY-2MNB: Tracing LLM Calls, Ada Lovelace"
    assert info["Author"] == "Northwind University (Canvas)"


def test_a_long_name_and_title_still_fit_one_page(renderer: CertificateRenderer, tmp_path: Path) -> None:
    name = "Zoë Ødegaard-Łukasiewicz Maximiliana Konstantinopoulou-Featherstonehaugh von Hohenzollern y Zúñiga"
    title = "Tracing LLM Calls: Observability for Retrieval-Augmented Generation in Production Systems"
    facts = dataclasses.replace(FACTS, holder_name=name, module_title=title)
    pdf = renderer.render(facts, CREDENTIAL_ID, SHA256, "Letter")

    assert pdf_info(pdf, tmp_path)["Pages"] == "1"
    assert unspaced(name) in unspaced(pdf_text(pdf, tmp_path, raw=True))
    assert qr_codes(pdf, tmp_path) == ["https://tracebook.example.edu/c/Q4RT-8WXY-2MNB"]


def test_markup_in_a_name_prints_literally_and_fetches_nothing(
    renderer: CertificateRenderer, remote: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, requests = remote
    name = f'<b>Ada</b> & <img src="{url}/pixel.png"> Lovelace'
    pdf = renderer.render(dataclasses.replace(FACTS, holder_name=name), CREDENTIAL_ID, SHA256, "A4")

    assert unspaced(name) in unspaced(pdf_text(pdf, tmp_path, raw=True))
    assert requests == []


@pytest.mark.parametrize(
    "reference",
    [
        '<img src="{remote}/logo.png" alt="">',
        '<link rel="stylesheet" href="{remote}/extra.css">',
        "<style>@import url({remote}/import.css);</style>",
        '<p style="background: url({remote}/paper.png)">x</p>',
        '<img src="{file}" alt="">',
    ],
)
def test_a_template_that_refers_to_a_file_or_a_remote_url_is_refused(
    remote: tuple[str, list[str]], tmp_path: Path, reference: str
) -> None:
    url, requests = remote
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not for certificates")
    template = reference.format(remote=url, file=secret.as_uri())
    renderer = CertificateRenderer(DictLoader({"certificate.html": f"<html><body>{template}</body></html>"}))

    with pytest.raises(ResourceRefusedError, match="may only embed data: URLs") as refused:
        renderer.render(FACTS, CREDENTIAL_ID, SHA256, "A4")

    assert refused.value.url.startswith(("http://127.0.0.1", "file:"))
    assert requests == []


def test_a_broken_data_url_is_our_error_not_a_base_exception() -> None:
    # weasyprint stops on it with a BaseException, which a worker's "except Exception" would not catch.
    renderer = CertificateRenderer(DictLoader({"certificate.html": '<html><body><img src="data:abc"></body></html>'}))

    with pytest.raises(CertificateError, match='broken resource: Error fetching "data:abc"'):
        renderer.render(FACTS, CREDENTIAL_ID, SHA256, "A4")


def test_a_clean_render_logs_no_weasyprint_warning(
    renderer: CertificateRenderer, caplog: pytest.LogCaptureFixture
) -> None:
    # An unsupported CSS property or an unloadable resource is only a log line in weasyprint.
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        renderer.render(FACTS, CREDENTIAL_ID, SHA256, "Letter")

    assert caplog.records == []


def test_an_unknown_page_size_is_refused(renderer: CertificateRenderer) -> None:
    with pytest.raises(UnknownPageSizeError, match="'A3' is not one a certificate is printed on: use A4 or Letter"):
        renderer.render(FACTS, CREDENTIAL_ID, SHA256, "A3")
