# SPDX-License-Identifier: Apache-2.0
"""The benchmark driver's parts (scripts/bench/bench.py is the command; docs/performance.md)."""
