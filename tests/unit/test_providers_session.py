"""The provider session reads proxy and CA settings from the environment once."""

from call_recording_lib.providers.http import make_session


def test_environment_proxy_and_ca_read_once(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/company-ca.pem")
    session = make_session({"base_url": "https://api.twilio.com"})
    assert session.proxies["https"] == "http://proxy.example:3128"
    assert session.verify == "/etc/ssl/company-ca.pem"
    assert session.trust_env is False
    # a provider on a host excluded from the proxy goes direct
    local = make_session({"base_url": "http://127.0.0.1:18091"})
    assert "http" not in local.proxies and "https" not in local.proxies
