# SPDX-License-Identifier: Apache-2.0
# WSGID_CHECK_CXX20: fail unless $CXX compiles C++20 (concepts and std::span) with -std=c++20.
AC_DEFUN([WSGID_CHECK_CXX20], [
    AC_MSG_CHECKING([whether $CXX supports -std=c++20])
    wsgid_save_CXXFLAGS="$CXXFLAGS"
    CXXFLAGS="$CXXFLAGS -std=c++20"
    AC_COMPILE_IFELSE([AC_LANG_PROGRAM([[#include <span>
template <typename T> concept Small = sizeof(T) < 16;]], [[std::span<int> s; return Small<int> ? 0 : (int)s.size();]])],
        [AC_MSG_RESULT([yes])],
        [AC_MSG_RESULT([no]); AC_MSG_ERROR([a C++20 compiler is required (g++ 12 or clang++ 14)])])
    CXXFLAGS="$wsgid_save_CXXFLAGS"
])
