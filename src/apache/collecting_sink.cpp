// SPDX-License-Identifier: Apache-2.0
// A response kept in memory (see collecting_sink.h).
#include "apache/collecting_sink.h"

namespace wsgid::apache {

common::Status CollectingSink::start(protocol::ResponseStart&& start) {
    status_ = start.statusCode();
    return common::Status::ok();
}

common::Status CollectingSink::body(std::string_view data) {
    if (data.size() > maxBody_ - body_.size()) {
        return {common::ErrorCode::LimitExceeded,
                "the answer is longer than " + std::to_string(maxBody_) + " bytes"};
    }
    body_.append(data);
    return common::Status::ok();
}

common::Status CollectingSink::file(common::UniqueFd /*fd*/,
                                    const protocol::ResponseFile& /*range*/) {
    return {common::ErrorCode::ProtocolError, "a File frame where the answer must be bytes"};
}

common::Status CollectingSink::end() {
    ended_ = true;
    return common::Status::ok();
}

}  // namespace wsgid::apache
