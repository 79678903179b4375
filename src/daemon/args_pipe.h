// SPDX-License-Identifier: Apache-2.0
// Reading the daemon's settings and secrets from the pipe the httpd parent filled before exec
// (protocol::kArgsFd). No httpd headers here.
#pragma once

#include <chrono>

#include "common/status.h"
#include "protocol/daemon_args.h"

namespace wsgid::daemon {

/// How long to wait for the pipe's end. The parent wrote everything and closed its end before
/// fork(), so the bytes and EOF are there at once; the bound only covers a daemon started by
/// hand with some other descriptor 4.
inline constexpr std::chrono::milliseconds kArgsReadTimeout = std::chrono::seconds(5);

/// Reads `fd` to EOF (at most protocol::kMaxDaemonArgsBytes), closes it and decodes the record.
/// The bytes, secrets included, are wiped from the read buffer before returning.
common::Result<protocol::DaemonArgs> readDaemonArgs(int fd) noexcept;

}  // namespace wsgid::daemon
