"""The architecture picture, drawn from a plan: what the layers create and how traffic flows.

    python -m planning.diagram [--out docs/architecture.svg]     # the committed copy (`python3 dev.py docs`)

Everything shown is read from the plan, never written here. Each region of the picture has its own
reader: the edge (internet, WAF, public ALB), the services (ECS services, the ALB and task port that
reach each, the internal ALB and the Cloud Map names callers use), the network (VPC, flow logs),
egress (each service's outbound rules, and whether they leave through interface endpoints or NAT),
the platform (cluster, keys, secret rotation, the alarm topic), the release (CodeDeploy and its
hooks) and the database. Roles come from the layers' exports (`shared.contracts`: the services'
names, the release hooks, the Cloud Map names, the database's security group) and from resource
inputs, never from parts of names. The layout is a fixed grid, labels are placed where nothing
crosses them (`planning.diagram_geometry`), and the output is plain SVG with no timestamps, so the
same plan always gives the same bytes and a test can tell a stale copy.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from planning import diagram_geometry as geometry
from shared.catalogue import SERVICE_NAME_ENV
from shared.contracts import NetworkExports, PlatformExports, ServicesExports
from shared.network_constants import HTTPS_PORT

REPO_ROOT = Path(__file__).resolve().parents[1]
COMMITTED_COPY = REPO_ROOT / "docs" / "architecture.svg"

LAYER_COLOURS = {"network": "#dbeafe", "platform": "#dcfce7", "services": "#fef3c7", "outside": "#f3f4f6"}
BOX_WIDTH, BOX_HEIGHT = geometry.BOX_WIDTH, geometry.BOX_HEIGHT
COLUMNS, ROWS = geometry.COLUMNS, geometry.ROWS
URL = re.compile(r"^https?://(?P<host>[a-z0-9.-]+):(?P<port>\d+)")
SERVICE_BOX = "ECS service (Fargate)"
ANYWHERE = "0.0.0.0/0"
# What tasks call on AWS at start and run time (stacks/network/endpoints.py carries it off NAT).
AWS_APIS = "ECR, Logs, Secrets Manager, KMS"


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

    @property
    def rect(self) -> geometry.Rect:
        return geometry.box_rect(self.column, self.row)


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

    def has(self, key: str) -> bool:
        return any(b.key == key for b in self.boxes)


@dataclass(frozen=True)
class Plan:
    """A plan report's resources and exports, with the look-ups the region readers share."""

    resources: tuple[tuple[str, dict[str, Any]], ...]
    exports: Mapping[str, Mapping[str, Any]]  # layer -> its exports

    @classmethod
    def of(cls, report: Mapping[str, Any]) -> Plan:
        return cls(
            tuple((layer["layer"], r) for layer in report["layers"] for r in layer["resources"]),
            {layer["layer"]: layer.get("exports", {}) for layer in report["layers"]},
        )

    def all(self, type_: str) -> list[tuple[str, dict[str, Any]]]:
        return [(layer, r) for layer, r in self.resources if r["type"] == type_]

    def export(self, layer: str, key: str, default: Any = None) -> Any:
        return self.exports.get(layer, {}).get(key, default)


@dataclass(frozen=True)
class Service:
    """One ECS service as the plan has it."""

    name: str  # the catalogue name (api-gateway)
    physical: str  # the ECS service name, the box's key
    groups: frozenset[str]  # its tasks' security group ids
    target_groups: frozenset[str]  # names of the target groups it registers in
    task_port: int  # the container port its target groups send to
    alb: str  # the name of the load balancer in front of it, "" if none


def _arn_name(arn: str, kind: str) -> str:
    """`.../loadbalancer/app/<name>/<id>` or `.../targetgroup/<name>/<id>` -> name."""
    marker = f"{kind}/app/" if kind == "loadbalancer" else f"{kind}/"
    return arn.split(marker, 1)[1].split("/", 1)[0] if marker in arn else arn


