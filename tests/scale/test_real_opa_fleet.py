"""A fleet of real OPA servers in front of the `opa` engine: two `opa run --server` processes on
127.0.0.1 poll a bundle service serving what `kaitiaki policy bundle build` wrote, and ship their
decision logs to a collector with OPA's own decision-log plugin.

- the fleet decides exactly as the embedded engine, and names the bundle's revision;
- a rollout (a new bundle published) is picked up by both servers, and the decisions and OPA's
  decision log then name the new revision;
- failover: with the first server gone the second decides; with both gone the engine errors (a
  block), never an allow;
- signed bundles: a server given the verification key activates the signed bundle and refuses a
  tampered or unsigned one.

Nothing is mocked: the CLI builds the bundles, OPA is the real binary (make opa).
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml

from kaitiaki.config import EngineSettings, Settings
from kaitiaki.engine import Engine, load_engine
from kaitiaki.errors import EngineError
from kaitiaki.model import Decision
from tests.e2e.cli_runner import run_cli
from tests.policies.cases import ISSUERS, worked_examples
from tests.support.real_opa import (
    BundleService,
    LogCollector,
    OpaProcess,
    fleet_config,
    opa_or_skip,
    opa_server,
)

E3 = worked_examples()[2]
SOFTENED = {rule: "advisory" for rule in E3["expect"]["rules"]}


def write_config(folder: Path, levels: dict[str, str] | None = None) -> Path:
    document: dict[str, Any] = {"agency": "msd", "identifier_issuers": ISSUERS, "decision_log": False}
    if levels:
        document["levels"] = levels
    path = folder / "kaitiaki.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def cli_bundle(folder: Path, revision: str, *extra: str, levels: dict[str, str] | None = None) -> Path:
    """A bundle written by `kaitiaki policy bundle build` for a kaitiaki.yaml with ``levels``."""
    folder.mkdir(parents=True, exist_ok=True)
    config = write_config(folder, levels)
    out = folder / f"{revision}.tar.gz"
    result = run_cli(
        [
            "policy",
            "bundle",
            "build",
            "--config",
            str(config),
            "--revision",
            revision,
            "--out",
            str(out),
            *extra,
        ]
    )
    assert result.exit_code == 0, result.stderr
    return out


def logged_revisions(events: list[dict[str, Any]]) -> set[str]:
    return {e["bundles"]["kaitiaki"]["revision"] for e in events if e.get("path") == "kaitiaki/main/decision"}


def opa_engine(*urls: str) -> Engine:
    return load_engine(
        Settings(engine=EngineSettings(kind="opa", urls=urls, timeout_ms=3000), identifier_issuers=ISSUERS)
    )


def embedded(levels: dict[str, str] | None = None) -> Decision:
    return load_engine(Settings(identifier_issuers=ISSUERS, levels=levels or {})).evaluate(E3["input"])


def wait_for_revision(server: OpaProcess, revision: str, timeout_s: float = 30.0) -> Decision:
    """The server's decision once it has activated the bundle ``revision``."""
    engine = opa_engine(server.url)
    deadline = time.monotonic() + timeout_s
    decision = None
    while time.monotonic() < deadline:
        try:
            decision = engine.evaluate(E3["input"])
        except EngineError:
            decision = None
        if decision is not None and decision.policy_revision == revision:
            return decision
        time.sleep(0.2)
    raise AssertionError(f"{server.url} did not activate revision {revision}: {server.errors()[-1500:]}")


@pytest.fixture(scope="module")
def opa() -> str:
    return opa_or_skip()


@pytest.fixture
def fleet(tmp_path: Path, opa: str) -> Iterator[tuple[BundleService, LogCollector, list[OpaProcess]]]:
    with ExitStack() as stack:
        service = stack.enter_context(BundleService())
        collector = stack.enter_context(LogCollector())
        service.publish(cli_bundle(tmp_path / "r1", "r1"))
        config = tmp_path / "opa.yaml"
        config.write_text(json.dumps(fleet_config(service.url, collector.url)))
        servers = [
            stack.enter_context(opa_server(["--config-file", str(config)], cwd=tmp_path)) for _ in range(2)
        ]
        yield service, collector, servers


def test_fleet_decides_as_embedded_rolls_out_and_logs_the_revision(
    tmp_path: Path, fleet: tuple[BundleService, LogCollector, list[OpaProcess]]
) -> None:
    service, collector, servers = fleet
    engine = opa_engine(*(s.url for s in servers))
    first = engine.evaluate(E3["input"])
    assert first.policy_revision == "r1"
    assert first.allow is False
    assert {v.rule: v.level for v in first.violations} == E3["expect"]["rules"]
    assert first.violations == embedded().violations

    service.publish(cli_bundle(tmp_path / "r2", "r2", levels=SOFTENED))
    for server in servers:
        rolled = wait_for_revision(server, "r2")
        assert rolled.allow is True
        assert rolled.violations == embedded(SOFTENED).violations
    assert engine.evaluate(E3["input"]).policy_revision == "r2"
    assert service.downloads >= 4  # each server fetched r1 and r2

    events = collector.wait_until(lambda events: {"r1", "r2"} <= logged_revisions(events))
    logged = [e for e in events if e.get("path") == "kaitiaki/main/decision"]
    revisions = logged_revisions(events)
    assert revisions == {"r1", "r2"}, revisions
    for event in logged:
        revision = event["bundles"]["kaitiaki"]["revision"]
        assert event["result"]["policy_revision"] == revision
        assert event["result"]["allow"] is (revision == "r2")
        assert event["decision_id"]


