"""Image signatures in the sigstore format that cosign and containers/image read, made and checked here.

A signature is an OCI artifact beside the image in its repository, tagged `sha256-<manifest hex>.sig`:
one layer of media type `application/vnd.dev.cosign.simplesigning.v1+json` whose blob is the signed
payload (the image's manifest digest and reference) and whose `dev.cosignproject.cosign/signature`
annotation is the base64 signature of those bytes. Debian's skopeo and podman are built with sigstore
signing and verification disabled ("Debian-local change: sigstore disabled") and Debian has no cosign,
so lockship signs the payload itself with the ed25519 key of `lockship keygen` and moves the artifact
with skopeo (which keeps the registry's authentication); `verify_image` checks it the same way cosign
or a `sigstoreSigned` policy does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lockship.core.errors import EXIT_USAGE, LockshipError
from lockship.core.model.signing import fingerprint

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PAYLOAD_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
SIGNATURE_TYPE = "cosign container image signature"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"


@dataclass(frozen=True)
class Reference:
    repository: str  # host[:port]/path
    tag: str | None
    digest: str | None  # sha256:<hex>

    @classmethod
    def parse(cls, text: str) -> Reference:
        text = text.removeprefix("docker://")
        name, _, digest = text.partition("@")
        repository, tag = name, None
        if ":" in name.rsplit("/", 1)[-1]:
            repository, tag = name.rsplit(":", 1)
        if "/" not in repository or (digest and not digest.startswith("sha256:")) or not (tag or digest):
            raise LockshipError(
                f"{text}: expected host[:port]/name:tag or host[:port]/name@sha256:<hex>", exit_code=EXIT_USAGE
            )
        return cls(repository, tag, digest or None)

    def __str__(self) -> str:
        return self.repository + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


@dataclass(frozen=True)
class VerifiedImage:
    reference: str
    digest: str
    identity: str  # the reference the signer named
    key: str  # the verifying key's fingerprint


def signature_tag(digest: str) -> str:
    return digest.replace(":", "-") + ".sig"


def payload(identity: str, digest: str) -> bytes:
    """The signed statement: this manifest digest is the image `identity` names (no clock: re-signing is stable)."""
    document = {
        "critical": {
            "identity": {"docker-reference": identity},
            "image": {"docker-manifest-digest": digest},
            "type": SIGNATURE_TYPE,
        },
        "optional": None,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _skopeo(*args: str, what: str) -> None:
    try:
        result = subprocess.run(["skopeo", *args], capture_output=True, text=True, check=False)
    except FileNotFoundError as error:
        raise LockshipError("skopeo: not installed; run scripts/install-system-packages") from error
    if result.returncode != 0:
        raise LockshipError(f"{what}: {result.stderr.strip()[-300:]}")


def _tls(flag: str, tls_verify: bool) -> str:
    return f"--{flag}-tls-verify={'true' if tls_verify else 'false'}"


def sign_image(identity: str, digest: str, key: Ed25519PrivateKey, *, tls_verify: bool) -> str:
    """Upload the signature of `identity` (name:tag) at `digest` beside it; return the signature's reference."""
    statement = payload(identity, digest)
    config = b"{}"
    with tempfile.TemporaryDirectory(prefix="lockship-sign-") as scratch:
        layout = Path(scratch)
        blobs = layout / "blobs" / "sha256"
        blobs.mkdir(parents=True)

        def blob(data: bytes) -> str:
            hexdigest = hashlib.sha256(data).hexdigest()
            (blobs / hexdigest).write_bytes(data)
            return f"sha256:{hexdigest}"

        layer = {"mediaType": PAYLOAD_TYPE, "size": len(statement), "digest": blob(statement)}
        layer["annotations"] = {SIGNATURE_ANNOTATION: base64.b64encode(key.sign(statement)).decode()}
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "size": len(config), "digest": blob(config)},
            "layers": [layer],
        }
        data = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
        entry = {"mediaType": OCI_MANIFEST, "size": len(data), "digest": blob(data)}
        entry["annotations"] = {"org.opencontainers.image.ref.name": "signature"}
        (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
        (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
        target = f"{Reference.parse(identity).repository}:{signature_tag(digest)}"
        copy = ["copy", "--quiet", "--preserve-digests", _tls("dest", tls_verify)]
        _skopeo(*copy, f"oci:{layout}:signature", f"docker://{target}", what=f"{target}: cannot upload the signature")
    return target


def _statement(data: bytes, where: str) -> tuple[str, str]:
    """(identity, digest) of a payload, refused unless it is exactly cosign's shape."""
    try:
        document: Any = json.loads(data)
        critical = document["critical"]
        if set(document) != {"critical", "optional"} or set(critical) != {"identity", "image", "type"}:
            raise ValueError("unexpected fields")
        if critical["type"] != SIGNATURE_TYPE:
            raise ValueError(f"type {critical['type']!r}")
        return str(critical["identity"]["docker-reference"]), str(critical["image"]["docker-manifest-digest"])
    except (ValueError, KeyError, TypeError) as error:
        raise LockshipError(f"{where}: not a container image signature ({error})") from error


def _identity_matches(identity: str, reference: Reference) -> bool:
    """containers/image's matchRepoDigestOrExact: the exact name:tag, or by digest the same repository."""
    if reference.tag is not None:
        return identity == f"{reference.repository}:{reference.tag}"
    return Reference.parse(identity).repository == reference.repository


def verify_image(text: str, public_key: Ed25519PublicKey, *, manifest: bytes, tls_verify: bool) -> VerifiedImage:
    """Check that `public_key` signed the image `text` (whose manifest, as the registry serves it, is `manifest`)."""
    from cryptography.exceptions import InvalidSignature

    reference = Reference.parse(text)
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    if reference.digest is not None and reference.digest != digest:
        raise LockshipError(f"{reference}: the registry serves manifest {digest}")
    key = fingerprint(public_key)
    source = f"{reference.repository}:{signature_tag(digest)}"
    with tempfile.TemporaryDirectory(prefix="lockship-verify-") as scratch:
        copy = ["copy", "--quiet", "--preserve-digests", _tls("src", tls_verify), f"docker://{source}"]
        try:
            _skopeo(*copy, f"dir:{scratch}", what=source)
        except LockshipError as error:
            if "manifest unknown" in str(error) or "not found" in str(error):
                raise LockshipError(f"{reference}: not signed (no signature at {source})") from error
            raise
        artifact: Any = json.loads((Path(scratch) / "manifest.json").read_bytes())
        for layer in artifact.get("layers", []):
            if layer.get("mediaType") != PAYLOAD_TYPE:
                continue
            statement = (Path(scratch) / str(layer["digest"]).removeprefix("sha256:")).read_bytes()
            try:
                signature = base64.b64decode(layer.get("annotations", {}).get(SIGNATURE_ANNOTATION, ""), validate=True)
                public_key.verify(signature, statement)
            except (InvalidSignature, binascii.Error, ValueError):
                continue
            identity, signed = _statement(statement, source)
            if signed != digest:
                raise LockshipError(f"{source}: signed by {key} for manifest {signed}, not {digest}")
            if not _identity_matches(identity, reference):
                raise LockshipError(f"{source}: signed by {key} as {identity}, not as {reference}")
            return VerifiedImage(str(reference), digest, identity, key)
    raise LockshipError(f"{reference}: no signature at {source} verifies with public key {key}")
