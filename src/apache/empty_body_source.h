// SPDX-License-Identifier: Apache-2.0
// EmptyBodySource: a request body that is empty, for calls the module makes itself (hook calls)
// rather than for a client. No httpd calls.
#pragma once

#include <cstddef>
#include <span>

#include "apache/relay.h"

namespace wsgid::apache {

/// A BodySource that is at its end at once.
class EmptyBodySource final : public BodySource {
public:
    EmptyBodySource() = default;
    common::Result<std::size_t> read(std::span<char> /*buf*/) override { return std::size_t{0}; }
};

}  // namespace wsgid::apache
