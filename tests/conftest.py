from __future__ import annotations

import pytest

from offline.engine import Evaluation
from offline.layers import evaluate_layer


@pytest.fixture(scope="session")
def network() -> Evaluation:
    """The network layer with its example dev stack (single NAT)."""
    return evaluate_layer("network")


@pytest.fixture(scope="session")
def network_ha() -> Evaluation:
    """The network layer with the HA defaults, another suffix and interface endpoints on."""
    return evaluate_layer(
        "network",
        config={"environmentSuffix": "qa-7", "natGateways": "perAz", "interfaceEndpoints": True},
    )
