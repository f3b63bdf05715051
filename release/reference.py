"""The release command's `image` argument, checked against the image reference grammar before any AWS call.

The grammar is the one Docker and every registry client use (github.com/distribution/reference,
reference.go): a tag is `[\\w][\\w.-]{0,127}`; a digest is `<algorithm>:<hex>`, and ECR names images by
`sha256:` and 64 hex digits (ECR API reference, ImageIdentifier); a repository path is lowercase
components `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*` joined by `/`, after a registry host. A full
reference may carry both a tag and a digest (`name:tag@sha256:...`); the digest then decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from release.targets import ReleaseError

TAG = re.compile(r"[\w][\w.-]{0,127}")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]+)?"
NAME = re.compile(rf"{_HOST}/{_COMPONENT}(?:/{_COMPONENT})*")
FULL = re.compile(rf"(?P<name>{NAME.pattern})(?::(?P<tag>{TAG.pattern}))?(?:@(?P<digest>[^@]+))?")
FORMS = "a tag (v2), a digest (sha256:<64 hex>) or <repository uri>:<tag> / <repository uri>@sha256:<64 hex>"


@dataclass(frozen=True)
class ImageReference:
    """What the user named: a repository (None: the service's own), and a tag or a digest."""

    text: str  # as given
    repository: str | None
    tag: str | None
    digest: str | None

    @property
    def reference(self) -> str:
        """The digest if there is one, else the tag: what ECR is asked for."""
        return self.digest or self.tag or ""

    @property
    def image_id(self) -> dict[str, str]:
        """ECR's ImageIdentifier."""
        return {"imageDigest": self.digest} if self.digest else {"imageTag": self.tag or ""}


def parse_image(text: str) -> ImageReference:
    """Raises ReleaseError naming the accepted forms when `text` is no image reference."""
    if text.startswith("sha256:"):
        if DIGEST.fullmatch(text):
            return ImageReference(text, None, None, text)
        raise ReleaseError(f"image {text!r} is not a digest: a digest is sha256: and 64 lowercase hex digits")
    if "/" not in text and "@" not in text:
        if TAG.fullmatch(text):
            return ImageReference(text, None, text, None)
        raise ReleaseError(
            f"image {text!r} is not a valid tag: a tag is up to 128 letters, digits, '_', '.' and '-', "
            f"not starting with '.' or '-'; give {FORMS}"
        )
    match = FULL.fullmatch(text)
    if match is None:
        raise ReleaseError(f"image {text!r} is not an image reference: give {FORMS}")
    digest = match["digest"]
    if digest is not None and not DIGEST.fullmatch(digest):
        raise ReleaseError(
            f"image {text!r} has a bad digest {digest!r}: it must be sha256: and 64 lowercase hex digits"
        )
    if match["tag"] is None and digest is None:
        raise ReleaseError(f"image {text!r} names no tag or digest: add :<tag> or @sha256:<digest>")
    return ImageReference(text, match["name"], match["tag"], digest)
