# SPDX-License-Identifier: Apache-2.0
# A stand-in for the newrelic package (not in Debian): only what the daemon's bootstrap calls.
