// SPDX-License-Identifier: Apache-2.0
// Cryptographically secure random bytes from the kernel (getrandom(2)), for secrets and nonces.
#pragma once

#include <cstdint>
#include <span>

#include "common/status.h"

namespace wsgid::common {

/// Fills `out` from the kernel's CSPRNG; blocks only until the pool is initialised at boot.
/// An error (no getrandom: kernel before 3.17) means no secret can be made: callers fail closed.
Status fillRandom(std::span<std::uint8_t> out) noexcept;

}  // namespace wsgid::common