def _function_name(arn: str) -> str:
    """`arn:aws:lambda:<region>:<account>:function:<name>` -> name."""
    return arn.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in arn else arn


def _container_environment(task_definition: dict[str, Any]) -> dict[str, str]:
    containers = task_definition["inputs"].get("containerDefinitions") or "[]"
    parsed = json.loads(containers) if isinstance(containers, str) else containers
    return {e["name"]: e["value"] for c in parsed for e in c.get("environment", [])}


def _ports(listeners: Sequence[dict[str, Any]]) -> str:
    """Listener ports grouped by protocol: `80, 8080 HTTP` or `443 HTTPS; 80 HTTP`."""
    by_protocol: dict[str, list[str]] = {}
    for listener in sorted(listeners, key=lambda lst: int(lst["inputs"]["port"])):
        protocol = str(listener["inputs"].get("protocol", ""))
        by_protocol.setdefault(protocol, []).append(str(int(listener["inputs"]["port"])))
    return "; ".join(f"{', '.join(ports)} {protocol}" for protocol, ports in sorted(by_protocol.items()))


class Reader:
    """Reads the picture region by region; each `_region` method adds its boxes and arrows."""

    def __init__(self, report: Mapping[str, Any]) -> None:
        self.plan = Plan.of(report)
        self.picture = Architecture()
        self.listeners = [r for _, r in self.plan.all("aws:lb/listener:Listener")]
        self.albs = {
            r["inputs"]["name"]: (layer, r) for layer, r in self.plan.all("aws:lb/loadBalancer:LoadBalancer")
        }
        self.public_alb = next(
            (n for n, (_, r) in sorted(self.albs.items()) if not r["inputs"].get("internal")), ""
        )
        self.internal_alb = next(
            (n for n, (_, r) in sorted(self.albs.items()) if r["inputs"].get("internal")), ""
        )
        self.services = self._services()
        self.calls: list[tuple[str, str, str]] = []  # (caller, callee, host:port), by catalogue name

    def read(self) -> Architecture:
        self._edge()
        self._service_region()
        self._network()
        self._egress()
        self._platform()
        self._release()
        self._database()
        return self.picture

    def _add(self, box: Box) -> None:
        self.picture.boxes.append(box)

    def _arrow(self, source: str, target: str, label: str = "", *, dashed: bool = False) -> None:
        self.picture.arrows.append(Arrow(source, target, label, dashed))

    def _listeners_of(self, alb: str) -> list[dict[str, Any]]:
        return [
            lst
            for lst in self.listeners
            if _arn_name(str(lst["inputs"]["loadBalancerArn"]), "loadbalancer") == alb
        ]

    # -- the ECS services, by catalogue name, from the services layer's `serviceNames` export
    def _services(self) -> dict[str, Service]:
        target_group_alb = {
            _arn_name(str(action.get("targetGroupArn", "")), "targetgroup"): _arn_name(
                str(lst["inputs"]["loadBalancerArn"]), "loadbalancer"
            )
            for lst in self.listeners
            for action in lst["inputs"].get("defaultActions", [])
        }
        by_physical = {r["inputs"]["name"]: r for _, r in self.plan.all("aws:ecs/service:Service")}
        names: Mapping[str, str] = self.plan.export("services", ServicesExports.SERVICE_NAMES, {})
        found = {}
        for name, physical in sorted(names.items()):
            inputs = by_physical[physical]["inputs"]
            balancers = inputs.get("loadBalancers", [])
            groups = frozenset(_arn_name(str(lb["targetGroupArn"]), "targetgroup") for lb in balancers)
            found[name] = Service(
                name=name,
                physical=physical,
                groups=frozenset((inputs.get("networkConfiguration") or {}).get("securityGroups", [])),
                target_groups=groups,
                task_port=int(balancers[0]["containerPort"]) if balancers else 0,
                alb=next((target_group_alb[g] for g in sorted(groups) if g in target_group_alb), ""),
            )
        return found

    # -- the edge: internet, WAF, the public ALB (and the internal ALB's box)
    def _edge(self) -> None:
        self._add(Box("internet", ("internet",), "outside", 0, 0))
        source = "internet"
        webacls = self.plan.all("aws:wafv2/webAcl:WebAcl")
        if webacls:
            layer, acl = webacls[0]
            self._add(Box("waf", ("AWS WAF", str(acl["inputs"].get("name", acl["name"]))), layer, 1, 0))
            self._arrow("internet", "waf")
            source = "waf"
        if self.public_alb:
            ports = _ports(self._listeners_of(self.public_alb))
            self._add(
                Box("public-alb", ("public ALB", self.public_alb, ports), self.albs[self.public_alb][0], 2, 0)
            )
            self._arrow(source, "public-alb")
        if self.internal_alb:
            ports = _ports(self._listeners_of(self.internal_alb))
            layer = self.albs[self.internal_alb][0]
            self._add(Box("internal-alb", ("internal ALB", self.internal_alb, ports), layer, 2, 1))

    # -- the services: each beside the ALB in front of it, reached on its task port; who calls whom
    def _service_region(self) -> None:
        public = [s for s in self.services.values() if s.alb and s.alb == self.public_alb]
        for row, service in enumerate(public):
            self._add(Box(service.physical, (SERVICE_BOX, service.physical), "services", 3, row))
            self._arrow("public-alb", service.physical, str(service.task_port))
        self.calls = self._calls()
        # Internal services in call order: the public services' callees first, then theirs.
        ordered: list[str] = []
        frontier = [s.name for s in public]
        while frontier:
            frontier = sorted(
                {callee for caller, callee, _ in self.calls if caller in frontier} - set(ordered)
            )
            ordered += frontier
        ordered += sorted(n for n in self.services if n not in ordered and self.services[n] not in public)
        first_row = max(1, len(public))  # the first callee sits beside the internal ALB
        for index, name in enumerate(ordered):
            service = self.services[name]
            self._add(
                Box(service.physical, (SERVICE_BOX, service.physical), "services", 3, first_row + index)
            )
            if self.internal_alb and service.alb == self.internal_alb:
                self._arrow("internal-alb", service.physical, str(service.task_port))
        if self.internal_alb:
            for caller, callee, target in self.calls:
                port = target.rsplit(":", 1)[1]
                self._arrow(self.services[caller].physical, "internal-alb", f"{callee}:{port}")
        namespace = self.plan.export("platform", PlatformExports.NAMESPACE_NAME)
        if self.plan.all("aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace"):
            names = sorted({target.rsplit(":", 1)[0] for _, _, target in self.calls}) or [f"*.{namespace}"]
            self._add(Box("cloud-map", ("Cloud Map private DNS", *names), "platform", 1, 1))
            if self.internal_alb:
                self._arrow("cloud-map", "internal-alb", "alias", dashed=True)

    def _calls(self) -> list[tuple[str, str, str]]:
        """Callers reach callees by Cloud Map name (the `internalDnsNames` export), from the
        `<CALLEE>_URL` variables of the caller's task definition."""
        dns_names: Mapping[str, str] = self.plan.export("services", ServicesExports.INTERNAL_DNS_NAMES, {})
        callee_of = {host: name for name, host in dns_names.items()}
        calls = []
        for _, task in self.plan.all("aws:ecs/taskDefinition:TaskDefinition"):
            env = _container_environment(task)
            caller = env.get(SERVICE_NAME_ENV, "")
            if caller not in self.services:
                continue
            for _key, value in sorted(env.items()):
                match = URL.match(value)
                if match and match["host"] in callee_of:
                    calls.append((caller, callee_of[match["host"]], f"{match['host']}:{match['port']}"))
        return sorted(calls)

    # -- the network: the VPC, its subnets and flow logs
    def _network(self) -> None:
        vpcs = self.plan.all("aws:ec2/vpc:Vpc")
        if not vpcs:
            return
        layer, vpc = vpcs[0]
        subnets = len(self.plan.all("aws:ec2/subnet:Subnet"))
        lines = [
            f"VPC {vpc['inputs'].get('cidrBlock', '')}".strip(),
            f"{subnets} subnets (public and private)",
        ]
        flow_logs = [r for _, r in self.plan.all("aws:ec2/flowLog:FlowLog")]
        if flow_logs:
            destination = str(flow_logs[0]["inputs"].get("logDestination", ""))
            lines.append(f"flow logs to {destination.split(':log-group:', 1)[-1]}")
        self._add(Box("vpc", tuple(lines), layer, 0, 1))

    # -- egress: every service's outbound HTTPS, through interface endpoints or NAT
    def _egress(self) -> None:
        """AWS API calls leave through the interface endpoints when the network has them, else
        through NAT; S3 (ECR's image layers) always takes the free gateway endpoint.

        Only an interface endpoint with private DNS takes the calls SDKs make to the service's
        default name: its private hosted zone resolves that name to the endpoint's interfaces (EC2
        API reference, CreateVpcEndpoint, PrivateDnsEnabled); without it the name resolves to the
        public addresses, which private subnets reach through NAT.
        """
        endpoints = [r for _, r in self.plan.all("aws:ec2/vpcEndpoint:VpcEndpoint")]
        # com.amazonaws.<region>.<service> -> <service> (ecr.api, s3)
        interface = sorted(
            ".".join(str(r["inputs"]["serviceName"]).split(".")[3:])
            for r in endpoints
            if r["inputs"].get("vpcEndpointType") == "Interface" and r["inputs"].get("privateDnsEnabled")
        )
        gateway = sorted(
            ".".join(str(r["inputs"]["serviceName"]).split(".")[3:])
            for r in endpoints
            if r["inputs"].get("vpcEndpointType") == "Gateway"
        )
        nat_gateways = self.plan.all("aws:ec2/natGateway:NatGateway")
        apis = [AWS_APIS]
        if gateway:
            apis.append(f"{', '.join(g.upper() for g in gateway)} through its gateway endpoint")
        self._add(Box("aws-apis", ("AWS APIs", *apis), "outside", 4, 3))
        if nat_gateways:
            count = len(nat_gateways)
            lines = ["NAT gateway" + ("s" if count > 1 else ""), f"{count} in public subnets"]
            if interface:
                lines.append("other outbound traffic")
            self._add(Box("nat", tuple(lines), "network", 4, 0 if interface else 2))
        way_out = "nat" if nat_gateways else ""
        if interface:
            lines = ["VPC interface endpoints", ", ".join(interface[:3]) + ",", ", ".join(interface[3:])]
            self._add(Box("endpoints", tuple(line for line in lines if line), "network", 4, 2))
            way_out = "endpoints"
        if not way_out:
            return
        self._arrow(way_out, "aws-apis", str(HTTPS_PORT))
        rules = [
            r["inputs"] for _, r in self.plan.all("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        ]
        for service in self.services.values():
            ports = sorted(
                {
                    int(rule["fromPort"])
                    for rule in rules
                    if rule.get("securityGroupId") in service.groups and rule.get("cidrIpv4") == ANYWHERE
                }
            )
            if ports:
                self._arrow(service.physical, way_out, ", ".join(str(p) for p in ports), dashed=True)

    # -- the platform: cluster and keys, secret rotation, the alarm topic
    def _platform(self) -> None:
        clusters = self.plan.all("aws:ecs/cluster:Cluster")
        if clusters:
            layer, cluster = clusters[0]
            keys = len(self.plan.all("aws:kms/key:Key"))
            lines = ("ECS cluster (Fargate)", str(cluster["inputs"].get("name", cluster["name"])),
                     f"{keys} KMS keys in all layers, rotating")  # fmt: skip
            self._add(Box("cluster", lines, layer, 0, 3))
        rotations = self.plan.all("aws:secretsmanager/secretRotation:SecretRotation")
        if rotations:
            layer, rotation = rotations[0]
            name = _function_name(str(rotation["inputs"]["rotationLambdaArn"]))
            secrets = len(self.plan.all("aws:secretsmanager/secret:Secret"))
            self._add(
                Box(name, ("secret rotation", name, f"{len(rotations)} of {secrets} secrets"), layer, 0, 2)
            )
        # The paging and the ticket topic, by the exports that name them, in a fixed order.
        arns = [
            str(self.plan.export("network", export, ""))
            for export in (NetworkExports.ALARM_TOPIC_ARN, NetworkExports.TICKET_TOPIC_ARN)
        ]
        topics = [
            (layer, t)
            for layer, t in self.plan.all("aws:sns/topic:Topic")
            if any(arn and arn.endswith(f":{t['inputs'].get('name')}") for arn in arns)
        ]
        if topics:
            names = ", ".join(sorted(str(topic["inputs"]["name"]) for _, topic in topics))
            self._add(Box("alarms", ("alarm notifications", names), topics[0][0], 3, 3))

    # -- the release: CodeDeploy and the hooks the `releaseHooks` export names
    def _release(self) -> None:
        groups = self.plan.all("aws:codedeploy/deploymentGroup:DeploymentGroup")
        if not groups:
            return
        self._add(
            Box("codedeploy", ("CodeDeploy blue/green", f"{len(groups)} deployment groups"), "services", 1, 2)
        )
        if self.internal_alb:
            self._arrow("codedeploy", "internal-alb", "moves listeners", dashed=True)
        hooks: Mapping[str, str] = self.plan.export("services", ServicesExports.RELEASE_HOOKS, {})
        layers = {r["inputs"]["name"]: layer for layer, r in self.plan.all("aws:lambda/function:Function")}
        # AppSpec runs the hooks in lifecycle order: BeforeInstall first (CodeDeploy user guide,
        # "AppSpec 'hooks' section for an Amazon ECS deployment").
        order = (
            "BeforeInstall",
            "AfterInstall",
            "AfterAllowTestTraffic",
            "BeforeAllowTraffic",
            "AfterAllowTraffic",
        )
        for index, event in enumerate(
            sorted(hooks, key=lambda e: order.index(e) if e in order else len(order))
        ):
            name = _function_name(str(hooks[event]))
            self._add(Box(name, (f"release hook: {event}", name), layers.get(name, "services"), 1 + index, 3))
            self._arrow("codedeploy", name)
            if event == "AfterAllowTestTraffic" and self.internal_alb:
                self._arrow(name, "internal-alb", "test listeners", dashed=True)

    # -- the database: the managed instance, with an arrow from each service its group admits
    def _database(self) -> None:
        instances = self.plan.all("aws:rds/instance:Instance")
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
        self._add(Box("database", lines, layer, 4, 1))
        database_group = self.plan.export("platform", PlatformExports.DATABASE_SECURITY_GROUP_ID)
        for _, rule in self.plan.all("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
            rule_inputs = rule["inputs"]
            if rule_inputs.get("securityGroupId") != database_group:
                continue
            for service in self.services.values():
                if rule_inputs.get("referencedSecurityGroupId") in service.groups:
                    self._arrow(service.physical, "database", f"{int(rule_inputs['fromPort'])} TLS")


def read(report: Mapping[str, Any]) -> Architecture:
    """The boxes and arrows of the picture, from a plan report (`planning.plan`'s JSON)."""
    return Reader(report).read()


def layout(picture: Architecture) -> tuple[list[tuple[Arrow, geometry.Segment]], list[geometry.Label]]:
    """Each arrow's line and each label's place. Sorted: resources register in no fixed order, and
    the bytes must not depend on it."""
    pairs = {(arrow.source, arrow.target) for arrow in picture.arrows}
    arrows = sorted(picture.arrows, key=lambda a: (a.source, a.target, a.label))
    lines = [
        (
            arrow,
            geometry.connect(
                picture.box(arrow.source).rect,
                picture.box(arrow.target).rect,
                # two opposite arrows: the second is drawn beside the first
                offset=(arrow.target, arrow.source) in pairs and arrow.source > arrow.target,
            ),
        )
        for arrow in arrows
    ]
    boxes = [box.rect for box in picture.boxes]
    segments = [line for _, line in lines]
    labels: list[geometry.Label] = []
    for arrow, line in lines:
        if arrow.label:
            labels.append(geometry.place_label(arrow.label, line, segments, boxes, labels))
    return lines, labels


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
    lines, labels = layout(picture)
    for arrow, line in lines:
        dash = ' stroke-dasharray="5,4"' if arrow.dashed else ""
        out.append(
            f'<line x1="{line.x1}" y1="{line.y1}" x2="{line.x2}" y2="{line.y2}" stroke="#374151" '
            f'stroke-width="1.4"{dash} marker-end="url(#arrow)"/>'
        )
    for label in labels:
        out.append(
            f'<text x="{label.x}" y="{label.baseline}" text-anchor="middle" fill="#1f2937" class="label">'
            f"{escape(label.text)}</text>"
        )
    for box in sorted(picture.boxes, key=lambda b: (b.row, b.column, b.key)):
        out.append(
            f'<rect x="{box.x}" y="{box.y}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="6" '
            f'fill="{LAYER_COLOURS[box.layer]}" stroke="#4b5563"/>'
        )
        first = box.y + BOX_HEIGHT / 2 - (len(box.lines) - 1) * 7.5 + 4
        for index, text in enumerate(box.lines):
            weight = ' font-weight="bold"' if index == 0 else ""
            out.append(
                f'<text x="{box.x + BOX_WIDTH / 2}" y="{first + index * 15}" text-anchor="middle"{weight}>'
                f"{escape(text)}</text>"
            )
    legend_y = height - 30
    for index, (layer, colour) in enumerate(LAYER_COLOURS.items()):
        x = 30 + index * 150
        out.append(
            f'<rect x="{x}" y="{legend_y - 11}" width="14" height="14" fill="{colour}" stroke="#4b5563"/>'
        )
        legend = "outside the stacks" if layer == "outside" else f"{layer} layer"
        out.append(f'<text x="{x + 20}" y="{legend_y}">{legend}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def title_of(report: Mapping[str, Any]) -> str:
    """The stack, and the suffix every name ends in when it is not the stack's name (`--suffix`)."""
    stack = str(report["stack"])
    suffix = str(report.get("environmentSuffix") or stack)
    which = f"stack {stack}" if suffix == stack else f"environment {suffix} (stack {stack}'s config)"
    return f"Payment platform, {which}: traffic and release paths"


def svg_of(report: Mapping[str, Any]) -> str:
    return render_svg(read(report), title_of(report))


def example_report(stack: str = "dev") -> dict[str, Any]:
    """The plan of the example stacks, as `planning.plan` writes it (without cost and timings)."""
    from offline.layer_projects import evaluate_all
    from planning.plan import available_layers, layer_report, suffix_of

    layers = available_layers()
    results = evaluate_all(stack=stack, layers=layers)
    return {
        "stack": stack,
        "environmentSuffix": suffix_of(layers[0], stack, []),
        "layers": [layer_report(name, results[name], 0.0) for name in layers],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--out", type=Path, default=COMMITTED_COPY, help="where to write the SVG")
    args = parser.parse_args(argv)
    args.out.write_text(svg_of(example_report()))
    print(f"architecture picture written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
