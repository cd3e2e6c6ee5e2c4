"""The built-in LMS emulator: the platform side of LTI 1.3, with a Canvas-like and a Moodle-like mode that
reproduce the quirks in shared/design/PLATFORMS.md, so the tool can be seen and tested without an LMS.

On in demo, development and test; never in production. It answers on its own origin (``localhost`` where the
tool is ``127.0.0.1``), so its launches are truly cross-site, as in a real LMS iframe.
"""
