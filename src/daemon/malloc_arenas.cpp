// SPDX-License-Identifier: Apache-2.0
// The daemon's malloc arena limit (see malloc_arenas.h).
#include "daemon/malloc_arenas.h"

#include <malloc.h>

namespace wsgid::daemon {

bool limitMallocArenas() noexcept {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): called before any thread starts
    return ::mallopt(M_ARENA_MAX, kMallocArenas) == 1;
}

}  // namespace wsgid::daemon
