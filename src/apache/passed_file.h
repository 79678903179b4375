// SPDX-License-Identifier: Apache-2.0
// The module's checks of a descriptor that a daemon passed with a File frame. A daemon runs
// tenant code, so the descriptor is untrusted: only a readable regular file, whose size at the
// time of the check covers the range, on a file system whose reads its owner cannot stall, is
// ever given to httpd. No httpd calls (unit-tested with real descriptors).
#pragma once

#include "common/status.h"
#include "protocol/response.h"

namespace wsgid::apache {

/// Checks `fd` for the File frame `range`: open for reading (not O_PATH, not write-only), a
/// regular file (fstat S_ISREG: no FIFO, socket, device or directory, whose reads could block
/// or never end), `range.offset + range.length` within its size now, and not on a FUSE file
/// system (a tenant can mount one, and its reads then wait for the tenant's process, with no
/// timeout httpd could apply). A ProtocolError says what is wrong, for the log. The file may
/// still shrink after the check: httpd then sends fewer bytes and the response ends aborted
/// (docs/security.md "Descriptors from daemons").
common::Status checkPassedFile(int fd, const protocol::ResponseFile& range) noexcept;

}  // namespace wsgid::apache
