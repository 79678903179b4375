# SPDX-License-Identifier: Apache-2.0
"""Integration harness for mod_wsgid: a real apache2 with a generated config (stdlib only)."""
