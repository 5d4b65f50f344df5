# SPDX-License-Identifier: Apache-2.0
"""Imports a module that is not installed."""
import no_such_module_xyz  # noqa: F401


def register(session):
    pass
