"""The network layer: VPC, subnets in 3 AZs, gateways, routes, flow logs and endpoints."""
