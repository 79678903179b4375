// SPDX-License-Identifier: Apache-2.0
// DaemonArgs <-> the bytes of the kArgsFd pipe. Pure: no syscalls, no httpd, no Python.
//
// Layout (little-endian, codec.h strings): a u32 magic and a u8 format version, then the fields in
// the order of encodeDaemonArgs(). Optional numbers are a u8 presence flag and the value. Module
// and daemon are installed together, so the version only catches a stale daemon binary.
#include "protocol/daemon_args.h"

#include <array>
#include <charconv>
#include <system_error>

#include "protocol/codec.h"
#include "protocol/load_table.h"

namespace wsgid::protocol {

using common::ErrorCode;
using common::Result;
using common::Status;

namespace {

/// "WGDA" little-endian: a daemon given some other pipe fails with a clear message.
constexpr std::uint32_t kArgsMagic = 0x41444757;
/// 2: socket-timeout and queue-timeout; 3: the lifecycle block (DaemonLifecycle) at the end;
/// 4: the Python settings (PythonSettings) and the process tuning (cpu-priority,
/// stack-size, python-eggs) before it; 5: the socket buffer sizes after python-eggs;
/// 6: the <WSGIInterpreterOptions> sections at the end.
constexpr std::uint8_t kArgsFormat = 7;
/// Most list entries (secrets, groups, paths, preloads) in one record; far beyond real settings,
/// so a corrupt count cannot make the decoder allocate without bound.
constexpr std::uint32_t kMaxListEntries = 4096;

void optU32(ByteWriter& w, const std::optional<std::uint32_t>& v) {
    w.u8(v ? 1 : 0);
    w.u32(v.value_or(0));
}

bool readOptU32(ByteReader& r, std::optional<std::uint32_t>& v) noexcept {
    std::uint8_t present = 0;
    std::uint32_t value = 0;
    if (!r.u8(present) || !r.u32(value) || present > 1) {
        return false;
    }
    v.reset();
    if (present == 1) {
        v = value;
    }
    return true;
}

void strList(ByteWriter& w, const std::vector<std::string>& items) {
    w.u32(static_cast<std::uint32_t>(items.size()));
    for (const auto& s : items) {
        w.str(s);
    }
}

bool readStrList(ByteReader& r, std::vector<std::string>& items) {
    std::uint32_t n = 0;
    if (!r.u32(n) || n > kMaxListEntries) {
        return false;
    }
    items.clear();
    for (std::uint32_t i = 0; i < n; ++i) {
        std::string_view s;
        if (!r.str(s)) {
            return false;
        }
        items.emplace_back(s);
    }
    return true;
}

bool readStr(ByteReader& r, std::string& out) {
    std::string_view s;
    if (!r.str(s)) {
        return false;
    }
    out.assign(s);
    return true;
}

bool readInt(ByteReader& r, int& out) noexcept {
    std::uint32_t v = 0;
    if (!r.u32(v) || v > 0x7fffffffU) {
        return false;
    }
    out = static_cast<int>(v);
    return true;
}

// A switch interval: its shortest exact decimal form, "" when unset.
void optInterval(ByteWriter& w, const std::optional<double>& seconds) {
    std::string text;
    if (seconds) {
        std::array<char, 32> buf{};
        const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), *seconds);
        text.assign(buf.data(), res.ptr);  // shortest form that reads back exactly
    }
    w.str(text);
}

bool readOptInterval(ByteReader& r, std::optional<double>& seconds) {
    std::string_view text;
    if (!r.str(text)) {
        return false;
    }
    seconds.reset();
    if (text.empty()) {
        return true;
    }
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || !(value > 0)) {
        return false;
    }
    seconds = value;
    return true;
}

// An optional flag: 0 unset, 1 Off, 2 On.
void optFlag(ByteWriter& w, const std::optional<bool>& flag) {
    w.u8(!flag ? 0 : (*flag ? 2 : 1));
}

bool readOptFlag(ByteReader& r, std::optional<bool>& flag) noexcept {
    std::uint8_t v = 0;
    if (!r.u8(v) || v > 2) {
        return false;
    }
    flag.reset();
    if (v != 0) {
        flag = v == 2;
    }
    return true;
}

