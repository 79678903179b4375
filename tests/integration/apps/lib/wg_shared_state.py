# SPDX-License-Identifier: Apache-2.0
# A module imported by the counter apps (through python-path=): one copy per interpreter.
counter = 0


def bump():
    global counter
    counter += 1
    return counter
