"""Signed model directories: package.json, which names every file's sha256, signed with an ed25519 key.

A model directory on its own is only self-consistent: whoever can change linear.json can rewrite the
hashes in package.json too. Provenance needs a key the attacker lacks. `lockship keygen` makes a key
pair; packaging with `LOCKSHIP_SIGNING_KEY` writes `package.json.sig`, the base64 ed25519 signature of
package.json's exact bytes (so `openssl pkeyutl -verify -rawin` can check it too); a server given the
public key refuses to start unless that signature verifies and the directory holds exactly the files
package.json names, each with its recorded sha256.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lockship.core.errors import EXIT_USAGE, LockshipError
from lockship.core.fsio import write_outputs
from lockship.core.model.directory import FILES, PACKAGE_FILE, ModelDir, read_model_dir

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNATURE_FILE = "package.json.sig"
PRIVATE_KEY_FILE = "lockship.key"
PUBLIC_KEY_FILE = "lockship.pub"
VERIFIED = "verified"
UNSIGNED = "self-consistent (unsigned)"
UNCHECKED = "self-consistent (signature not checked)"
_PEM = b"-----BEGIN"


@dataclass(frozen=True)
class Provenance:
    """What start-up could establish about where a model directory comes from."""

    status: str  # VERIFIED only when a configured public key verified the signature
    key: str | None = None  # the verifying key's fingerprint


def fingerprint(public_key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"ed25519:{hashlib.sha256(raw).hexdigest()[:16]}"


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _require_cryptography(where: str) -> None:
    """An image packaged without `cryptography` in package.runtime cannot check signatures: say so, once."""
    try:
        import cryptography  # noqa: F401
    except ModuleNotFoundError as error:
        raise LockshipError(
            f"{where}: checking signatures needs the 'cryptography' package, which is not installed here "
            "(list it in package.runtime in params.yaml)"
        ) from error


def load_public_key(data: bytes, *, where: str) -> Ed25519PublicKey:
    """An ed25519 public key from PEM (what `lockship keygen` writes); anything else is a usage error."""
    _require_cryptography(where)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as error:
        raise LockshipError(f"{where}: not a PEM public key ({error})", exit_code=EXIT_USAGE) from error
    if not isinstance(key, Ed25519PublicKey):
        raise LockshipError(f"{where}: expected an ed25519 public key, got {type(key).__name__}", exit_code=EXIT_USAGE)
    return key


def read_public_key(source: str, *, where: str) -> Ed25519PublicKey:
    """A public key given as PEM text (an environment variable) or as the path of a PEM file."""
    if source.lstrip().encode().startswith(_PEM):
        return load_public_key(source.encode(), where=where)
    return load_public_key(_read_key_file(source, where=where), where=source)


def load_private_key(path: str | os.PathLike[str], *, where: str) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    name = os.fspath(path)
    try:
        key = serialization.load_pem_private_key(_read_key_file(name, where=where), password=None)
    except (ValueError, TypeError) as error:
        raise LockshipError(f"{name}: not an unencrypted PEM private key ({error})", exit_code=EXIT_USAGE) from error
    if not isinstance(key, Ed25519PrivateKey):
        raise LockshipError(f"{name}: expected an ed25519 private key, got {type(key).__name__}", exit_code=EXIT_USAGE)
    return key


def _read_key_file(path: str, *, where: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(64 * 1024)  # a PEM key is well under 1 KB
    except OSError as error:
        raise LockshipError(f"{path}: cannot read the key ({where}): {error.strerror}", exit_code=EXIT_USAGE) from error


def write_key_pair(directory: str | os.PathLike[str]) -> tuple[Path, Path, Ed25519PublicKey]:
    """A new key pair as DIR/lockship.key (mode 0600) and DIR/lockship.pub; existing files are never replaced."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    root = Path(directory)
    private, public = root / PRIVATE_KEY_FILE, root / PUBLIC_KEY_FILE
    existing = [f"{path}: already exists; move it away or choose another --out" for path in (private, public)]
    existing = [line for path, line in zip((private, public), existing, strict=True) if path.exists()]
    if existing:
        raise LockshipError(*existing)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        root.mkdir(parents=True, exist_ok=True)
        # mkstemp creates the file 0600, and linking it into place never replaces a file someone just made.
        handle, temporary = tempfile.mkstemp(dir=root, prefix=f".{PRIVATE_KEY_FILE}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(pem)
            os.link(temporary, private)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
    except FileExistsError as error:
        raise LockshipError(f"{private}: already exists; move it away or choose another --out") from error
    except OSError as error:
        raise LockshipError(f"{error.filename or root}: cannot write the key: {error.strerror}") from error
    write_outputs({public: public_key_pem(key.public_key())})
    return private, public, key.public_key()


def sign_model_dir(directory: str | os.PathLike[str], key: Ed25519PrivateKey) -> Path:
    """Write package.json.sig beside package.json (ed25519 signatures are deterministic: same key, same bytes)."""
    root = Path(directory)
    try:
        message = (root / PACKAGE_FILE).read_bytes()
    except OSError as error:
        raise LockshipError(f"{root / PACKAGE_FILE}: cannot read: {error.strerror}") from error
    signature = root / SIGNATURE_FILE
    write_outputs({signature: base64.b64encode(key.sign(message)).decode() + "\n"})
    return signature


def _verify_signature(root: Path, public_key: Ed25519PublicKey) -> None:
    """The signature of package.json's raw bytes, checked before anything in the directory is parsed."""
    from cryptography.exceptions import InvalidSignature

    path = root / SIGNATURE_FILE
    key = fingerprint(public_key)
    try:
        text = path.read_bytes()[:1024]
        message = (root / PACKAGE_FILE).read_bytes()
    except FileNotFoundError as error:
        what = "the model directory is not signed" if error.filename == str(path) else "file not found"
        raise LockshipError(f"{error.filename}: missing: {what}, and public key {key} requires a signature") from error
    except OSError as error:
        raise LockshipError(f"{error.filename}: cannot read: {error.strerror}") from error
    try:
        signature = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as error:
        raise LockshipError(f"{path}: not a base64 signature") from error
    try:
        public_key.verify(signature, message)
    except InvalidSignature as error:
        raise LockshipError(
            f"{path}: does not verify {root / PACKAGE_FILE} with public key {key}: the directory was changed "
            "after signing, or signed with another key"
        ) from error


def _check_listing(model_dir: ModelDir) -> None:
    """Exactly the files package.json names (each of which read_model_dir checked by sha256), and the signature."""
    expected = {*FILES, SIGNATURE_FILE, *model_dir.derived_files}
    try:
        entries = sorted(os.scandir(model_dir.path), key=lambda entry: entry.name)
    except OSError as error:
        raise LockshipError(f"{model_dir.path}: cannot list: {error.strerror}") from error
    extra = [entry.name for entry in entries if entry.name not in expected]
    if extra:
        raise LockshipError(
            f"{model_dir.path}: unexpected {', '.join(extra)}: a signed model directory holds only the files "
            f"its signed package.json names ({', '.join(sorted(expected))})"
        )
    special = [entry.name for entry in entries if not entry.is_file()]
    if special:
        raise LockshipError(f"{model_dir.path}: {', '.join(special)}: not a regular file")


def read_verified_model_dir(
    path: str | os.PathLike[str], public_key: Ed25519PublicKey | None
) -> tuple[ModelDir, Provenance]:
    """`read_model_dir`, plus the signature check when a public key is configured; refuses what does not verify."""
    root = Path(path)
    if public_key is not None and root.is_dir():
        _verify_signature(root, public_key)
    model_dir = read_model_dir(root)
    if public_key is None:
        return model_dir, Provenance(UNCHECKED if (root / SIGNATURE_FILE).exists() else UNSIGNED)
    _check_listing(model_dir)
    return model_dir, Provenance(VERIFIED, fingerprint(public_key))
