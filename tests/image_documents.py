"""Image index and manifest list documents as their specifications print them, and a BuildKit-style index
pushed into moto's ECR the way `docker push` from the containerd image store uploads it.

- OCI_SPEC_INDEX: the example of the OCI image spec, image-index.md (opencontainers/image-spec).
- DOCKER_SPEC_MANIFEST_LIST: the example of Docker's "Image Manifest V 2, Schema 2"
  (distribution/distribution, docs/spec/manifest-v2-2.md).
- BUILDKIT_ATTESTED_INDEX: the example of moby/buildkit docs/attestations/attestation-storage.md: one amd64
  image and its attestation manifest, whose platform is unknown/unknown.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import boto3

from functions.release_hooks.image_index import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST

OCI_SPEC_INDEX: dict[str, Any] = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "size": 7143,
            "digest": "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f",
            "platform": {"architecture": "ppc64le", "os": "linux"},
        },
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "size": 7682,
            "digest": "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270",
            "platform": {"architecture": "amd64", "os": "linux"},
        },
    ],
    "annotations": {"com.example.key1": "value1", "com.example.key2": "value2"},
}

DOCKER_SPEC_MANIFEST_LIST: dict[str, Any] = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
    "manifests": [
        {
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "size": 7143,
            "digest": "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f",
            "platform": {"architecture": "ppc64le", "os": "linux"},
        },
        {
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "size": 7682,
            "digest": "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270",
            "platform": {"architecture": "amd64", "os": "linux", "features": ["sse4"]},
        },
    ],
}

BUILDKIT_AMD64 = "sha256:23678f31b3b3586c4fb318aecfe64a96a1f0916ba8faf9b2be2abee63fa9e827"
BUILDKIT_ATTESTED_INDEX: dict[str, Any] = {
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "schemaVersion": 2,
    "manifests": [
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": BUILDKIT_AMD64,
            "size": 1234,
            "platform": {"architecture": "amd64", "os": "linux"},
        },
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": "sha256:02cb9aa7600e73fcf41ee9f0f19cc03122b2d8be43d41ce4b21335118f5dd943",
            "size": 1234,
            "annotations": {
                "vnd.docker.reference.digest": BUILDKIT_AMD64,
                "vnd.docker.reference.type": "attestation-manifest",
            },
            "platform": {"architecture": "unknown", "os": "unknown"},
        },
    ],
}


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def image_manifest(seed: str, media_type: str = OCI_MANIFEST) -> str:
    """An image manifest (OCI image spec, manifest.md) with one config and one layer named after `seed`."""
    blob = _digest(seed)
    oci = media_type == OCI_MANIFEST
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json"
                if oci
                else "application/vnd.docker.container.image.v1+json",
                "digest": blob,
                "size": 1,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"
                    if oci
                    else "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": _digest(f"{seed}/layer"),
                    "size": 1,
                }
            ],
        },
        indent=2,
    )


def push_index(
    region: str,
    repository: str,
    tag: str,
    architectures: tuple[str, ...] = ("amd64",),
    attestations: bool = True,
    media_type: str = OCI_INDEX,
) -> dict[str, str]:
    """Push what BuildKit pushes: one image manifest per architecture (untagged), an attestation manifest for
    each (when `attestations`), then the index under `tag`. Digests are the SHA-256 of the documents'
    bytes, as a registry computes them. Returns {"index": digest, "<architecture>": digest, ...}."""
    ecr = boto3.client("ecr", region_name=region)
    child_type = OCI_MANIFEST if media_type == OCI_INDEX else DOCKER_MANIFEST
    digests: dict[str, str] = {}
    descriptors: list[dict[str, Any]] = []
    attestation_descriptors: list[dict[str, Any]] = []
    for architecture in architectures:
        document = image_manifest(f"{repository}:{tag}/{architecture}", child_type)
        digest = _digest(document)
        ecr.put_image(
            repositoryName=repository,
            imageManifest=document,
            imageManifestMediaType=child_type,
            imageDigest=digest,
        )
        digests[architecture] = digest
        descriptors.append(
            {
                "mediaType": child_type,
                "digest": digest,
                "size": len(document),
                "platform": {"architecture": architecture, "os": "linux"},
            }
        )
        if attestations:
            proof = image_manifest(f"{repository}:{tag}/{architecture}/provenance")
            proof_digest = _digest(proof)
            ecr.put_image(
                repositoryName=repository,
                imageManifest=proof,
                imageManifestMediaType=OCI_MANIFEST,
                imageDigest=proof_digest,
            )
            digests[f"{architecture}-attestation"] = proof_digest
            attestation_descriptors.append(
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": proof_digest,
                    "size": len(proof),
                    "annotations": {
                        "vnd.docker.reference.digest": digest,
                        "vnd.docker.reference.type": "attestation-manifest",
                    },
                    "platform": {"architecture": "unknown", "os": "unknown"},
                }
            )
    # BuildKit lists the attestation manifests "after all the original runnable manifests".
    index = json.dumps(
        {"schemaVersion": 2, "mediaType": media_type, "manifests": [*descriptors, *attestation_descriptors]},
        indent=2,
    )
    digests["index"] = _digest(index)
    ecr.put_image(
        repositoryName=repository,
        imageManifest=index,
        imageManifestMediaType=media_type,
        imageTag=tag,
        imageDigest=digests["index"],
    )
    return digests
