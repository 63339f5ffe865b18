from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.domain.provenance import Manifest, canonical_json, redact_env, redact_url
from shipyard.sdk.provenance import Context, _redact_argv, capture


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("https://user:ghp_abcdefghijklmnopqrstuvwx@github.com/org/repo.git", "https://github.com/org/repo.git"),
        (
            "https://oauth2:glpat-xxxxxxxxxxxxxxxxxxxx@gitlab.example.com:8443/g/p",
            "https://gitlab.example.com:8443/g/p",
        ),
        ("https://github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("user:pass@host:repo.git", "user@host:repo.git"),
        ("ssh://git:secret@host/repo", "ssh://host/repo"),
    ],
)
def test_remote_urls_lose_their_credentials(url: str, clean: str) -> None:
    assert redact_url(url) == clean


@given(
    st.from_regex(r"[a-z]{1,8}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_\-]{1,30}", fullmatch=True),
    st.from_regex(r"[a-z]{1,10}\.(com|org|io)", fullmatch=True),
)
def test_no_userinfo_survives_redaction(user: str, secret: str, host: str) -> None:
    cleaned = redact_url(f"https://{user}:{secret}@{host}/repo.git")
    assert f"{user}:{secret}" not in cleaned
    assert cleaned == f"https://{host}/repo.git"


def test_environment_keeps_only_allowed_names_and_redacts_secrets() -> None:
    env = {
        "OMP_NUM_THREADS": "4",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "HOME": "/root",
        "TZ": "ghp_abcdefghijklmnopqrstuvwxyz0123",  # a token in an allowed name is still redacted
        "LANG": "https://u:p@proxy.example/",
    }
    allow = frozenset({"OMP_NUM_THREADS", "AWS_SECRET_ACCESS_KEY", "TZ", "LANG"})
    out = redact_env(env, allow)
    assert out == {
        "OMP_NUM_THREADS": "4",
        "AWS_SECRET_ACCESS_KEY": "<redacted>",
        "TZ": "<redacted>",
        "LANG": "<redacted>",
    }


def test_secret_options_on_the_command_line_are_redacted() -> None:
    argv = ["--epochs", "3", "--api-token=abc", "--password", "hunter2", "--data", "s3://k:s@bucket/x"]
    assert _redact_argv(argv) == [
        "--epochs", "3", "--api-token=<redacted>", "--password", "<redacted>", "--data", "s3://bucket/x",
    ]  # fmt: skip


@given(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=6))
def test_canonical_json_does_not_depend_on_key_order(d: dict[str, object]) -> None:
    reordered = dict(reversed(list(d.items())))
    assert canonical_json(d) == canonical_json(reordered)


def test_digest_covers_only_the_reproducible_part() -> None:
    a = Manifest({"python": {"version": "3.11"}}, {"platform": {"hostname": "a"}}, {}, 1)
    b = Manifest({"python": {"version": "3.11"}}, {"platform": {"hostname": "b"}}, {}, 2)
    c = Manifest({"python": {"version": "3.12"}}, {"platform": {"hostname": "a"}}, {}, 1)
    assert a.digest == b.digest != c.digest
    assert a.to_json() != b.to_json()


def test_a_failing_collector_is_recorded_and_the_others_still_run(tmp_path: object) -> None:
    def broken(ctx: Context) -> object:
        raise OSError("no such device")

    from shipyard.sdk.provenance import collect_python

    manifest, _ = capture(Context.current(), only={"broken": broken, "python": collect_python})  # type: ignore[dict-item]
    assert manifest.collectors["broken"] == {"status": "failed", "error": "OSError: no such device"}
    assert manifest.collectors["python"]["status"] == "ok"
    assert "python" in manifest.reproducible and "broken" not in manifest.reproducible
