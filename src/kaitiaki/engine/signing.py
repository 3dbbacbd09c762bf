"""Bundle signatures that OPA verifies (``.signatures.json``, OPA's bundle signing format).

The signature is one JWT whose ``files`` claim lists every file of the bundle with its SHA-256:
the bytes of a policy file, and for ``.manifest`` and ``data.json`` the hash of their JSON in
OPA's canonical form (keys sorted, no whitespace, strings escaped as Go escapes them), so OPA's
``--verification-key`` (or a ``signing`` block in its config) refuses a bundle with any file
added, removed or changed. RS256/RS384/RS512 sign with a PEM private key (the ``cryptography``
package, ``pip install 'kaitiaki[signing]'``); HS256/HS384/HS512 with a shared secret, the
file's bytes exactly as OPA reads them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from kaitiaki.errors import PolicyError

SIGNATURES_FILE = ".signatures.json"
STRUCTURED = ("data.json", ".manifest")
RSA_HASHES = {"RS256": "SHA256", "RS384": "SHA384", "RS512": "SHA512"}
HMAC_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
ALGORITHMS = (*RSA_HASHES, *HMAC_HASHES)
DEFAULT_KEY_ID = "default"


@dataclass(frozen=True)
class SigningKey:
    """A bundle signing key: the algorithm, the key material and the key id OPA looks it up by."""

    algorithm: str
    material: bytes
    key_id: str = DEFAULT_KEY_ID


def read_signing_key(path: Path, algorithm: str = "RS256", key_id: str = DEFAULT_KEY_ID) -> SigningKey:
    """The key in ``path`` (a PEM private key for RS*, the secret for HS*), checked before use."""
    if algorithm not in ALGORITHMS:
        raise PolicyError(f"unknown signing algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}.")
    try:
        material = Path(path).read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read the signing key: {exc.strerror or exc}.", path=str(path)) from None
    if not material:
        raise PolicyError("the signing key file is empty.", path=str(path))
    key = SigningKey(algorithm=algorithm, material=material, key_id=key_id)
    if algorithm in RSA_HASHES:
        _rsa_private_key(key, str(path))
    return key


def signatures_document(entries: Mapping[str, bytes], key: SigningKey) -> bytes:
    """The ``.signatures.json`` for a bundle of ``entries`` (bundle path without a leading slash →
    content)."""
    files = [
        {"name": name, "hash": file_hash(name, content), "algorithm": "SHA-256"}
        for name, content in sorted(entries.items())
        if name != SIGNATURES_FILE
    ]
    token = jwt({"files": files, "keyid": key.key_id}, key)
    return json.dumps({"signatures": [token]}, indent=1).encode()


def file_hash(name: str, content: bytes) -> str:
    """The hex SHA-256 OPA checks for a bundle file."""
    if PurePosixPath(name).name in STRUCTURED:
        try:
            value = json.loads(content)
        except ValueError:
            raise PolicyError(f"bundle file {name} is not JSON, so it cannot be signed.") from None
        return hashlib.sha256(canonical(value).encode()).hexdigest()
    return hashlib.sha256(content).hexdigest()


def canonical(value: Any) -> str:
    """JSON as OPA hashes it: objects with sorted keys, no whitespace, Go's string escapes."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{_string(k)}:{canonical(value[k])}" for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical(item) for item in value) + "]"
    if isinstance(value, str):
        return _string(value)
    return json.dumps(value)


def _string(text: str) -> str:
    """Go's encoding/json (HTML escaping off) differs from Python's only on U+2028 and U+2029."""
    return json.dumps(text, ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def jwt(claims: Mapping[str, Any], key: SigningKey) -> str:
    header = {"alg": key.algorithm, "kid": key.key_id, "typ": "JWT"}
    signing_input = f"{_b64(_compact(header))}.{_b64(_compact(claims))}".encode()
    return f"{signing_input.decode()}.{_b64(_sign(signing_input, key))}"


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _sign(message: bytes, key: SigningKey) -> bytes:
    if key.algorithm in HMAC_HASHES:
        return hmac.new(key.material, message, HMAC_HASHES[key.algorithm]).digest()
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    digest = getattr(hashes, RSA_HASHES[key.algorithm])()
    return bytes(_rsa_private_key(key, "the signing key").sign(message, padding.PKCS1v15(), digest))


def _rsa_private_key(key: SigningKey, where: str) -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
    except ImportError:
        raise PolicyError(
            f"signing with {key.algorithm} needs the cryptography package.",
            hint="pip install 'kaitiaki[signing]', or sign with HS256 and a shared secret.",
        ) from None
    try:
        private = load_pem_private_key(key.material, password=None)
    except (ValueError, TypeError) as exc:
        raise PolicyError(
            f"the signing key is not an unencrypted PEM private key ({exc}).", path=where
        ) from None
    if not isinstance(private, rsa.RSAPrivateKey):
        raise PolicyError(f"{key.algorithm} needs an RSA private key.", path=where)
    return private
