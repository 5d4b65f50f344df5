# SPDX-License-Identifier: Apache-2.0
"""register(session): ftrack's client passes the shared plugin arguments reduced to this
signature (test_py_plugins_arguments.sh)."""
import os


def register(session):
    got = {}

    def answer(event):
        return {"file": os.path.basename(__file__), "got": got}

    session.event_hub.subscribe("topic=test.py.args", answer)
