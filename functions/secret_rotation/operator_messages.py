"""Messages to operators through the environment's alarm topic (ALARM_TOPIC_ARN).

Never a secret value: a message names the secret, what happened and what to do.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import boto3

TOPIC_VARIABLE = "ALARM_TOPIC_ARN"
SUBJECT_LIMIT = 100  # SNS Publish: Subject is at most 100 characters

logger = logging.getLogger("secret_rotation")


class Notifier:
    def __init__(self, client: Any | None = None, topic_arn: str | None = None) -> None:
        self._topic_arn = topic_arn if topic_arn is not None else os.environ.get(TOPIC_VARIABLE, "")
        self._client = client

    def publish(self, subject: str, message: str) -> bool:
        """Publish, and log either way; never raise: a failed notice must not change a rotation's outcome.

        Returns whether the topic took the message.
        """
        logger.warning(json.dumps({"message": "notify", "subject": subject}))
        if not self._topic_arn:
            return False
        try:
            client = self._client or boto3.client("sns")
            client.publish(TopicArn=self._topic_arn, Subject=subject[:SUBJECT_LIMIT], Message=message)
        except Exception as error:  # botocore's errors and a missing region alike
            failure = {"message": "publishing failed", "subject": subject, "error": str(error)}
            logger.error(json.dumps(failure))
            return False
        return True
