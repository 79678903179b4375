// SPDX-License-Identifier: Apache-2.0
// otherChildEnded(): the bookkeeping every APR "other child" callback of the module shares (the
// supervision waker, the log relay, retired daemons). Include after httpd_includes.h (this header
// needs the APR other-child API).
#pragma once

namespace wsgid::apache {

/// For an apr_proc_other_child callback whose registration `data` records in `registered`
/// whether it is still registered. On DEATH or LOST: unregisters it (once) and returns true, so
/// the caller reacts to the child's end. On UNREGISTER: notes that it is no longer registered.
/// Otherwise (RESTART, RUNNING): nothing. Returns false but for DEATH and LOST.
inline bool otherChildEnded(int reason, void* data, bool& registered) noexcept {
    switch (reason) {
        case APR_OC_REASON_DEATH:
        case APR_OC_REASON_LOST:
            if (registered) {
                registered = false;
                apr_proc_other_child_unregister(data);
            }
            return true;
        case APR_OC_REASON_UNREGISTER:
            registered = false;
            return false;
        default:
            return false;
    }
}

}  // namespace wsgid::apache
