"""The architecture picture, drawn from a plan: what the layers create and how traffic flows.

    python -m planning.diagram [--out docs/architecture.svg]     # the committed copy (`nox -s docs`)

Everything shown is read from the plan's resources, never written here: the load balancers and their
listener ports, the ECS services behind them, the Cloud Map names each task is given for its callees
(from the task definitions' environment), the VPC with its subnets and flow logs, the NAT gateways, the
cluster and the KMS keys, the release hooks and, when a layer has them, WAF and the alarm topic. The
layout is a fixed grid and the output is plain SVG with no timestamps, so the same plan always gives
the same bytes and a test can tell a stale copy.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
COMMITTED_COPY = REPO_ROOT / "docs" / "architecture.svg"

LAYER_COLOURS = {"network": "#dbeafe", "platform": "#dcfce7", "services": "#fef3c7", "outside": "#f3f4f6"}
BOX_WIDTH, BOX_HEIGHT = 250, 64
COLUMNS = (30, 410, 790, 1170, 1550)
ROWS = (70, 210, 350, 490)
PARALLEL_OFFSET = 7  # px between the two lines of a pair of opposite arrows
DATABASE_RULE = "security-group-database-in-"  # a database client's rule: <this><client>-<suffix>
URL = re.compile(r"^https?://(?P<host>[a-z0-9.-]+):(?P<port>\d+)")


@dataclass(frozen=True)
class Box:
    key: str
    lines: tuple[str, ...]
    layer: str
    column: int
    row: int

    @property
    def x(self) -> int:
        return COLUMNS[self.column]

    @property
    def y(self) -> int:
        return ROWS[self.row]


@dataclass(frozen=True)
class Arrow:
    source: str
    target: str
    label: str = ""
    dashed: bool = False


@dataclass
class Architecture:
    """What the picture shows, read from a plan."""

    boxes: list[Box] = field(default_factory=list)
    arrows: list[Arrow] = field(default_factory=list)

    def box(self, key: str) -> Box:
        return next(b for b in self.boxes if b.key == key)


def _resources(report: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(layer["layer"], resource) for layer in report["layers"] for resource in layer["resources"]]


def _of_type(resources: Iterable[tuple[str, dict[str, Any]]], type_: str) -> list[tuple[str, dict[str, Any]]]:
    return [(layer, r) for layer, r in resources if r["type"] == type_]


def _arn_name(arn: str, kind: str) -> str:
    """`.../loadbalancer/app/<name>/<id>` or `.../targetgroup/<name>/<id>` -> name."""
    marker = f"{kind}/app/" if kind == "loadbalancer" else f"{kind}/"
    return arn.split(marker, 1)[1].split("/", 1)[0] if marker in arn else arn


def _container_environment(task_definition: dict[str, Any]) -> dict[str, str]:
    containers = task_definition["inputs"].get("containerDefinitions") or "[]"
    parsed = json.loads(containers) if isinstance(containers, str) else containers
    return {e["name"]: e["value"] for c in parsed for e in c.get("environment", [])}


def _listeners_to(listeners: Sequence[dict[str, Any]], groups: set[str]) -> list[dict[str, Any]]:
    """The listeners whose default action forwards to one of `groups`, by port."""
    found = [
        lst
        for lst in listeners
        for action in lst["inputs"].get("defaultActions", [])
        if _arn_name(str(action.get("targetGroupArn", "")), "targetgroup") in groups
    ]
    return sorted(found, key=lambda lst: int(lst["inputs"]["port"]))


def _service_named(services: Mapping[str, str], short: str) -> str | None:
    """The ECS service whose physical name carries the catalogue name (`ecs-service-<name>-<suffix>`)."""
    return next((n for n in sorted(services) if f"-{short}-" in n), None) if short else None


def _ports(listeners: Sequence[dict[str, Any]]) -> str:
    """Listener ports grouped by protocol: `80, 8080 HTTP` or `443 HTTPS; 80 HTTP`."""
    by_protocol: dict[str, list[str]] = {}
    for listener in listeners:
        protocol = str(listener["inputs"].get("protocol", ""))
        by_protocol.setdefault(protocol, []).append(str(int(listener["inputs"]["port"])))
    return "; ".join(f"{', '.join(ports)} {protocol}" for protocol, ports in sorted(by_protocol.items()))


def read(report: Mapping[str, Any]) -> Architecture:
    """The boxes and arrows of the picture, from a plan report (`planning.plan`'s JSON)."""
    resources = _resources(report)
    picture = Architecture()
    albs = {
        r["inputs"]["name"]: (layer, r)
        for layer, r in _of_type(resources, "aws:lb/loadBalancer:LoadBalancer")
    }
    listeners = [r for _, r in _of_type(resources, "aws:lb/listener:Listener")]
    public = next(name for name, (_, r) in albs.items() if not r["inputs"].get("internal"))
    internal = next((name for name, (_, r) in albs.items() if r["inputs"].get("internal")), None)

    def listeners_of(alb: str) -> list[dict[str, Any]]:
        found = [
            lst
            for lst in listeners
            if _arn_name(str(lst["inputs"]["loadBalancerArn"]), "loadbalancer") == alb
        ]
        return sorted(found, key=lambda lst: int(lst["inputs"]["port"]))

    picture.boxes.append(Box("internet", ("internet",), "outside", 0, 0))
    webacls = _of_type(resources, "aws:wafv2/webAcl:WebAcl")
    edge_source = "internet"
    if webacls:
        layer, acl = webacls[0]
        picture.boxes.append(
            Box("waf", ("AWS WAF", str(acl["inputs"].get("name", acl["name"]))), layer, 1, 0)
        )
        picture.arrows.append(Arrow("internet", "waf"))
        edge_source = "waf"
    public_listeners = listeners_of(public)
    picture.boxes.append(
        Box("public-alb", ("public ALB", public, _ports(public_listeners)), albs[public][0], 2, 0)
    )
    picture.arrows.append(Arrow(edge_source, "public-alb"))
    if internal is not None:
        picture.boxes.append(
            Box(
                "internal-alb",
                ("internal ALB", internal, _ports(listeners_of(internal))),
                albs[internal][0],
                2,
                1,
            )
        )

    # Each ECS service, placed beside the ALB whose listeners forward to its target groups.
    target_groups_to_alb = {
        _arn_name(str(action.get("targetGroupArn", "")), "targetgroup"): _arn_name(
            str(lst["inputs"]["loadBalancerArn"]), "loadbalancer"
        )
        for lst in listeners
        for action in lst["inputs"].get("defaultActions", [])
    }
    services = sorted(
        _of_type(resources, "aws:ecs/service:Service"), key=lambda item: item[1]["inputs"]["name"]
    )
    service_alb: dict[str, str] = {}
    service_groups: dict[str, set[str]] = {}
    for _layer, service in services:
        name = service["inputs"]["name"]
        groups = {
            _arn_name(str(lb["targetGroupArn"]), "targetgroup")
            for lb in service["inputs"].get("loadBalancers", [])
        }
        service_groups[name] = groups
        service_alb[name] = next(
            (target_groups_to_alb[g] for g in sorted(groups) if g in target_groups_to_alb), ""
        )
    public_services = [n for n, alb in service_alb.items() if alb == public]
    for name in public_services:
        picture.boxes.append(Box(name, ("ECS service (Fargate)", name), "services", 3, 0))
        picture.arrows.append(
            Arrow("public-alb", name, _ports(_listeners_to(listeners, service_groups[name])))
        )

    # Callers reach callees by Cloud Map name, which is an alias of the internal ALB.
    calls: list[tuple[str, str, str]] = []  # (caller, callee, host:port)
    for _, task in _of_type(resources, "aws:ecs/taskDefinition:TaskDefinition"):
        env = _container_environment(task)
        caller = _service_named(service_alb, env.get("SERVICE_NAME", ""))
        for key, value in sorted(env.items()):
            match = URL.match(value)
            callee = None if match is None else _service_named(service_alb, match["host"].split(".", 1)[0])
            if key.endswith("_URL") and match and caller and callee:
                calls.append((caller, callee, f"{match['host']}:{match['port']}"))
    # An arrow names the callee's short host; the Cloud Map box lists the full names.
    # Internal services in call order: the public service's callees first, then theirs.
    ordered: list[str] = []
    frontier = list(public_services)
    while frontier:
        frontier = sorted({callee for caller, callee, _ in calls if caller in frontier} - set(ordered))
        ordered += frontier
    ordered += sorted(n for n in service_alb if n not in ordered and n not in public_services)
    # The first callee sits beside the internal ALB, the next below it, and so on down column 3.
    for index, name in enumerate(ordered):
        picture.boxes.append(Box(name, ("ECS service (Fargate)", name), "services", 3, 1 + index))
        if internal is not None:
            ports = _ports(_listeners_to(listeners, service_groups[name]))
            picture.arrows.append(Arrow("internal-alb", name, ports))
    if internal is not None:
        for caller, _, target in calls:
            host, port = target.rsplit(":", 1)
            picture.arrows.append(Arrow(caller, "internal-alb", f"{host.split('.', 1)[0]}:{port}"))
    namespaces = [
        r["inputs"]["name"]
        for _, r in _of_type(resources, "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace")
    ]
    if namespaces:
        names = sorted({target.rsplit(":", 1)[0] for _, _, target in calls}) or [f"*.{namespaces[0]}"]
        picture.boxes.append(Box("cloud-map", ("Cloud Map private DNS", *names), "platform", 1, 1))
        if internal is not None:
            picture.arrows.append(Arrow("cloud-map", "internal-alb", "alias", dashed=True))

    vpcs = _of_type(resources, "aws:ec2/vpc:Vpc")
    if vpcs:
        layer, vpc = vpcs[0]
        subnets = len(_of_type(resources, "aws:ec2/subnet:Subnet"))
        flow_logs = [r for _, r in _of_type(resources, "aws:cloudwatch/logGroup:LogGroup")
                     if str(r["inputs"].get("name", "")).startswith("/vpc/")]  # fmt: skip
        lines = [
            f"VPC {vpc['inputs'].get('cidrBlock', '')}".strip(),
            f"{subnets} subnets (public and private)",
        ]
        if flow_logs:
            lines.append(f"flow logs to {flow_logs[0]['inputs']['name']}")
        picture.boxes.append(Box("vpc", tuple(lines), layer, 0, 1))
    clusters = _of_type(resources, "aws:ecs/cluster:Cluster")
    if clusters:
        layer, cluster = clusters[0]
        keys = [r for _, r in _of_type(resources, "aws:kms/key:Key")]
        lines = ["ECS cluster (Fargate)", str(cluster["inputs"].get("name", cluster["name"]))]
        lines.append(f"{len(keys)} KMS keys in all layers, rotating")
        picture.boxes.append(Box("cluster", tuple(lines), layer, 0, 3))
    nat_gateways = _of_type(resources, "aws:ec2/natGateway:NatGateway")
    if nat_gateways:
        count = len(nat_gateways)
        picture.boxes.append(
            Box(
                "nat",
                ("NAT gateway" + ("s" if count > 1 else ""), f"{count} in public subnets"),
                "network",
                4,
                2,
            )
        )
        picture.boxes.append(
            Box("aws-apis", ("AWS APIs", "ECR, Logs, Secrets Manager, KMS"), "outside", 4, 3)
        )
        picture.arrows.append(Arrow("nat", "aws-apis", "443"))
        if ordered:
            picture.arrows.append(Arrow(ordered[-1], "nat", "egress 443", dashed=True))

    functions = {
        r["inputs"]["name"]: layer for layer, r in _of_type(resources, "aws:lambda/function:Function")
    }
    deployment_groups = _of_type(resources, "aws:codedeploy/deploymentGroup:DeploymentGroup")
    if deployment_groups:
        picture.boxes.append(
            Box(
                "codedeploy",
                ("CodeDeploy blue/green", f"{len(deployment_groups)} deployment groups"),
                "services",
                1,
                2,
            )
        )
        if internal is not None:
            picture.arrows.append(Arrow("codedeploy", "internal-alb", "moves listeners", dashed=True))
    hooks = [
        (name, layer)
        for name, layer in sorted(functions.items())
        if "scan-gate" in name or "smoke-test" in name
    ]
    for index, (name, layer) in enumerate(hooks):
        role = "BeforeInstall" if "scan-gate" in name else "AfterAllowTestTraffic"
        picture.boxes.append(Box(name, (f"release hook: {role}", name), layer, 1 + index, 3))
        picture.arrows.append(Arrow("codedeploy", name))
        if "smoke-test" in name and internal is not None:
            picture.arrows.append(Arrow(name, "internal-alb", "test listeners", dashed=True))
    rotation = [(name, layer) for name, layer in sorted(functions.items()) if "rotation" in name]
    secrets = _of_type(resources, "aws:secretsmanager/secret:Secret")
    if rotation:
        name, layer = rotation[0]
        picture.boxes.append(Box(name, ("secret rotation", name, f"{len(secrets)} secrets"), layer, 0, 2))
    _database(picture, resources)
    topics = _of_type(resources, "aws:sns/topic:Topic")
    if topics:
        # Both alarm topics (page, ticket), sorted: the record's order is not the program's.
        layer = topics[0][0]
        names = sorted(str(topic["inputs"].get("name", topic["name"])) for _, topic in topics)
        picture.boxes.append(Box("alarms", ("alarm notifications", ", ".join(names)), layer, 3, 3))
    return picture


def _database(picture: Architecture, resources: list[tuple[str, dict[str, Any]]]) -> None:
    """The managed database beside the services, with an arrow from each service its group admits.

    A client's rule on the database's group is named `security-group-database-in-<client>-<suffix>`
    (stacks/services/security_chain.py); the rotation function's rule is left out of the picture.
    """
    instances = _of_type(resources, "aws:rds/instance:Instance")
    if not instances:
        return
    layer, instance = instances[0]
    inputs = instance["inputs"]
    deployment = "Multi-AZ" if inputs.get("multiAz") else "Single-AZ"
    lines = (
        f"RDS for PostgreSQL {inputs.get('engineVersion', '')}".strip(),
        str(inputs.get("identifier", instance["name"])),
        f"{inputs.get('instanceClass', '')}, {deployment}, TLS only",
    )
    picture.boxes.append(Box("database", lines, layer, 4, 1))
    services = {b.key for b in picture.boxes if b.lines and b.lines[0] == "ECS service (Fargate)"}
    for _, rule in _of_type(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        name = str(rule["name"])
        if not name.startswith(DATABASE_RULE):
            continue
        # ecs-service-<client>-<suffix> and security-group-database-in-<client>-<suffix>
        client = next(
            (
                s
                for s in sorted(services)
                if s.removeprefix("ecs-service-") == name.removeprefix(DATABASE_RULE)
            ),
            None,
        )
        if client is not None:
            picture.arrows.append(Arrow(client, "database", f"{int(rule['inputs']['fromPort'])} TLS"))


def _anchor(box: Box, towards: Box) -> tuple[float, float]:
    """Where a line from `box` towards `towards` leaves its border (centre-to-centre, clipped)."""
    cx, cy = box.x + BOX_WIDTH / 2, box.y + BOX_HEIGHT / 2
    tx, ty = towards.x + BOX_WIDTH / 2, towards.y + BOX_HEIGHT / 2
    dx, dy = tx - cx, ty - cy
    if dx == 0 and dy == 0:
        return cx, cy
    scale = min(
        (BOX_WIDTH / 2) / abs(dx) if dx else float("inf"),
        (BOX_HEIGHT / 2) / abs(dy) if dy else float("inf"),
    )
    return round(cx + dx * scale, 1), round(cy + dy * scale, 1)


def render_svg(picture: Architecture, title: str) -> str:
    width = COLUMNS[-1] + BOX_WIDTH + 30
    height = ROWS[-1] + BOX_HEIGHT + 80
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#374151"/></marker></defs>',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="30" y="32" font-size="16" font-weight="bold">{escape(title)}</text>',
    ]
    pairs = {(arrow.source, arrow.target) for arrow in picture.arrows}
    # Sorted: resources register in no fixed order, and the bytes must not depend on it.
    for arrow in sorted(picture.arrows, key=lambda a: (a.source, a.target, a.label)):
        source, target = picture.box(arrow.source), picture.box(arrow.target)
        x1, y1 = _anchor(source, target)
        x2, y2 = _anchor(target, source)
        nx = ny = 0.0
        if (arrow.target, arrow.source) in pairs:  # two opposite arrows: draw them side by side
            length = max(((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5, 1.0)
            nx, ny = -(y2 - y1) / length * PARALLEL_OFFSET, (x2 - x1) / length * PARALLEL_OFFSET
            x1, y1, x2, y2 = (round(x1 + nx, 1), round(y1 + ny, 1), round(x2 + nx, 1), round(y2 + ny, 1))
        dash = ' stroke-dasharray="5,4"' if arrow.dashed else ""
        out.append(
            f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#374151" stroke-width="1.4"{dash} '
            'marker-end="url(#arrow)"/>'
        )
        if arrow.label:
            # A label sits beside its line, on the far side from an opposite arrow's.
            below = ny > 0 or (ny == 0 and nx < 0)
            mx, my = round((x1 + x2) / 2 + nx, 1), round((y1 + y2) / 2 + (14 if below else -5), 1)
            out.append(
                f'<text x="{mx}" y="{my}" text-anchor="middle" fill="#1f2937">{escape(arrow.label)}</text>'
            )
    for box in sorted(picture.boxes, key=lambda b: (b.row, b.column, b.key)):
        out.append(
            f'<rect x="{box.x}" y="{box.y}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="6" '
            f'fill="{LAYER_COLOURS[box.layer]}" stroke="#4b5563"/>'
        )
        first = box.y + BOX_HEIGHT / 2 - (len(box.lines) - 1) * 7.5 + 4
        for index, line in enumerate(box.lines):
            weight = ' font-weight="bold"' if index == 0 else ""
            out.append(
                f'<text x="{box.x + BOX_WIDTH / 2}" y="{first + index * 15}" text-anchor="middle"{weight}>'
                f"{escape(line)}</text>"
            )
    legend_y = height - 30
    for index, (layer, colour) in enumerate(LAYER_COLOURS.items()):
        x = 30 + index * 150
        out.append(
            f'<rect x="{x}" y="{legend_y - 11}" width="14" height="14" fill="{colour}" stroke="#4b5563"/>'
        )
        label = "outside the stacks" if layer == "outside" else f"{layer} layer"
        out.append(f'<text x="{x + 20}" y="{legend_y}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def svg_of(report: Mapping[str, Any]) -> str:
    return render_svg(read(report), f"Payment platform, stack {report['stack']}: traffic and release paths")


def example_report(stack: str = "dev") -> dict[str, Any]:
    """The plan of the example stacks, as `planning.plan` writes it (without cost and timings)."""
    from offline.layers import evaluate_all
    from planning.plan import available_layers, layer_report

    layers = available_layers()
    results = evaluate_all(stack=stack, layers=layers)
    return {"stack": stack, "layers": [layer_report(name, results[name], 0.0) for name in layers]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--out", type=Path, default=COMMITTED_COPY, help="where to write the SVG")
    args = parser.parse_args(argv)
    args.out.write_text(svg_of(example_report()))
    print(f"architecture picture written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
