# SPDX-License-Identifier: Apache-2.0
"""Ends its process in the handler: the runner is restarted, the event retried."""
import os


def register(session):
    session.event_hub.subscribe("topic=test.py.crash", lambda event: os._exit(3))
