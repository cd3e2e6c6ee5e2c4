"""The pages a certificate is printed on, as CSS page sizes, both landscape: A4 is 297 x 210 mm, US Letter
11 x 8.5 in. Apart from the renderer so settings can name them without importing weasyprint."""

from typing import Final

PAGE_SIZES: Final = {"A4": "A4 landscape", "Letter": "letter landscape"}
