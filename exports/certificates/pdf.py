"""The certificate as a PDF: an HTML/CSS template rendered by weasyprint, landscape A4 or US Letter, with a QR code
of the verification URL.

Safe by construction: everything the page shows is in the HTML string or a ``data:`` URL (the QR code), fonts come
from the system through fontconfig, and the URL fetcher refuses every other URL, so rendering never reads a file
or touches the network (model: indico's ``indico/modules/receipts/util.py``). Names are autoescaped.

Warm by construction: one renderer compiles the template, parses the stylesheet and keeps its font configuration
for every certificate it renders (the worker keeps one renderer).
"""

from collections.abc import Mapping
from importlib.resources import files
from typing import Any

import segno
from jinja2 import BaseLoader, Environment, PackageLoader, StrictUndefined
from weasyprint import CSS, HTML  # type: ignore[import-untyped]  # weasyprint ships no type information
from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]
from weasyprint.urls import FatalURLFetchingError, URLFetcher  # type: ignore[import-untyped]

from exports.certificates.credential import CertificateFacts
from exports.certificates.errors import CertificateError, ResourceRefusedError, UnknownPageSizeError
from exports.certificates.page_sizes import PAGE_SIZES


class _DataUrlsOnly(URLFetcher):  # type: ignore[misc]  # an untyped base class
    """weasyprint's fetcher restricted to ``data:`` URLs; any other URL stops the rendering (``fail_on_errors``)
    instead of leaving a hole in the page."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("data",), fail_on_errors=True)

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> Any:
        if not url.lower().startswith("data:"):
            raise ResourceRefusedError(url)
        return super().fetch(url, headers)


class CertificateRenderer:
    """Renders certificates to PDF bytes. ``loader`` finds ``certificate.html`` (default: this package's template);
    the stylesheet is always this package's ``certificate.css``."""

    def __init__(self, loader: BaseLoader | None = None) -> None:
        environment = Environment(
            loader=loader or PackageLoader("exports.certificates", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._template = environment.get_template("certificate.html")
        self._fonts = FontConfiguration()
        stylesheet = files("exports.certificates").joinpath("templates/certificate.css").read_text(encoding="utf-8")
        fetcher = _DataUrlsOnly()
        self._stylesheet = CSS(string=stylesheet, font_config=self._fonts, url_fetcher=fetcher)
        self._pages = {
            name: CSS(string=f"@page {{ size: {size}; }}", font_config=self._fonts, url_fetcher=fetcher)
            for name, size in PAGE_SIZES.items()
        }

    def render(self, facts: CertificateFacts, credential_id: str, credential_sha256: str, page_size: str) -> bytes:
        """The certificate's PDF, one landscape page of ``page_size`` ("A4" or "Letter")."""
        page = self._pages.get(page_size)
        if page is None:
            raise UnknownPageSizeError(page_size, tuple(PAGE_SIZES))
        html = self._template.render(
            facts=facts,
            qr_code=_qr_code(facts.verification_url),
            credential_id=credential_id,
            # Four groups of 16 hex digits: the line can wrap between them and each group is easy to compare.
            credential_sha256=" ".join(credential_sha256[i : i + 16] for i in range(0, len(credential_sha256), 16)),
        )
        try:
            pdf: bytes = HTML(string=html, base_url=None, url_fetcher=_DataUrlsOnly()).write_pdf(
                stylesheets=[self._stylesheet, page], font_config=self._fonts
            )
        except FatalURLFetchingError as error:
            # A BaseException in weasyprint, which would get past a worker's "except Exception": ours instead.
            if isinstance(error.__cause__, ResourceRefusedError):
                raise error.__cause__ from None
            raise CertificateError(f"the certificate template has a broken resource: {error}") from error
        return pdf


def _qr_code(url: str) -> str:
    """The verification URL as a QR code (ISO/IEC 18004), error correction M, with the standard 4-module quiet
    zone, as an SVG data URL: vector, so it prints sharp at any size."""
    return str(segno.make(url, error="m", micro=False, boost_error=False).svg_data_uri(border=4))
