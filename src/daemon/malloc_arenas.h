// SPDX-License-Identifier: Apache-2.0
// How many glibc malloc arenas the daemon's threads share. glibc gives a thread that finds the
// existing arenas locked an arena of its own, up to eight per core, and every arena keeps its
// own free memory and fragments resident. A daemon has two threads per worker (the worker and
// its response writer) plus the I/O thread, so it ended up with one arena per thread: 3.3 MiB
// for a hello-world app at threads=15 (docs/performance.md, "Memory"). Its workers allocate
// mostly with the GIL held, one at a time, so sharing a few arenas costs them no waiting.
#pragma once

namespace wsgid::daemon {

/// Most malloc arenas in a daemon process. Two, not one: the I/O and writer threads allocate
/// without the GIL while a worker runs Python, and one shared arena would make them wait for it.
inline constexpr int kMallocArenas = 2;

/// mallopt(M_ARENA_MAX, kMallocArenas). Call before any thread starts. False when the allocator
/// does not take it (a sanitizer's malloc): the daemon then runs with the allocator's default.
bool limitMallocArenas() noexcept;

}  // namespace wsgid::daemon
