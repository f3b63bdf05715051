"""Choosing the image manifest a Fargate task runs from an OCI image index or a Docker manifest list, on
the documents their specifications print, and the ECR calls that read them, against botocore's model."""

from __future__ import annotations

import copy
import json

import botocore.session
import pytest
from botocore.stub import Stubber

from functions.release_hooks import image_index
from functions.release_hooks.image_index import ImageIndexError, choose_manifest, oci_architecture
from tests.image_documents import BUILDKIT_ATTESTED_INDEX, DOCKER_SPEC_MANIFEST_LIST, OCI_SPEC_INDEX

AMD64_IN_SPECS = "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270"
BUILDKIT_AMD64 = "sha256:23678f31b3b3586c4fb318aecfe64a96a1f0916ba8faf9b2be2abee63fa9e827"
INDEX_DIGEST = "sha256:94acc2ca70c40f3f6291681f37ce9c767e3d251ce01c7e4e9b98ccf148c26260"


@pytest.mark.parametrize("document", [OCI_SPEC_INDEX, DOCKER_SPEC_MANIFEST_LIST], ids=["oci", "docker"])
def test_the_amd64_image_of_the_specifications_examples_is_chosen(document):
    assert choose_manifest(document, "amd64") == AMD64_IN_SPECS


def test_buildkits_attestation_manifest_is_never_chosen():
    assert choose_manifest(BUILDKIT_ATTESTED_INDEX, "amd64") == BUILDKIT_AMD64
    only_attestation = copy.deepcopy(BUILDKIT_ATTESTED_INDEX)
    attestation = only_attestation["manifests"][1]
    attestation["platform"] = {"architecture": "amd64", "os": "linux"}  # even if it claimed a platform
    only_attestation["manifests"] = [attestation]
    with pytest.raises(ImageIndexError, match="lists no linux/amd64 image"):
        choose_manifest(only_attestation, "amd64")


def test_an_index_without_the_tasks_architecture_names_what_it_has_and_the_build_flag():
    with pytest.raises(ImageIndexError) as error:
        choose_manifest(BUILDKIT_ATTESTED_INDEX, "arm64")
    assert str(error.value) == (
        "the image index lists no linux/arm64 image (it has linux/amd64, unknown/unknown (attestation)): "
        "build it with `docker build --platform linux/arm64` and push it again"
    )


def entry(
    digest: str, os: str, architecture: str, variant: str = "", media_type: str = image_index.OCI_MANIFEST
) -> dict[str, object]:
    platform = {"os": os, "architecture": architecture, **({"variant": variant} if variant else {})}
    return {"mediaType": media_type, "digest": digest, "size": 1, "platform": platform}


def test_the_first_matching_entry_wins_and_arm64_takes_v8_only():
    index = {
        "manifests": [
            entry("sha256:v7", "linux", "arm64", variant="v7"),
            entry("sha256:first", "linux", "arm64", variant="v8"),
            entry("sha256:second", "linux", "arm64"),
            entry("sha256:windows", "windows", "amd64"),
        ]
    }
    assert choose_manifest(index, "arm64") == "sha256:first"
    with pytest.raises(ImageIndexError, match=r"it has linux/arm64, windows/amd64"):
        choose_manifest(index, "amd64")


def test_a_nested_index_or_a_document_without_manifests_is_refused():
    nested = {"manifests": [entry("sha256:x", "linux", "amd64", media_type=image_index.OCI_INDEX)]}
    with pytest.raises(ImageIndexError, match="lists no linux/amd64 image"):
        choose_manifest(nested, "amd64")
    with pytest.raises(ImageIndexError, match="has no `manifests` list"):
        choose_manifest({"schemaVersion": 2}, "amd64")


def test_ecs_architectures_map_to_oci_ones_and_others_are_refused():
    ecs_model = botocore.session.get_session().get_service_model("ecs")
    assert set(image_index.ARCHITECTURES) == set(ecs_model.shape_for("CPUArchitecture").enum)
    assert oci_architecture(None) == "amd64"
    assert oci_architecture("ARM64") == "arm64"
    with pytest.raises(ImageIndexError, match="'RISCV' is not one Fargate runs"):
        oci_architecture("RISCV")