void interpreterSections(ByteWriter& w, const std::vector<common::InterpreterOptions>& sections) {
    w.u32(static_cast<std::uint32_t>(sections.size()));
    for (const common::InterpreterOptions& s : sections) {
        w.u8(s.applicationGroup ? 1 : 0);
        w.str(s.applicationGroup.value_or(std::string()));
        optFlag(w, s.restrictStdin);
        optFlag(w, s.restrictStdout);
        optFlag(w, s.restrictSignal);
        optInterval(w, s.switchInterval);
        strList(w, s.pythonPath);
    }
}

bool readInterpreterSections(ByteReader& r, std::vector<common::InterpreterOptions>& sections) {
    std::uint32_t n = 0;
    if (!r.u32(n) || n > kMaxListEntries) {
        return false;
    }
    sections.clear();
    for (std::uint32_t i = 0; i < n; ++i) {
        common::InterpreterOptions s;
        std::uint8_t scoped = 0;
        std::string group;
        if (!r.u8(scoped) || scoped > 1 || !readStr(r, group) || !readOptFlag(r, s.restrictStdin) ||
            !readOptFlag(r, s.restrictStdout) || !readOptFlag(r, s.restrictSignal) ||
            !readOptInterval(r, s.switchInterval) || !readStrList(r, s.pythonPath)) {
            return false;
        }
        if (scoped == 1) {
            s.applicationGroup = std::move(group);
        }
        sections.push_back(std::move(s));
    }
    return true;
}

Status invalid(const char* what) {
    return {ErrorCode::InvalidArgument, std::string("daemon arguments: ") + what};
}

}  // namespace

std::string processTitle(const DaemonArgs& args) {
    return args.displayName.empty() ? "wsgid-daemon" : args.displayName;
}

std::string encodeDaemonArgs(const DaemonArgs& a) {
    std::string out;
    ByteWriter w(out);
    w.u32(kArgsMagic);
    w.u8(kArgsFormat);
    w.str(a.group);
    w.u32(static_cast<std::uint32_t>(a.processIndex));
    w.u32(static_cast<std::uint32_t>(a.processes));
    w.u8(a.multiprocess ? 1 : 0);
    w.u32(static_cast<std::uint32_t>(a.threads));
    w.u32(a.managerPid);
    w.u32(a.generation);
    w.u32(static_cast<std::uint32_t>(a.secrets.size()));
    for (const GroupSecret& s : a.secrets) {
        w.u32(s.generation);
        w.str(std::string_view(reinterpret_cast<const char*>(s.secret.data()), s.secret.size()));
    }
    optU32(w, a.peerUid);
    w.u8(a.allowRoot ? 1 : 0);
    optU32(w, a.uid);
    optU32(w, a.gid);
    w.u32(static_cast<std::uint32_t>(a.supplementaryGroups.size()));
    for (const gid_t g : a.supplementaryGroups) {
        w.u32(g);
    }
    w.str(a.userName);
    w.str(a.home);
    w.str(a.chroot);
    optU32(w, a.umask ? std::optional<std::uint32_t>(*a.umask) : std::nullopt);
    w.str(a.pythonHome);
    strList(w, a.pythonPath);
    w.str(a.lang);
    w.str(a.locale);
    w.str(a.displayName);
    w.str(a.logLevel);
    w.u32(static_cast<std::uint32_t>(a.shutdownTimeoutSec));
    w.u32(static_cast<std::uint32_t>(a.socketTimeoutSec));
    w.u32(static_cast<std::uint32_t>(a.queueTimeoutSec));
    strList(w, a.preload);
    const common::PythonSettings& py = a.python;
    w.u8(static_cast<std::uint8_t>(py.optimize));
    strList(w, py.warnings);
    optU32(w, py.hashSeed);
    w.u8(static_cast<std::uint8_t>((py.writeBytecode ? 1U : 0U) | (py.restrictStdin ? 2U : 0U) |
                                   (py.restrictStdout ? 4U : 0U) | (py.restrictSignal ? 8U : 0U) |
                                   (py.caseSensitive ? 16U : 0U) |
                                   (py.destroyInterpreter ? 32U : 0U)));
    optInterval(w, py.switchInterval);
    w.u8(static_cast<std::uint8_t>(a.cpuPriority - kMinCpuPriority));
    w.u64(a.stackSize);
    w.str(a.pythonEggs);
    w.u32(a.socketBuffers.send);
    w.u32(a.socketBuffers.receive);
    const DaemonLifecycle& l = a.lifecycle;
    w.u64(l.maximumRequests);
    w.u32(static_cast<std::uint32_t>(l.restartIntervalSec));
    w.u32(static_cast<std::uint32_t>(l.inactivityTimeoutSec));
    w.u64(l.maximumMemoryBytes);
    w.u32(static_cast<std::uint32_t>(l.cpuTimeLimitSec));
    w.u64(l.memoryLimitBytes);
    w.u64(l.virtualMemoryLimitBytes);
    w.u32(static_cast<std::uint32_t>(l.gracefulTimeoutSec));
    w.u32(static_cast<std::uint32_t>(l.evictionTimeoutSec));
    w.u32(static_cast<std::uint32_t>(l.startupTimeoutSec));
    w.u32(static_cast<std::uint32_t>(l.requestTimeoutSec));
    w.u32(static_cast<std::uint32_t>(l.deadlockTimeoutSec));
    w.u32(static_cast<std::uint32_t>(l.interruptTimeoutSec));
    w.u8(a.serverMetrics ? 1 : 0);
    w.str(a.newrelicConfigFile);
    w.str(a.newrelicEnvironment);
    interpreterSections(w, a.interpreterOptions);
    w.u32(static_cast<std::uint32_t>(a.loadSlot + 1));  // 0: none
    return out;
}

