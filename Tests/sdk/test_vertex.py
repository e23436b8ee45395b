"""Gemini on Vertex AI with a service account key: tollgate signs a JWT with the key (RS256),
exchanges it at the key's token endpoint (a fake here that verifies the signature with the
public key) for an access token, caches it, and sends it as the bearer to the Gemini fake.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs

import pytest

import conftest as sdk
import family_upstreams as fu
from fake_server import Exchange, FakeServer

pytestmark = [pytest.mark.gateway,
              pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a test key")]

ACCESS_TOKEN = "ya29.fake-vertex-access-token"
EMAIL = "tollgate-test@project.iam.gserviceaccount.com"


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenExchange(Exchange):
    """Google's token endpoint: a JWT-bearer assertion in, an access token out."""

    family = "google-token"
    public_key: Path

    def answer(self, entry: dict[str, Any], body: Any) -> None:
        form = {k: v[0] for k, v in parse_qs(entry["raw"]).items()}
        entry["form"] = form
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return self.send_json(400, {"error": "unsupported_grant_type"})
        header, claims, signature = form["assertion"].split(".")
        work = Path(os.environ["TG_VERTEX_TMP"])
        (work / "signed").write_bytes(f"{header}.{claims}".encode())
        (work / "signature").write_bytes(b64url_decode(signature))
        verified = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(self.public_key), "-signature",
                                   str(work / "signature"), str(work / "signed")], capture_output=True)
        entry["verified"] = verified.returncode == 0
        entry["header"] = json.loads(b64url_decode(header))
        entry["claims"] = json.loads(b64url_decode(claims))
        if not entry["verified"]:
            return self.send_json(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        self.send_json(200, {"access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"})


@pytest.fixture(scope="module")
def service_account(tmp_path_factory) -> Iterator[tuple[Path, Path, Path]]:
    work = tmp_path_factory.mktemp("vertex")
    os.environ["TG_VERTEX_TMP"] = str(work)
    key = work / "key.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    public = work / "public.pem"
    subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-out", str(public)], check=True, capture_output=True)
    yield work, key, public


def test_a_service_account_key_signs_in(service_account, launch_gateway, fakes):
    work, key, public = service_account
    TokenExchange.public_key = public
    with FakeServer(TokenExchange) as tokens:
        account = {"type": "service_account", "project_id": "proj", "private_key_id": "kid-1",
                   "private_key": key.read_text(), "client_email": EMAIL, "token_uri": tokens.origin + "/token"}
        key_file = work / "service-account.json"
        key_file.write_text(json.dumps(account))
        key_file.chmod(0o600)
        config = {"providers": {"vx": {
            "type": "google_vertex", "project": "proj", "location": "global", "service_account_file": str(key_file),
            # The Gemini fake serves /v1beta/models/M:generateContent, the path Vertex has under its base.
            "base_url": fakes["gemini"].origin + "/v1beta", "models": ["gemini-x"], "retries": 0}}}
        with launch_gateway(config, logs=[fakes["gemini"], tokens], name="tollgate-vertex") as gw:
            client = sdk.make_client(gw)
            for text in ("first", "second"):
                answer = client.chat.completions.create(model="vx/gemini-x", messages=[{"role": "user", "content": text}])
                assert answer.choices[0].message.content == fu.reply_text("gemini", text)
            stream = client.chat.completions.create(model="vx/gemini-x", stream=True,
                                                    messages=[{"role": "user", "content": "third"}])
            assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == fu.reply_text("gemini", "third")
            seen = [r for r in fakes["gemini"].requests if r["user_text"] in ("first", "second", "third")]
            assert len(seen) == 3 and all(r["headers"].get("authorization") == f"Bearer {ACCESS_TOKEN}" for r in seen)
            assert not any("x-goog-api-key" in r["headers"] for r in seen)
            # One exchange for the three requests: the token is cached until it nears expiry.
            [exchange] = tokens.requests
            assert exchange["verified"], "the assertion's RS256 signature does not verify with the public key"
            assert exchange["header"] == {"alg": "RS256", "typ": "JWT", "kid": "kid-1"}
            claims = exchange["claims"]
            assert claims["iss"] == EMAIL and claims["aud"] == tokens.origin + "/token"
            assert claims["scope"] == "https://www.googleapis.com/auth/cloud-platform"
            assert claims["exp"] - claims["iat"] == 3600
            assert key.read_text().split("\n")[1] not in gw.stderr_text()


def test_a_refused_assertion_is_a_clear_error(service_account, launch_gateway, fakes, tmp_path):
    work, key, public = service_account
    other = tmp_path / "other.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(other), "2048"], check=True, capture_output=True)
    TokenExchange.public_key = public  # the key below is not the one the endpoint trusts
    with FakeServer(TokenExchange) as tokens:
        key_file = tmp_path / "sa.json"
        key_file.write_text(json.dumps({"client_email": EMAIL, "private_key": other.read_text(),
                                        "token_uri": tokens.origin + "/token"}))
        key_file.chmod(0o600)
        config = {"providers": {"vx": {"type": "google_vertex", "project": "proj", "location": "us-central1",
                                       "service_account_file": str(key_file), "base_url": fakes["gemini"].origin + "/v1beta",
                                       "models": ["gemini-x"], "retries": 0}}}
        with launch_gateway(config, logs=[tokens], name="tollgate-vertex-refused") as gw:
            client = sdk.make_client(gw)
            import openai
            with pytest.raises(openai.AuthenticationError) as caught:
                client.chat.completions.create(model="vx/gemini-x", messages=[{"role": "user", "content": "x"}])
            assert "Invalid JWT Signature" in str(caught.value)
