# SPDX-License-Identifier: Apache-2.0
"""Does not parse."""
def register(session)
    pass
