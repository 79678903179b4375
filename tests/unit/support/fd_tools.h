// SPDX-License-Identifier: Apache-2.0
// Descriptor tools for tests and fuzz targets: reading a file range back, sending any number of
// descriptors in one message (what a hostile daemon may), counting this process's open
// descriptors (to prove none leaked). No gtest, httpd, APR or Python: the fuzz targets use it too.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <dirent.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/unique_fd.h"

namespace wsgid::testing {

/// Two connected AF_UNIX stream sockets, non-blocking and close-on-exec; both invalid when
/// socketpair() fails.
struct StreamPair {
    common::UniqueFd a;
    common::UniqueFd b;
};

inline StreamPair streamPair() {
    int fds[2] = {-1, -1};
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) != 0) {
        return {};
    }
    return {common::UniqueFd(fds[0]), common::UniqueFd(fds[1])};
}

/// `length` bytes of `fd` from `offset` (pread: the file position is left alone); fewer when the
/// file ends first.
inline std::string readRange(int fd, std::uint64_t offset, std::uint64_t length) {
    std::string out(length, '\0');
    std::size_t done = 0;
    while (done < length) {
        const ssize_t n =
            ::pread(fd, out.data() + done, length - done, static_cast<off_t>(offset + done));
        if (n <= 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    out.resize(done);
    return out;
}

/// One sendmsg() of `bytes` with all of `fds` in one SCM_RIGHTS message: what sendmsg returned.
inline ssize_t sendDescriptors(int sock, std::string_view bytes, std::span<const int> fds) {
    std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
    iovec vec{.iov_base = const_cast<char*>(bytes.data()), .iov_len = bytes.size()};
    msghdr msg{};
    msg.msg_iov = &vec;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    ssize_t n = -1;
    do {
        n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
}

/// How many descriptors this process has open now.
inline int openDescriptorCount() {
    int count = 0;
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) {
        return -1;
    }
    while (const dirent* e = ::readdir(dir)) {
        if (e->d_name[0] != '.') {
            ++count;
        }
    }
    ::closedir(dir);
    return count - 1;  // opendir's own
}

}  // namespace wsgid::testing
