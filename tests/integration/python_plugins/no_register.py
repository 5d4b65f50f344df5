# SPDX-License-Identifier: Apache-2.0
"""A helper module on the plugin path, with no register function."""
GREETING = "hello"
