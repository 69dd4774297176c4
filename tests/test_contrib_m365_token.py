"""contrib/m365_token.py, the app-only Microsoft 365 token command: the request it builds,
what it prints, and how it fails. No network: the HTTP call is a stand-in."""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
import urllib.error
import urllib.parse

import pytest

from helpers import ROOT

SCRIPT = ROOT / "contrib" / "m365_token.py"
TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
SECRET = "s3cr3t~with&odd=chars"


def _load():
    spec = importlib.util.spec_from_file_location("m365_token", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


m365 = _load()


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FakeEndpoint:
    """Stands in for urllib.request.urlopen: records the request, answers with ``reply``."""

    def __init__(self, reply=b'{"token_type": "Bearer", "expires_in": 3599, "access_token": "eyJ0eXAi.token"}',
                 error: Exception | None = None):
        self.reply, self.error, self.requests = reply, error, []

    def __call__(self, request, timeout=None):
        self.requests.append((request, timeout))
        if self.error:
            raise self.error
        return FakeResponse(self.reply)


def refusal(body: bytes, code: int = 401) -> urllib.error.HTTPError:
    return urllib.error.HTTPError("https://login.microsoftonline.com/x", code, "Unauthorized", {}, io.BytesIO(body))


def test_request_is_a_client_credentials_post_to_the_tenants_v2_endpoint():
    request = m365.token_request(TENANT, CLIENT_ID, SECRET)

    assert request.get_method() == "POST"
    assert request.full_url == f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"
    assert request.get_header("Content-type") == "application/x-www-form-urlencoded"
    assert urllib.parse.parse_qs(request.data.decode("ascii"), strict_parsing=True) == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT_ID],
        "client_secret": [SECRET],
        "scope": ["https://outlook.office365.com/.default"],
    }


def test_a_tenant_domain_and_a_national_cloud_authority_are_accepted():
    request = m365.token_request("example.onmicrosoft.com", CLIENT_ID, SECRET,
                                 authority="https://login.microsoftonline.us/")
    assert request.full_url == "https://login.microsoftonline.us/example.onmicrosoft.com/oauth2/v2.0/token"


@pytest.mark.parametrize("tenant", ["", "evil.example/x", "a?b=c", "x@y", "../common", "t enant"])
def test_a_tenant_that_could_change_the_url_is_refused(tenant):
    with pytest.raises(m365.UsageError, match="--tenant"):
        m365.token_request(tenant, CLIENT_ID, SECRET)


def test_the_endpoints_error_is_reported_by_code_and_first_line_only():
    body = (b'{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.'
            b'\\r\\nTrace ID: 1\\r\\nCorrelation ID: 2", "error_codes": [7000215]}')
    with pytest.raises(m365.TokenError) as caught:
        m365.access_token(body)
    assert str(caught.value) == "invalid_client: AADSTS7000215: Invalid client secret provided."


@pytest.mark.parametrize("body", [b"<html>503</html>", b"[]", b'{"access_token": ""}'])
def test_an_answer_without_a_token_is_an_error(body):
    with pytest.raises(m365.TokenError):
        m365.access_token(body)


def test_main_prints_the_token_alone_and_sends_the_secret_from_the_environment(capsys):
    endpoint = FakeEndpoint()

    status = m365.main(["--tenant", TENANT, "--client-id", CLIENT_ID],
                       environ={"TRIAGE_M365_CLIENT_SECRET": SECRET + "\n"}, urlopen=endpoint)

    out, err = capsys.readouterr()
    assert (status, out, err) == (0, "eyJ0eXAi.token\n", "")
    (request, timeout), = endpoint.requests
    assert urllib.parse.parse_qs(request.data.decode())["client_secret"] == [SECRET]
    assert timeout == m365.TIMEOUT_SECONDS


def test_main_reads_the_secret_from_a_file(tmp_path, capsys):
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n", encoding="utf-8")
    endpoint = FakeEndpoint()

    status = m365.main(["--tenant", TENANT, "--client-id", CLIENT_ID, "--client-secret-file", str(secret_file)],
                       environ={}, urlopen=endpoint)

    assert status == 0
    assert urllib.parse.parse_qs(endpoint.requests[0][0].data.decode())["client_secret"] == [SECRET]


def test_a_refusal_exits_1_with_the_aadsts_code_and_never_the_secret(capsys):
    body = b'{"error": "unauthorized_client", "error_description": "AADSTS700016: Application not found."}'
    endpoint = FakeEndpoint(error=refusal(body, 400))

    status = m365.main(["--tenant", TENANT, "--client-id", CLIENT_ID],
                       environ={"TRIAGE_M365_CLIENT_SECRET": SECRET}, urlopen=endpoint)

    out, err = capsys.readouterr()
    assert status == 1 and out == ""
    assert "AADSTS700016" in err and SECRET not in err


def test_an_unreachable_endpoint_exits_1(capsys):
    endpoint = FakeEndpoint(error=urllib.error.URLError("Name or service not known"))

    status = m365.main(["--tenant", TENANT, "--client-id", CLIENT_ID],
                       environ={"TRIAGE_M365_CLIENT_SECRET": SECRET}, urlopen=endpoint)

    assert status == 1
    assert "cannot reach login.microsoftonline.com: Name or service not known" in capsys.readouterr().err


def test_a_missing_secret_exits_2_without_asking_the_endpoint(capsys):
    endpoint = FakeEndpoint()

    status = m365.main(["--tenant", TENANT, "--client-id", CLIENT_ID], environ={}, urlopen=endpoint)

    assert status == 2 and endpoint.requests == []
    assert "TRIAGE_M365_CLIENT_SECRET" in capsys.readouterr().err


def test_runs_on_the_standard_library_alone():
    """As triage runs it: a separate process, here without site-packages (-S) and isolated
    from the environment (-I), so a third-party import would fail. No secret is set, so it
    stops before any network access."""
    done = subprocess.run([sys.executable, "-I", "-S", str(SCRIPT), "--tenant", TENANT, "--client-id", CLIENT_ID],
                          capture_output=True, text=True, timeout=60, env={})
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "TRIAGE_M365_CLIENT_SECRET" in done.stderr
