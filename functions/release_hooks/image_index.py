"""An ECR image reference resolved to the image manifest a Fargate task of one architecture runs.

`docker push` from Docker's containerd image store (and any `docker buildx build --push`) uploads an
OCI image index even for one platform: the platform's image manifest, plus a provenance attestation
manifest whose platform is `unknown/unknown` (moby/buildkit, docs/attestations/attestation-storage.md).
`docker manifest push` uploads a Docker manifest list. ECR stores the index and each manifest it lists
as images of the repository, and scans the image manifests, not the index: a scan is asked for with the
digest of a platform image (the Amazon ECR Public user guide says so for its scans, "Review scan findings
for your premium images": "If a tag points to a multi-architecture image, such as a manifest list or an
OCI image index, specify the digest of a platform image"). The attestation manifest is no image to
scan either: ECR marks its scan failed (moby/buildkit#3499). So the release command and the
BeforeInstall gate both read the index and take the runnable manifest for the task's architecture;
a single image manifest is taken as it is.

Only the standard library and a boto3 ECR client: this module is packaged with the release hooks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_MEDIA_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST)
IMAGE_MEDIA_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
# BuildKit marks what is not a runnable image (attestations) with this annotation; "If any other value is
# specified, the entire manifest should be ignored" too (attestation-storage.md).
REFERENCE_TYPE = "vnd.docker.reference.type"
# ECS `runtimePlatform.cpuArchitecture` -> the OCI `platform.architecture` (GOARCH values, OCI image
# spec, image-index.md). Fargate takes X86_64 or ARM64 (ECS API reference, RuntimePlatform).
ARCHITECTURES = {"X86_64": "amd64", "ARM64": "arm64"}
DEFAULT_CPU_ARCHITECTURE = "X86_64"  # ECS's default when a task definition sets no runtimePlatform


class ImageIndexError(Exception):
    """An image that no Fargate task of the wanted architecture can run; the message says why."""


@dataclass(frozen=True)
class PlatformImage:
    """The image manifest a task runs, and the index it was chosen from (None for a plain image)."""

    digest: str
    index_digest: str | None = None
    platform: str = ""  # "linux/amd64" when chosen from an index

    def describe(self) -> str:
        if self.index_digest is None:
            return self.digest
        return f"{self.digest} (the {self.platform} image of index {self.index_digest})"


def oci_architecture(cpu_architecture: str | None) -> str:
    """`X86_64` -> `amd64`, `ARM64` -> `arm64`; None is ECS's default, X86_64."""
    wanted = cpu_architecture or DEFAULT_CPU_ARCHITECTURE
    if wanted not in ARCHITECTURES:
        raise ImageIndexError(
            f"cpuArchitecture {wanted!r} is not one Fargate runs: use one of {', '.join(ARCHITECTURES)}"
        )
    return ARCHITECTURES[wanted]


def task_architecture(task_definition: Mapping[str, Any]) -> str:
    """The OCI architecture of a task definition (DescribeTaskDefinition's `taskDefinition`)."""
    platform = task_definition.get("runtimePlatform") or {}
    return oci_architecture(platform.get("cpuArchitecture"))


def _is_runnable(descriptor: Mapping[str, Any]) -> bool:
    return descriptor.get("mediaType") in IMAGE_MEDIA_TYPES and REFERENCE_TYPE not in (
        descriptor.get("annotations") or {}
    )


def choose_manifest(index: Mapping[str, Any], architecture: str) -> str:
    """The digest of the first runnable `linux/<architecture>` image manifest the index lists.

    "If multiple manifests match a client or runtime's requirements, the first matching entry SHOULD be
    used" (OCI image spec, image-index.md). For arm64 a variant other than v8 is skipped, since Fargate's
    Graviton processors run ARMv8 (a listed `arm64` without a variant means v8).
    """
    manifests = index.get("manifests")
    if not isinstance(manifests, list):
        raise ImageIndexError(
            "the image index has no `manifests` list: it is not an OCI index or manifest list"
        )
    for descriptor in manifests:
        platform = descriptor.get("platform") or {}
        if not _is_runnable(descriptor):
            continue
        if platform.get("os") != "linux" or platform.get("architecture") != architecture:
            continue
        if architecture == "arm64" and platform.get("variant") not in (None, "", "v8"):
            continue
        return str(descriptor["digest"])
    listed = sorted(
        {
            "{}/{}{}".format(
                (d.get("platform") or {}).get("os", "?"),
                (d.get("platform") or {}).get("architecture", "?"),
                " (attestation)" if REFERENCE_TYPE in (d.get("annotations") or {}) else "",
            )
            for d in manifests
        }
    )
    raise ImageIndexError(
        f"the image index lists no linux/{architecture} image (it has {', '.join(listed) or 'nothing'}): "
        f"build it with `docker build --platform linux/{architecture}` and push it again"
    )


def resolve(
    ecr: Any, repository: str, image_id: Mapping[str, str], architecture: str, registry_id: str | None = None
) -> PlatformImage:
    """The image manifest behind an ECR `imageId` (a tag or a digest) for `architecture`.

    DescribeImages gives the digest and `imageManifestMediaType`; for an index, BatchGetImage with the
    index media types in `acceptedMediaTypes` returns the index document itself (ECR API reference).
    Raises the client's ImageNotFoundException for an image the repository does not hold.
    """
    registry = {"registryId": registry_id} if registry_id else {}
    details = ecr.describe_images(repositoryName=repository, imageIds=[dict(image_id)], **registry)
    detail = details["imageDetails"][0]
    digest = str(detail["imageDigest"])
    if detail.get("imageManifestMediaType") not in INDEX_MEDIA_TYPES:
        return PlatformImage(digest)
    answer = ecr.batch_get_image(
        repositoryName=repository,
        imageIds=[{"imageDigest": digest}],
        acceptedMediaTypes=list(INDEX_MEDIA_TYPES),
        **registry,
    )
    if not answer.get("images"):
        failures = "; ".join(str(f.get("failureReason")) for f in answer.get("failures", []))
        raise ImageIndexError(f"the image index {digest} cannot be read from ECR: {failures or 'no image'}")
    try:
        document = json.loads(answer["images"][0]["imageManifest"])
    except (KeyError, ValueError):
        raise ImageIndexError(f"the image index {digest} is not JSON") from None
    chosen = choose_manifest(document, architecture)
    return PlatformImage(chosen, digest, f"linux/{architecture}")
