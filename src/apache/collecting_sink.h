// SPDX-License-Identifier: Apache-2.0
// CollectingSink: a response kept in memory, for calls the module makes itself (hook calls) and
// reads the answer of. No httpd calls.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "apache/relay.h"

namespace wsgid::apache {

/// A ResponseSink that keeps the status and at most `maxBody` body bytes; more is an error (the
/// relay then stops as for a client gone). Request thread only.
class CollectingSink final : public ResponseSink {
public:
    explicit CollectingSink(std::size_t maxBody) noexcept : maxBody_(maxBody) {}

    common::Status start(protocol::ResponseStart&& start) override;
    common::Status body(std::string_view data) override;
    /// An answer kept in memory is never a passed file: the request head never offers sendfile.
    common::Status file(common::UniqueFd fd, const protocol::ResponseFile& range) override;
    common::Status flush() override { return common::Status::ok(); }
    common::Status end() override;

    /// The status code of the Start frame; 0 before it.
    [[nodiscard]] int status() const noexcept { return status_; }
    /// The body so far.
    [[nodiscard]] const std::string& bodyText() const noexcept { return body_; }
    /// Whether the End frame came.
    [[nodiscard]] bool ended() const noexcept { return ended_; }

private:
    std::size_t maxBody_;
    int status_ = 0;
    std::string body_;
    bool ended_ = false;
};

}  // namespace wsgid::apache
