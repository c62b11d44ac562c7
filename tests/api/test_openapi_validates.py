from io import StringIO

from django.core.management import call_command


def test_the_openapi_document_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    # --fail-on-warn: an endpoint drf-spectacular cannot describe fails the suite.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out), stdout=StringIO())
    text = out.read_text()
    assert "openapi: 3." in text
    assert "/api/v1/records:" in text
