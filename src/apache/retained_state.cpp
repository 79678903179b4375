// SPDX-License-Identifier: Apache-2.0
// The process manager's retained state (see retained_state.h): one heap object per httpd parent,
// reached through ap_retained_data.
#include "apache/retained_state.h"

#include "apache/httpd_includes.h"

namespace wsgid::apache {

namespace {

/// Key of the retained state. The version is part of the key because a graceful restart may load
/// a newer build of this module into a parent that still holds the old layout: bump it whenever
/// RetainedState (or a type it holds) changes.
constexpr const char* kRetainedKey = "mod_wsgid/process_manager/v4";

}  // namespace

RetainedState* RetainedState::get(bool create) {
    void* block = ap_retained_data_get(kRetainedKey);
    if (block == nullptr) {
        if (!create) {
            return nullptr;
        }
        // The block holds a pointer: the state itself is a C++ object on the heap.
        block =
            ap_retained_data_create(kRetainedKey,
                                    sizeof(RetainedState*));  // NOLINT(bugprone-sizeof-expression)
    }
    auto** state = static_cast<RetainedState**>(block);
    if (*state == nullptr && create) {
        *state = new RetainedState();
    }
    return *state;
}

void RetainedState::drop() {
    if (void* block = ap_retained_data_get(kRetainedKey); block != nullptr) {
        auto** state = static_cast<RetainedState**>(block);
        if (*state != nullptr) {
            DeathRecords::unmap((*state)->deaths);
        }
        delete *state;
        *state = nullptr;
    }
}

}  // namespace wsgid::apache
