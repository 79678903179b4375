// SPDX-License-Identifier: Apache-2.0
// The status pipe: what a daemon process tells the httpd parent about itself, on descriptor
// kStatusFd, in fixed 8-byte records (docs/protocol.md, "Status pipe"): that it is ready, that it
// wants to be replaced (recycled), and why it is about to end. The parent trusts none of it for
// security decisions (tenant code can write to the descriptor): the records only steer
// supervision of the writer's own process and name causes in logs. Pure: no syscalls, no httpd;
// the encoder allocates nothing, so a signal handler may use it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace wsgid::protocol {

/// The write end of the status pipe is always inherited on this descriptor.
inline constexpr int kStatusFd = 5;

/// Bytes of one record: small enough that one write() is atomic on a pipe (PIPE_BUF), fixed so
/// the reader needs no framing.
inline constexpr std::size_t kStatusRecordBytes = 8;

/// First byte of every record: a marker and format version in one (a daemon that writes garbage
/// to the descriptor is caught at its first record).
inline constexpr std::uint8_t kStatusMarker = 0xD1;

/// What a record says.
enum class StatusType : std::uint8_t {
    Ready = 1,        ///< the daemon serves requests (sent once, after its server started)
    Recycle = 2,      ///< replace me: start a new process, then tell me to stop (reason)
    Exiting = 3,      ///< the daemon is about to exit with status `value` (reason)
    AppExit = 4,      ///< application code ended the process with _exit(value)/exit(value)
    FatalSignal = 5,  ///< the daemon is dying of signal `value` (SIGSEGV, SIGABRT, ...)
};

/// Why a daemon asks to be recycled or ends.
enum class StopReason : std::uint8_t {
    None = 0,
    Signal = 1,             ///< SIGTERM/SIGINT: httpd restarts or stops, or an operator
    MaximumRequests = 2,    ///< maximum-requests reached
    RestartInterval = 3,    ///< restart-interval passed
    InactivityTimeout = 4,  ///< idle for inactivity-timeout
    MaximumMemory = 5,      ///< resident set size above maximum-memory
    CpuTimeLimit = 6,       ///< cpu-time-limit used up (SIGXCPU)
    Evicted = 7,            ///< SIGUSR1: an operator asked for a graceful replacement
    RequestTimeout = 8,     ///< a request overran request-timeout and its thread never let go
    DeadlockTimeout = 9,    ///< the GIL was held longer than deadlock-timeout
    StartupTimeout = 10,    ///< the script did not load within startup-timeout
    LostThread = 11,        ///< a server thread failed for good
    StartupFailure = 12,    ///< the daemon could not start (kExitStartupFailure)
};

/// The highest StopReason value a record may carry.
inline constexpr std::uint8_t kMaxStopReason = 12;

/// FatalSignal flag: the process may write a core dump (RLIMIT_CORE is not 0 and it is
/// dumpable); whether one is written depends on the system's core_pattern.
inline constexpr std::uint8_t kStatusCoreDumpPossible = 0x01;

/// One decoded record.
struct StatusRecord {
    StatusType type = StatusType::Ready;
    StopReason reason = StopReason::None;
    std::uint8_t flags = 0;
    std::int32_t value = 0;

    friend bool operator==(const StatusRecord&, const StatusRecord&) = default;
};

/// The record's bytes: marker, type, reason, flags, value (i32 little-endian). No allocation.
std::array<char, kStatusRecordBytes> encodeStatus(const StatusRecord& record) noexcept;

/// Decodes one record of exactly kStatusRecordBytes bytes; std::nullopt when it is not a valid
/// record (wrong marker, unknown type or reason, unknown flags).
std::optional<StatusRecord> decodeStatus(std::string_view bytes) noexcept;

/// The exit status a daemon process really uses for `status`. httpd's MPMs shut the whole server
/// down when any child of the parent exits with APEXIT_CHILDFATAL (15), and slow their own
/// spawning on APEXIT_CHILDSICK (7); a daemon must never do that to httpd, whatever application
/// code passes to _exit(). Those two become 1; the status pipe still carries the status the code
/// asked for, and the parent matches the two with this function.
int httpdSafeExitStatus(int status) noexcept;

/// "maximum-requests", "inactivity-timeout", ...: the option or event a reason names.
std::string_view toString(StopReason reason) noexcept;

}  // namespace wsgid::protocol