def test_fleet_fails_over_and_blocks_when_every_server_is_gone(
    fleet: tuple[BundleService, LogCollector, list[OpaProcess]],
) -> None:
    _, _, (first, second) = fleet
    engine = opa_engine(first.url, second.url)
    expected = engine.evaluate(E3["input"])
    first.stop()
    assert engine.evaluate(E3["input"]) == expected
    second.stop()
    with pytest.raises(EngineError, match="no OPA server gave a usable decision"):
        engine.evaluate(E3["input"])


# --- signed bundles ----------------------------------------------------------------------------


def rsa_key_pair(folder: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = folder / "signing.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public = folder / "verify.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def tampered(bundle: Path, out: Path, member: str, change: Any) -> Path:
    """A copy of ``bundle`` with ``member`` changed by ``change(bytes) -> bytes | None`` (None drops it)."""
    with tarfile.open(bundle, "r:gz") as source, tarfile.open(out, "w:gz") as target:
        for info in source.getmembers():
            content = source.extractfile(info).read()  # type: ignore[union-attr]
            if info.name.lstrip("/") == member:
                content = change(content)
                if content is None:
                    continue
            info.size = len(content)
            target.addfile(info, io.BytesIO(content))
    return out


def opa_refuses(bundle: Path, *verification: str) -> str:
    """OPA's error when it will not start on ``bundle``; empty when it starts and serves it."""
    server = OpaProcess(["--bundle", str(bundle), *verification], cwd=bundle.parent)
    try:
        server.wait_healthy(timeout_s=20)
    except RuntimeError as exc:
        return str(exc)
    finally:
        server.stop()
    return ""


def test_opa_verifies_a_signed_bundle_and_refuses_a_tampered_one(tmp_path: Path, opa: str) -> None:
    private, public = rsa_key_pair(tmp_path)
    signed = cli_bundle(tmp_path, "s1", "--signing-key", str(private))
    verify = ("--verification-key", str(public))
    assert opa_refuses(signed, *verify) == ""

    weaker = tampered(
        signed,
        tmp_path / "weaker.tar.gz",
        "kaitiaki/data.json",
        lambda raw: raw.replace(b'"level": "hard"', b'"level": "advisory"'),
    )
    assert "digest mismatch" in opa_refuses(weaker, *verify)
    unsigned = tampered(signed, tmp_path / "unsigned.tar.gz", ".signatures.json", lambda raw: None)
    assert "missing .signatures.json" in opa_refuses(unsigned, *verify)
    (tmp_path / "other").mkdir()
    _, other_public = rsa_key_pair(tmp_path / "other")
    assert "failed to verify JWT signature" in opa_refuses(signed, "--verification-key", str(other_public))


def test_opa_verifies_an_hs256_bundle_from_its_bundle_service(tmp_path: Path, opa: str) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"kaitiaki-bundle-secret-for-tests")
    signed = cli_bundle(
        tmp_path, "h1", "--signing-key", str(secret), "--signing-alg", "HS256", "--signing-key-id", "fleet"
    )
    with BundleService() as service:
        service.publish(signed)
        config = tmp_path / "opa.yaml"
        config.write_text(
            json.dumps(fleet_config(service.url, signing_key=("fleet", "HS256", secret.read_text())))
        )
        with opa_server(["--config-file", str(config)], cwd=tmp_path) as server:
            assert opa_engine(server.url).evaluate(E3["input"]).policy_revision == "h1"


def test_a_bad_signing_key_is_a_clear_input_error(tmp_path: Path) -> None:
    (tmp_path / "not-a-key.pem").write_text("hello")
    result = run_cli(
        [
            "policy",
            "bundle",
            "build",
            "--signing-key",
            str(tmp_path / "not-a-key.pem"),
            "--out",
            str(tmp_path / "b.tar.gz"),
        ]
    )
    assert result.exit_code == 2
    assert "not an unencrypted PEM private key" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "b.tar.gz").exists()


def test_opa_binary_is_the_pinned_version(opa: str) -> None:
    version = subprocess.run([opa, "version"], capture_output=True, text=True, check=True).stdout
    assert "Version: 1.22." in version


def test_signatures_hash_json_as_opa_does(tmp_path: Path, opa: str) -> None:
    """Strings OPA's canonical JSON escapes differently from Python's (U+2028, control characters,
    HTML characters, non-ASCII) still verify: the data.json hash is computed as OPA computes it."""
    from kaitiaki.engine.governance import build_bundle
    from kaitiaki.engine.signing import SigningKey
    from kaitiaki.engine.sources import bundled_policies_dir

    awkward = {"org": {"text": 'a\u2028b\u2029c\x01\x1f\b\f\t"\\ <é>&ā', "n": [6, 2.5, -1e-07, True, None]}}
    settings = Settings(identifier_issuers=ISSUERS, policy_data=awkward)
    key = SigningKey(algorithm="HS256", material=b"secret-for-the-test")
    bundle = build_bundle([bundled_policies_dir()], tmp_path / "b.tar.gz", settings=settings, signing=key)
    hs256 = ("--signing-alg", "HS256")
    assert opa_refuses(bundle, "--verification-key", "secret-for-the-test", *hs256) == ""
    assert "failed to verify JWT signature" in opa_refuses(
        bundle, "--verification-key", "another-secret", *hs256
    )
