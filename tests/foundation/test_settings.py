import pytest

from service.settings import Settings, load_settings


def test_defaults_are_the_embedded_service(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SETTLECHECK_DATABASE_URL", "SETTLECHECK_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.redis_url is None
    assert settings.embedded
    assert settings.should_auto_migrate
    assert settings.should_seed_demo


def test_an_unknown_database_scheme_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SETTLECHECK_DATABASE_URL", "mysql://root@localhost/x")
    with pytest.raises(SystemExit) as exc:
        load_settings()
    assert "SETTLECHECK_DATABASE_URL" in str(exc.value)


def test_a_bad_number_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SETTLECHECK_CACHE_TTL_SECONDS", "forever")
    with pytest.raises(SystemExit) as exc:
        load_settings()
    assert "SETTLECHECK_CACHE_TTL_SECONDS" in str(exc.value)


def test_production_refuses_the_placeholder_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SETTLECHECK_ENVIRONMENT", "production")
    monkeypatch.delenv("SETTLECHECK_ID_HASH_KEY", raising=False)
    with pytest.raises(SystemExit) as exc:
        load_settings()
    assert "SETTLECHECK_ID_HASH_KEY" in str(exc.value)


def test_production_accepts_a_real_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SETTLECHECK_ENVIRONMENT", "production")
    monkeypatch.setenv("SETTLECHECK_ID_HASH_KEY", "a-long-and-random-secret-value")
    assert load_settings().environment == "production"


def test_a_redis_url_must_be_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SETTLECHECK_REDIS_URL", "http://localhost:6379")
    with pytest.raises(SystemExit) as exc:
        load_settings()
    assert "SETTLECHECK_REDIS_URL" in str(exc.value)


def test_serve_keeps_idle_connections_longer_than_a_load_balancer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import argparse

    import uvicorn

    from service.cli import cmd_serve

    passed: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *_a, **kw: passed.update(kw))
    args = argparse.Namespace(host="127.0.0.1", port=8000, workers=1)
    cmd_serve(args, Settings(_env_file=None))
    assert passed["timeout_keep_alive"] == 75  # common balancer idle timeouts are 60 s
    monkeypatch.setenv("SETTLECHECK_KEEP_ALIVE_SECONDS", "0")
    with pytest.raises(SystemExit) as exc:
        load_settings()
    assert "SETTLECHECK_KEEP_ALIVE_SECONDS" in str(exc.value)
