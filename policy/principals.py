"""Who a resource policy lets in: the principals of a key, bucket, topic, log or trust policy that are
outside the account.

IAM has no condition key over the content of the policy a call writes (the SAR lists none for
`kms:PutKeyPolicy`, `s3:PutBucketPolicy` or `iam:UpdateAssumeRolePolicy`), so the deployer's policies
cannot stop a key or bucket policy that opens the resource to another account; the layers' own documents
are checked here instead, in the plan (`tests/policy/test_principals.py`), before any of them is written.

A principal is outside the account when an Allow statement names another account (an ARN or an account
id), a federated or canonical-user principal, or everyone (`"*"`, `{"AWS": "*"}`) without a condition that
pins the caller's account (`kms:CallerAccount`, `aws:PrincipalAccount`, `aws:SourceAccount` with
StringEquals). Service principals are AWS services; `NotPrincipal` in an Allow lets in everyone else.
Deny statements open nothing. `may_name` lists the foreign accounts a document may name where they belong
(the region's ELB log-delivery account in the access-log bucket policy).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from policy.iam_lint import as_list

PINNING_KEYS = ("kms:calleraccount", "aws:principalaccount", "aws:sourceaccount")
_ACCOUNT = re.compile(r"^(?:arn:aws[a-z-]*:iam::(\d{12}|aws):.*|(\d{12}))$")


def principals_outside_the_account(
    document: str | Mapping[str, Any], account_id: str, *, may_name: Collection[str] = ()
) -> list[str]:
    """Each Allow statement's principal that is not this account, an AWS service or a named exception."""
    parsed = json.loads(document) if isinstance(document, str) else document
    findings = []
    for index, statement in enumerate(as_list(parsed.get("Statement"))):
        if statement.get("Effect") != "Allow":
            continue
        label = statement.get("Sid") or f"statement {index}"
        if "NotPrincipal" in statement:
            findings.append(f"{label}: NotPrincipal in an Allow lets in every other principal")
        principal = statement.get("Principal")
        if principal is None:
            continue
        entries = {"AWS": principal} if principal == "*" else principal
        for kind, values in entries.items():
            for value in as_list(values):
                problem = _outside(kind, str(value), statement, account_id, may_name)
                if problem:
                    findings.append(f"{label}: {problem}")
    return findings


def _outside(
    kind: str, value: str, statement: Mapping[str, Any], account_id: str, may_name: Collection[str]
) -> str | None:
    if kind == "Service":
        return None
    if kind != "AWS":
        return f"{kind} principal {value!r} is outside the account"
    if value == "*":
        return (
            None
            if _pins_the_account(statement, account_id)
            else "everyone ('*') without a condition on the caller's account"
        )
    match = _ACCOUNT.match(value)
    account = (match.group(1) or match.group(2)) if match else None
    if account == account_id or (account is not None and account in may_name):
        return None
    return f"AWS principal {value!r} is outside the account {account_id}"


def _pins_the_account(statement: Mapping[str, Any], account_id: str) -> bool:
    for operator, block in (statement.get("Condition") or {}).items():
        if operator != "StringEquals":
            continue
        for key, values in block.items():
            if key.lower() in PINNING_KEYS and as_list(values) == [account_id]:
                return True
    return False
