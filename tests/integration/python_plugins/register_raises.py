# SPDX-License-Identifier: Apache-2.0
"""Its register raises: the instance is refused."""


def register(session):
    raise RuntimeError("no database configured")
