# SPDX-License-Identifier: Apache-2.0
# Records every initialize() call, so the app can show what the daemon passed and when.
CALLS = []


def initialize(config_file=None, environment=None, *args, **kwargs):
    CALLS.append([config_file, environment, list(args), sorted(kwargs)])
