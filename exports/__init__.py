"""What the tool says to the outside world in standard formats: xAPI statements, SCORM 1.2 / 2004 and
cmi5 packages, and certificates. The only package that imports ``tincan`` and ``weasyprint``."""
