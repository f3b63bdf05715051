"""Typed, validated stack configuration: one object per layer, loaded once in its `__main__.py`."""

from shared.config.common import CommonConfig
from shared.config.network import NetworkConfig
from shared.config.platform import PlatformConfig
from shared.config.reader import ConfigReader
from shared.config.services import ServicesConfig

__all__ = ["CommonConfig", "ConfigReader", "NetworkConfig", "PlatformConfig", "ServicesConfig"]
