"""What the certificate core refuses."""


class CertificateError(Exception):
    """Base class: a certificate could not be built or rendered."""


class UnknownPageSizeError(CertificateError):
    def __init__(self, page_size: str, known: tuple[str, ...]) -> None:
        self.page_size = page_size
        super().__init__(f"page size {page_size!r} is not one a certificate is printed on: use {' or '.join(known)}")


class ResourceRefusedError(CertificateError):
    """The certificate template asked for a file or a remote URL; a certificate embeds everything it shows."""

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(
            f"the certificate template refers to {url!r}: a certificate may only embed data: URLs, never read a file "
            "or fetch from the network"
        )
