"""Export packages from the admin's side: `tracebook export …` and the admin's exports page (a plain download, and
the streamed build its script shows as progress), each package a zip of the module under the tool's activity ids."""

import base64
import io
import json
import zipfile
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from content import Module
from lms_plugin.db import Database
from lms_plugin.services import packages

from .admin_support import csrf_token
from .test_admin import PASSWORD, USERNAME, _audit, _log_in

pytestmark = pytest.mark.functional


@pytest.fixture
def signed_in(app: Flask, client: FlaskClient) -> FlaskClient:
    """The client of a tool admin who has logged in."""
    args = ["admin", "create", "--username", USERNAME, "--password-stdin"]
    assert app.test_cli_runner().invoke(args=args, input=PASSWORD + "\n").exit_code == 0
    assert _log_in(client).status_code == 303
    return client


def _units(package: bytes) -> list[str]:
    return sorted(n for n in zipfile.ZipFile(io.BytesIO(package)).namelist() if n.startswith("units/"))


@pytest.mark.parametrize(("package_format", "manifest"), [("scorm12", "imsmanifest.xml"), ("cmi5", "cmi5.xml")])
def test_the_export_command_writes_the_package(
    app: Flask, module: Module, tmp_path: Path, package_format: str, manifest: str
) -> None:
    out = tmp_path / "module.zip"
    done = app.test_cli_runner().invoke(args=["export", package_format, "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert f"to {out} (" in done.output
    package = zipfile.ZipFile(out)
    assert manifest in package.namelist()
    assert package.read("shared/tracebook.css") == packages.STYLESHEET.read_bytes()
    assert len(_units(out.read_bytes())) == len(module.units)


def test_a_cmi5_export_names_the_tools_activity_ids(app: Flask, module: Module, tmp_path: Path) -> None:
    out = tmp_path / "cmi5.zip"
    app.test_cli_runner().invoke(args=["export", "cmi5", "--out", str(out)])
    base = app.config["TRACEBOOK"].xapi.activity_base
    structure = zipfile.ZipFile(out).read("cmi5.xml").decode()
    assert f'id="{base}/modules/{module.id}/assessments/module-test"' in structure


def test_an_unknown_format_is_refused_with_the_choices(app: Flask, tmp_path: Path) -> None:
    done = app.test_cli_runner().invoke(args=["export", "aicc", "--out", str(tmp_path / "x.zip")])
    assert done.exit_code == 2
    assert "'scorm12', 'scorm2004', 'cmi5'" in done.output
    assert not (tmp_path / "x.zip").exists()


def test_the_exports_page_downloads_a_package_and_audits_it(
    signed_in: FlaskClient, db: Database, module: Module
) -> None:
    client = signed_in
    page = client.get("/admin/exports")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="scorm2004"' in html
    assert "admin_exports.js" in html

    response = client.post(
        "/admin/exports", data={"csrf_token": csrf_token(client, "/admin/exports"), "format": "scorm2004"}
    )

    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    name = f"tracebook-{module.id}-scorm2004.zip"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    assert "imsmanifest.xml" in zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert _audit(db)[-1] == (USERNAME, "export.build", f"SCORM 2004 4th edition package of {module.id}")


def test_the_streamed_build_reports_every_file_then_the_zip(signed_in: FlaskClient, module: Module) -> None:
    client = signed_in
    token = csrf_token(client, "/admin/exports")

    response = client.post("/admin/exports/build", data={"csrf_token": token, "format": "cmi5"})

    assert response.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    total = len(module.units) + 3  # the pages, the manifest, the stylesheet and the runtime
    assert [line["done"] for line in lines] == list(range(1, total + 1))
    assert {line["total"] for line in lines} == {total}
    assert "zip" not in lines[0]
    package = base64.b64decode(lines[-1]["zip"])
    assert lines[-1]["size"] == len(package)
    assert lines[-1]["name"] == f"tracebook-{module.id}-cmi5.zip"
    assert len(_units(package)) == len(module.units)


def test_a_build_without_a_format_or_the_csrf_token_is_refused(signed_in: FlaskClient) -> None:
    client = signed_in
    token = csrf_token(client, "/admin/exports")
    assert client.post("/admin/exports/build", data={"csrf_token": token, "format": "aicc"}).status_code == 400
    assert client.post("/admin/exports/build", data={"format": "cmi5"}).status_code == 400
