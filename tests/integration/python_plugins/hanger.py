# SPDX-License-Identifier: Apache-2.0
"""Never returns from its handler: killed at the deadline."""
import time


def register(session):
    session.event_hub.subscribe("topic=test.py.hang", lambda event: time.sleep(3600))
