# SPDX-License-Identifier: Apache-2.0
"""Answers test.py.ping with its data and process id: the plugin the others must not disturb."""
import os


def register(session):
    session.event_hub.subscribe(
        "topic=test.py.ping", lambda event: {"pong": event["data"], "pid": os.getpid()}
    )
