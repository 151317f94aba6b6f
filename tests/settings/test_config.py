"""ServerConfig: strict parsing from flags and ASSIST_* variables, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.settings import ConfigError, ServerConfig, describe_settings


def test_defaults() -> None:
    config = ServerConfig.load(env={})
    assert config == ServerConfig()
    assert (config.host, config.port, config.max_frame_bytes) == ("127.0.0.1", 8765, 256 * 1024)
    assert config.model_dir is None and config.db_path is None and config.gate is True
    assert config.websocket_max_size > config.max_frame_bytes
    assert config.threads >= 1


def test_environment_and_flags() -> None:
    env = {
        "ASSIST_HOST": "0.0.0.0",
        "ASSIST_PORT": " 9000 ",
        "ASSIST_MAX_CALLS": "5",
        "ASSIST_GATE": "off",
        "ASSIST_MAX_COALESCE_SECONDS": "0.25",
        "ASSIST_DB": "~/calls.db",
        "ASSIST_LOG_LEVEL": "debug",
        "ASSIST_SOMETHING_ELSE": "ignored",  # other tools share the prefix
        "PORT": "1",
    }
    config = ServerConfig.load(env, {"port": "9100", "model_dir": "/models/cn", "host": None})
    assert config.host == "0.0.0.0"
    assert config.port == 9100  # the flag wins over ASSIST_PORT
    assert config.max_calls == 5 and config.gate is False and config.max_coalesce_seconds == 0.25
    assert config.db_path == Path("~/calls.db").expanduser()
    assert config.model_dir == Path("/models/cn")
    assert config.log_level == "DEBUG"


def test_model_comes_only_from_the_flag() -> None:
    # ASSIST_MODEL (a path or an installed model's name) is resolved by assist.audio.models
    assert ServerConfig.load({"ASSIST_MODEL": "/x"}).model_dir is None


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"ASSIST_PORT": "http"}, "ASSIST_PORT='http' is invalid: expected an integer from 0 to 65535"),
        ({"ASSIST_PORT": "70000"}, "ASSIST_PORT='70000' is invalid: expected an integer from 0 to 65535"),
        ({"ASSIST_MAX_CALLS": "0"}, "ASSIST_MAX_CALLS='0' is invalid: expected an integer from 1 to 10000"),
        ({"ASSIST_MAX_FRAME_BYTES": "1.5"}, "ASSIST_MAX_FRAME_BYTES='1.5' is invalid: expected an integer from 1024"),
        ({"ASSIST_GATE": "maybe"}, "ASSIST_GATE='maybe' is invalid: expected one of 1/true/yes/on/0/false/no/off"),
        ({"ASSIST_MAX_CALL_SECONDS": "nan"}, "ASSIST_MAX_CALL_SECONDS='nan' is invalid: expected a number from 1"),
        ({"ASSIST_LOG_LEVEL": "loud"}, "ASSIST_LOG_LEVEL='loud' is invalid: expected one of DEBUG, INFO"),
        ({"ASSIST_HOST": "  "}, "ASSIST_HOST='  ' is invalid: expected a host name or IP address"),
    ],
)
def test_invalid_environment_names_the_variable_and_the_range(env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        ServerConfig.load(env)
    assert str(info.value).startswith(expected)


def test_invalid_flag_names_the_flag() -> None:
    with pytest.raises(ConfigError, match=r"^--decode-threads='-1' is invalid: expected an integer from 0 to 256"):
        ServerConfig.load({}, {"decode_threads": "-1"})
    with pytest.raises(ConfigError, match="unknown setting"):
        ServerConfig.load({}, {"colour": "red"})


def test_direct_construction_is_checked_too() -> None:
    with pytest.raises(ConfigError, match="audio_queue_chunks=0 is invalid"):
        ServerConfig(audio_queue_chunks=0)
    with pytest.raises(ConfigError, match="gate=1 is invalid"):
        ServerConfig(gate=1)  # type: ignore[arg-type]
    assert ServerConfig().replace(port=0).port == 0


def test_every_environment_setting_is_described() -> None:
    names = [name for name, _, _ in describe_settings()]
    assert "ASSIST_PORT" in names and "ASSIST_MAX_FRAME_BYTES" in names
    assert len(names) == len(set(names))
    assert all(name.startswith("ASSIST_") for name in names)


def test_security_settings() -> None:
    config = ServerConfig.load(
        {
            "ASSIST_AUTH": "ON",
            "ASSIST_ALLOWED_ORIGINS": "https://ops.example.gov.cn/, http://10.0.0.5:8080",
            "ASSIST_TLS_CERT": "/etc/assist/cert.pem",
            "ASSIST_LIVE_MAX_SPEED": "0",
            "ASSIST_HEARTBEAT_INTERVAL": "5",
            "ASSIST_INSECURE_NO_AUTH": "on",  # never from the environment: the flag only
        },
        {"heartbeat_timeout": "10", "json_logs": "on", "tokens_path": "/etc/assist/tokens.toml"},
    )
    assert config.auth == "on" and config.insecure_no_auth is False and config.json_logs is True
    assert config.allowed_origins == ("https://ops.example.gov.cn", "http://10.0.0.5:8080")
    assert config.tls and config.key_path is None and config.tokens_path == Path("/etc/assist/tokens.toml")
    assert config.live_max_speed == 0  # no pace limit (benchmarks)
    assert (config.heartbeat_interval, config.heartbeat_timeout, config.close_timeout) == (5.0, 10.0, 5.0)
    defaults = ServerConfig()
    assert (defaults.auth, defaults.live_max_speed, defaults.live_refuse_speed) == ("auto", 2.0, 4.0)
    assert defaults.silent_peer_seconds == 35.0 <= 40  # a silent peer is gone within 40 s
    assert defaults.shutdown_grace + 2 <= 10  # SIGTERM: the process exits within 10 s


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"ASSIST_AUTH": "maybe"}, "ASSIST_AUTH='maybe' is invalid: expected one of auto, on, off"),
        ({"ASSIST_ALLOWED_ORIGINS": "ops.example.gov.cn"}, "ASSIST_ALLOWED_ORIGINS='ops.example.gov.cn' is invalid"),
        ({"ASSIST_ALLOWED_ORIGINS": "https://x.cn/page"}, "ASSIST_ALLOWED_ORIGINS='https://x.cn/page' is invalid"),
        ({"ASSIST_LIVE_MAX_SPEED": "0.5"}, "ASSIST_LIVE_MAX_SPEED='0.5' is invalid: expected 0 (no limit) or"),
        ({"ASSIST_TLS_KEY": "/k.pem"}, "a TLS key (--key / ASSIST_TLS_KEY) needs a certificate"),
        ({"ASSIST_LIVE_REFUSE_SPEED": "1.5"}, "live_refuse_speed=1.5 is below live_max_speed=2"),
        ({"ASSIST_HEARTBEAT_TIMEOUT": "0"}, "ASSIST_HEARTBEAT_TIMEOUT='0' is invalid"),
    ],
)
def test_invalid_security_settings(env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        ServerConfig.load(env)
    assert str(info.value).startswith(expected)
