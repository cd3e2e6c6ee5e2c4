"""Test runtimes for the export packages (issue 7): a SCORM host around scorm-again and a small cmi5 test LMS,
both on loopback, and the cmi5 rules the recorded statements are checked against."""
