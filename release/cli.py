"""`payments-release <stack> <service> <image>` (or `python3 dev.py release -- ...`).

Releases `image` (a tag such as v2, a sha256 digest, or a full reference in the service's own ECR
repository) to `service` of the services stack `stack` through CodeDeploy blue/green, and follows
the deployment until it succeeds, fails or rolls back.

Exit codes: 0 released (or started, with --no-wait); 1 the deployment failed or was rolled back;
2 refused before anything changed; 3 still running when --timeout ran out.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import boto3
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.exceptions import HTTPClientError, NoCredentialsError, NoRegionError, PartialCredentialsError

from release.appspec_properties import OutputsReader, desired_settings, from_file, from_pulumi
from release.one_release import SUCCEEDED, Release
from release.reference import parse_image
from release.targets import ReleaseError, Targets

OK, FAILED, REFUSED, TIMED_OUT = 0, 1, 2, 3


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="payments-release", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("stack", help="the services stack, e.g. dev (stacks/services/Pulumi.<stack>.yaml)")
    parser.add_argument("service", help="api-gateway, payment-processor or fraud-detector")
    parser.add_argument("image", help="tag (v2), digest (sha256:...) or <repository uri>:<tag>|@<digest>")
    parser.add_argument("--region", help="default: the stack's region config, else us-east-1")
    parser.add_argument(
        "--outputs",
        help="the services stack's outputs as JSON (`pulumi stack output --json`); default: read them "
        "with the Pulumi CLI",
    )
    parser.add_argument("--no-wait", action="store_true", help="return once the deployment is created")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to follow it (default 3600)")
    parser.add_argument("--poll", type=float, default=15, help="seconds between status checks (default 15)")
    return parser.parse_args(argv)


def refuse_bad_arguments(args: argparse.Namespace) -> None:
    """What can be judged without AWS: the image reference's grammar, and timings that make sense."""
    parse_image(args.image)
    for name, value in (("--timeout", args.timeout), ("--poll", args.poll)):
        if not math.isfinite(value) or value <= 0:
            raise ReleaseError(f"{name} must be a positive number of seconds, got {value:g}")
    if args.poll > args.timeout:
        raise ReleaseError(
            f"--poll {args.poll:g} is longer than --timeout {args.timeout:g}: the deployment would be "
            "checked once at most; make --poll shorter"
        )


def main(
    argv: Sequence[str] | None = None,
    clients: Callable[[str, str], Any] | None = None,
    out: Callable[[str], None] = print,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    outputs: OutputsReader | None = None,
) -> int:
    args = parse(argv)
    make = clients or (lambda service, region: boto3.client(service, region_name=region))
    read_outputs = from_file(args.outputs) if args.outputs else (outputs or from_pulumi)
    try:
        refuse_bad_arguments(args)
        targets = Targets.resolve(args.stack, args.service, args.region)
        desired = desired_settings(read_outputs(args.stack), args.service, out)
        release = Release(targets, lambda service: make(service, targets.region), out, clock, sleep)
        deployment_id, task_definition, image = release.start(args.image, desired)
    except ReleaseError as error:
        out(f"release refused: {error}")
        return REFUSED
    except (NoCredentialsError, PartialCredentialsError):
        out(
            "release refused: no AWS credentials found; set AWS_PROFILE (after `aws sso login`) or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, then retry"
        )
        return REFUSED
    except NoRegionError:
        out("release refused: no AWS region; pass --region or set the stack's region config")
        return REFUSED
    except (BotocoreConnectionError, HTTPClientError) as error:
        # No network, a proxy, or a wrong region endpoint: one line with the cause, not a traceback.
        out(
            f"release refused: AWS could not be reached ({error}); check the network, any proxy "
            "(HTTPS_PROXY) and --region, then retry"
        )
        return REFUSED
    if args.no_wait:
        out(f"deployment {deployment_id} started; follow it with")
        out(f"  aws deploy get-deployment --deployment-id {deployment_id}")
        return OK
    status, reason = release.follow(deployment_id, args.timeout, args.poll)
    events = release.lifecycle_events(deployment_id)
    summary(out, targets, deployment_id, task_definition, image, status, reason, events)
    if status == SUCCEEDED:
        return OK
    return TIMED_OUT if status == "TimedOut" else FAILED


def summary(
    out: Callable[[str], None],
    targets: Targets,
    deployment_id: str,
    task_definition: str,
    image: str,
    status: str,
    reason: str,
    events: list[tuple[str, str]],
) -> None:
    out("")
    out(f"release of {targets.spec.name} ({targets.suffix}): {status}")
    out(f"  deployment id    {deployment_id}")
    out(f"  task definition  {task_definition}")
    out(f"  image            {image}")
    for name, event_status in events:
        out(f"  {name:<24} {event_status}")
    if status in ("Failed", "Stopped"):
        out(f"  rolled back: production traffic stayed on the previous task set. {reason}".rstrip())
    elif status == "TimedOut":
        out(f"  {reason}")


if __name__ == "__main__":
    sys.exit(main())