Result<DaemonArgs> decodeDaemonArgs(std::string_view bytes) {
    if (bytes.size() > kMaxDaemonArgsBytes) {
        return invalid("larger than kMaxDaemonArgsBytes");
    }
    ByteReader r(bytes);
    std::uint32_t magic = 0;
    std::uint8_t format = 0;
    if (!r.u32(magic) || magic != kArgsMagic) {
        return invalid("not written by mod_wsgid (bad magic)");
    }
    if (!r.u8(format) || format != kArgsFormat) {
        return invalid("format version differs from this wsgid-daemon's (stale binary?)");
    }
    DaemonArgs a;
    std::uint8_t flag = 0;
    std::uint32_t count = 0;
    if (!readStr(r, a.group) || a.group.empty()) {
        return invalid("missing group name");
    }
    if (!readInt(r, a.processIndex) || !readInt(r, a.processes) || a.processes < 1 ||
        a.processIndex >= a.processes) {
        return invalid("bad process index or count");
    }
    if (!r.u8(flag) || flag > 1) {
        return invalid("bad multiprocess flag");
    }
    a.multiprocess = flag == 1;
    if (!readInt(r, a.threads) || a.threads < 0) {
        return invalid("bad thread count");
    }
    if (!r.u32(a.managerPid) || !r.u32(a.generation)) {
        return invalid("truncated");
    }
    if (!r.u32(count) || count > kRetainedSecretGenerations) {
        return invalid("bad secret count");
    }
    for (std::uint32_t i = 0; i < count; ++i) {
        GroupSecret s;
        std::string_view key;
        if (!r.u32(s.generation) || !r.str(key) || key.size() != s.secret.size()) {
            return invalid("bad secret");
        }
        for (std::size_t b = 0; b < key.size(); ++b) {
            s.secret[b] = static_cast<std::uint8_t>(key[b]);
        }
        a.secrets.push_back(s);
    }
    std::optional<std::uint32_t> peerUid;
    std::optional<std::uint32_t> uid;
    std::optional<std::uint32_t> gid;
    if (!readOptU32(r, peerUid) || !r.u8(flag) || flag > 1 || !readOptU32(r, uid) ||
        !readOptU32(r, gid)) {
        return invalid("bad user settings");
    }
    a.allowRoot = flag == 1;
    if (peerUid) {
        a.peerUid = static_cast<uid_t>(*peerUid);
    }
    if (uid) {
        a.uid = static_cast<uid_t>(*uid);
    }
    if (gid) {
        a.gid = static_cast<gid_t>(*gid);
    }
    if (!r.u32(count) || count > kMaxListEntries) {
        return invalid("bad supplementary group count");
    }
    for (std::uint32_t i = 0; i < count; ++i) {
        std::uint32_t g = 0;
        if (!r.u32(g)) {
            return invalid("truncated supplementary groups");
        }
        a.supplementaryGroups.push_back(static_cast<gid_t>(g));
    }
    std::optional<std::uint32_t> umask;
    if (!readStr(r, a.userName) || !readStr(r, a.home) || !readStr(r, a.chroot) ||
        (!a.chroot.empty() && a.chroot.front() != '/') || !readOptU32(r, umask) ||
        (umask && *umask > 0777) || !readStr(r, a.pythonHome) || !readStrList(r, a.pythonPath) ||
        !readStr(r, a.lang) || !readStr(r, a.locale) || !readStr(r, a.displayName) ||
        !readStr(r, a.logLevel) || !readInt(r, a.shutdownTimeoutSec) ||
        !readInt(r, a.socketTimeoutSec) || a.socketTimeoutSec < 1 ||
        !readInt(r, a.queueTimeoutSec) || !readStrList(r, a.preload)) {
        return invalid("bad process settings");
    }
    if (a.threads == 0 && a.preload.empty()) {
        return invalid("threads=0 (service scripts) without any script to run");
    }
    if (umask) {
        a.umask = static_cast<mode_t>(*umask);
    }
    std::uint8_t optimize = 0;
    std::uint8_t flags = 0;
    common::PythonSettings& py = a.python;
    if (!r.u8(optimize) || optimize > 2 || !readStrList(r, py.warnings) ||
        !readOptU32(r, py.hashSeed) || !r.u8(flags) || flags > 63) {
        return invalid("bad Python settings");
    }
    py.optimize = optimize;
    py.writeBytecode = (flags & 1U) != 0;
    py.restrictStdin = (flags & 2U) != 0;
    py.restrictStdout = (flags & 4U) != 0;
    py.restrictSignal = (flags & 8U) != 0;
    py.caseSensitive = (flags & 16U) != 0;
    py.destroyInterpreter = (flags & 32U) != 0;
    if (!readOptInterval(r, py.switchInterval)) {
        return invalid("bad switch interval");
    }
    std::uint8_t priority = 0;
    if (!r.u8(priority) || priority > kMaxCpuPriority - kMinCpuPriority || !r.u64(a.stackSize) ||
        !readStr(r, a.pythonEggs) || !r.u32(a.socketBuffers.send) ||
        !r.u32(a.socketBuffers.receive) || a.socketBuffers.send > common::kMaxSocketBufferBytes ||
        a.socketBuffers.receive > common::kMaxSocketBufferBytes) {
        return invalid("bad process tuning");
    }
    a.cpuPriority = static_cast<int>(priority) + kMinCpuPriority;
    DaemonLifecycle& l = a.lifecycle;
    if (!r.u64(l.maximumRequests) || !readInt(r, l.restartIntervalSec) ||
        !readInt(r, l.inactivityTimeoutSec) || !r.u64(l.maximumMemoryBytes) ||
        !readInt(r, l.cpuTimeLimitSec) || !r.u64(l.memoryLimitBytes) ||
        !r.u64(l.virtualMemoryLimitBytes) || !readInt(r, l.gracefulTimeoutSec) ||
        !readInt(r, l.evictionTimeoutSec) || !readInt(r, l.startupTimeoutSec) ||
        !readInt(r, l.requestTimeoutSec) || !readInt(r, l.deadlockTimeoutSec) ||
        !readInt(r, l.interruptTimeoutSec)) {
        return invalid("bad lifecycle settings");
    }
    std::uint8_t serverMetrics = 0;
    if (!r.u8(serverMetrics) || serverMetrics > 1 || !readStr(r, a.newrelicConfigFile) ||
        !readStr(r, a.newrelicEnvironment)) {
        return invalid("bad monitoring settings");
    }
    a.serverMetrics = serverMetrics == 1;
    if (!readInterpreterSections(r, a.interpreterOptions)) {
        return invalid("bad <WSGIInterpreterOptions> sections");
    }
    int loadSlotPlusOne = 0;
    if (!readInt(r, loadSlotPlusOne) ||
        static_cast<std::size_t>(loadSlotPlusOne) > loadSlotCount(a.processes)) {
        return invalid("bad load table entry");
    }
    a.loadSlot = loadSlotPlusOne - 1;
    if (!r.done()) {
        return invalid("trailing bytes");
    }
    return a;
}

}  // namespace wsgid::protocol
