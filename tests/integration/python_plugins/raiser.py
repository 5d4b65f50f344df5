# SPDX-License-Identifier: Apache-2.0
"""Raises in its handler: a failed attempt, retried, then dead-lettered by the host."""


def register(session):
    def fail(event):
        raise ValueError("asked to raise (attempt %d)" % event.attempt)

    session.event_hub.subscribe("topic=test.py.raise", fail)
