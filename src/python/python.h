// SPDX-License-Identifier: Apache-2.0
// The single include point for CPython's headers. Always the first include of a python/ file
// (Python.h must come before any standard header, and PY_SSIZE_T_CLEAN before Python.h).
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>