def test_the_media_types_are_those_ecr_documents_for_accepted_media_types():
    ecr_model = botocore.session.get_session().get_service_model("ecr")
    batch = ecr_model.operation_model("BatchGetImage").input_shape
    assert "acceptedMediaTypes" in batch.members
    assert "imageManifestMediaType" in ecr_model.shape_for("ImageDetail").members
    documentation = batch.members["acceptedMediaTypes"].documentation
    assert "application/vnd.docker.distribution.manifest.v2+json" in documentation
    assert "application/vnd.oci.image.manifest.v1+json" in documentation


def stubbed_ecr() -> tuple[object, Stubber]:
    client = botocore.session.get_session().create_client(
        "ecr", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return client, Stubber(client)


def test_an_index_is_read_with_ecrs_request_and_response_shapes():
    """Stubber checks every request and response against botocore's ECR model."""
    ecr, stub = stubbed_ecr()
    stub.add_response(
        "describe_images",
        {
            "imageDetails": [
                {
                    "registryId": "123456789012",
                    "repositoryName": "ecr-api-gateway-dev",
                    "imageDigest": INDEX_DIGEST,
                    "imageTags": ["v3"],
                    "imageManifestMediaType": image_index.OCI_INDEX,
                }
            ]
        },
        {"repositoryName": "ecr-api-gateway-dev", "imageIds": [{"imageTag": "v3"}]},
    )
    stub.add_response(
        "batch_get_image",
        {
            "images": [
                {
                    "repositoryName": "ecr-api-gateway-dev",
                    "imageId": {"imageDigest": INDEX_DIGEST},
                    "imageManifest": json.dumps(BUILDKIT_ATTESTED_INDEX),
                    "imageManifestMediaType": image_index.OCI_INDEX,
                }
            ],
            "failures": [],
        },
        {
            "repositoryName": "ecr-api-gateway-dev",
            "imageIds": [{"imageDigest": INDEX_DIGEST}],
            "acceptedMediaTypes": list(image_index.INDEX_MEDIA_TYPES),
        },
    )
    with stub:
        chosen = image_index.resolve(ecr, "ecr-api-gateway-dev", {"imageTag": "v3"}, "amd64")
    stub.assert_no_pending_responses()
    assert chosen == image_index.PlatformImage(BUILDKIT_AMD64, INDEX_DIGEST, "linux/amd64")


def test_a_single_image_manifest_is_taken_as_it_is_without_reading_it():
    ecr, stub = stubbed_ecr()
    stub.add_response(
        "describe_images",
        {
            "imageDetails": [
                {"imageDigest": AMD64_IN_SPECS, "imageManifestMediaType": image_index.DOCKER_MANIFEST}
            ]
        },
        {"repositoryName": "ecr-api-gateway-dev", "imageIds": [{"imageDigest": AMD64_IN_SPECS}]},
    )
    with stub:
        chosen = image_index.resolve(ecr, "ecr-api-gateway-dev", {"imageDigest": AMD64_IN_SPECS}, "amd64")
    assert chosen == image_index.PlatformImage(AMD64_IN_SPECS)


def test_an_index_ecr_will_not_return_is_refused_with_its_reason():
    ecr, stub = stubbed_ecr()
    stub.add_response(
        "describe_images",
        {
            "imageDetails": [
                {"imageDigest": INDEX_DIGEST, "imageManifestMediaType": image_index.DOCKER_MANIFEST_LIST}
            ]
        },
    )
    stub.add_response(
        "batch_get_image",
        {
            "images": [],
            "failures": [
                {
                    "imageId": {"imageDigest": INDEX_DIGEST},
                    "failureCode": "UnsupportedImageType",
                    "failureReason": "Unsupported image type",
                }
            ],
        },
    )
    with stub, pytest.raises(ImageIndexError, match="cannot be read from ECR: Unsupported image type"):
        image_index.resolve(ecr, "ecr-api-gateway-dev", {"imageTag": "v3"}, "amd64")
