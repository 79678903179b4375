# SPDX-License-Identifier: Apache-2.0
# Preloaded with WSGIImportScript: ends its daemon process before it is ready to serve.
import os

os._exit(3)
