"""The web edge's pure parts: origins, the request's own origin, host names, session cookies."""

from __future__ import annotations

import pytest

from assistant.web.credentials import harden_cookie
from assistant.web.hosts import HostGuard, host_name, is_loopback_name
from assistant.web.origins import OriginPolicy, normal_origin


def scope(host: str, scheme: str = "http", **headers: str) -> dict[str, object]:
    raw = [(b"host", host.encode())] + [
        (k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()
    ]
    return {"type": "http", "scheme": scheme, "headers": raw}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://Chat.Example.com", "https://chat.example.com"),
        ("https://chat.example.com:443/", "https://chat.example.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://[::1]:80", "http://[::1]"),
        ("null", None),
        ("https://chat.example.com/path", None),
        ("https://user@chat.example.com", None),
        ("ftp://chat.example.com", None),
        ("http://[::1", None),
    ],
)
def test_normal_origin(text, expected):
    assert normal_origin(text) == expected


def test_the_requests_own_origin_is_its_host_with_its_scheme_or_https_in_front():
    policy = OriginPolicy.of(["https://chat.example.org"])
    assert policy.verdict(scope("align.example.com", origin="http://align.example.com")) == "same"
    assert policy.verdict(scope("align.example.com", origin="https://align.example.com")) == "same"
    assert policy.verdict(scope("align.example.com", "https", origin="http://align.example.com")) == "foreign"
    assert (
        policy.verdict(scope("align.example.com:8443", "https", origin="https://align.example.com:8443"))
        == "same"
    )
    assert policy.verdict(scope("align.example.com", origin="http://align.example.com:81")) == "foreign"
    assert policy.verdict(scope("align.example.com", origin="https://evil.example")) == "foreign"
    assert policy.verdict(scope("align.example.com", origin="https://chat.example.org")) == "allowed"
    assert policy.verdict(scope("align.example.com", origin="null")) == "foreign"
    assert policy.verdict(scope("align.example.com")) == "none"
    assert policy.verdict(scope("align.example.com", sec_fetch_site="same-origin")) == "same"
    assert policy.verdict(scope("align.example.com", sec_fetch_site="same-site")) == "foreign"
    assert policy.verdict(scope("align.example.com", referer="https://evil.example/x")) == "foreign"
    assert policy.verdict(scope("align.example.com", referer="http://[bad")) == "foreign"


def test_host_names():
    assert host_name("LocalHost:7860") == "localhost"
    assert host_name("[::1]:7860") == "::1"
    assert host_name("align.example.com.") == "align.example.com"
    assert all(is_loopback_name(n) for n in ("localhost", "127.0.0.1", "127.1.2.3", "::1", "app.localhost"))
    assert not any(is_loopback_name(n) for n in ("evil.test", "127.0.0.1.evil.test", "", "0.0.0.0"))
    local = HostGuard(lambda *a: None, local_mode=True)  # type: ignore[arg-type,return-value]
    assert local.accepts("localhost") and not local.accepts("evil.test")
    login = HostGuard(lambda *a: None, local_mode=False, allowed_hosts=["Align.Example.com"])  # type: ignore[arg-type,return-value]
    assert (
        login.accepts("align.example.com") and login.accepts("127.0.0.1") and not login.accepts("evil.test")
    )
    assert HostGuard(lambda *a: None, local_mode=False).accepts("anything.example")  # type: ignore[arg-type,return-value]


def test_session_cookies_are_hardened():
    gradio = "access-token-x=tok; HttpOnly; Path=/; SameSite=none; Secure"
    assert harden_cookie(gradio, secure=False) == "access-token-x=tok; Path=/; HttpOnly; SameSite=Lax"
    assert harden_cookie(gradio, secure=True) == "access-token-x=tok; Path=/; HttpOnly; SameSite=Lax; Secure"


def test_edge_settings_are_checked(monkeypatch, tmp_path):
    from alignment.errors import ConfigError
    from assistant.settings import load_settings

    monkeypatch.delenv("ALIGN_CONFIG", raising=False)
    monkeypatch.setenv("ALIGN_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.allowed_origins == [] and settings.allowed_hosts == [] and settings.trusted_proxies == []
    monkeypatch.setenv("ALIGN_ALLOWED_ORIGINS", '["https://chat.example.com/path"]')
    with pytest.raises(ConfigError, match="scheme://host"):
        load_settings()
    monkeypatch.delenv("ALIGN_ALLOWED_ORIGINS")
    monkeypatch.setenv("ALIGN_TRUSTED_PROXIES", '["*"]')
    with pytest.raises(ConfigError, match="proxy's address"):
        load_settings()
    monkeypatch.setenv("ALIGN_TRUSTED_PROXIES", '["172.28.0.10", "10.0.0.0/8"]')
    assert load_settings().trusted_proxies == ["172.28.0.10", "10.0.0.0/8"]


def test_trust_proxies_sets_uvicorns_variable_and_warns_of_an_old_one():
    from assistant.web.proxies import ENV, trust_proxies

    env: dict[str, str] = {}
    assert trust_proxies([], env) is None and env[ENV] == ""
    env = {ENV: "*"}
    warning = trust_proxies(["172.28.0.10"], env)
    assert env[ENV] == "172.28.0.10" and warning is not None and "trusted_proxies" in warning
