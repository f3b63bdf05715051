"""Evaluate the platform's Pulumi programs in-process: for the tests and the offline plan."""

from offline.engine import Evaluation, OfflineTimeoutError, RecordedResource, evaluate

__all__ = ["Evaluation", "OfflineTimeoutError", "RecordedResource", "evaluate"]
