// SPDX-License-Identifier: Apache-2.0
// Authentication hook calls in the daemon (python/hook_call.h): each hook's arguments, how its
// answer is encoded, and answers that are not answers.
#include "python/hook_call.h"

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "common/hook_result.h"
#include "python/runtime.h"
#include "support/fake_request_io.h"
#include "support/python_environment.h"

namespace wsgid::testing {
namespace {

using Kind = python::CallOutcome::Kind;
using common::HookResult;

// The hooks of one script, each answering from what it was given.
constexpr const char* kScript = R"PY(
def allow_access(environ, host):
    return {'127.0.0.1': True, '10.0.0.1': False}.get(host)

def check_password(environ, user, password):
    assert not [k for k in environ if k.startswith('mod_wsgid.hook')], sorted(environ)
    if user == 'rename':
        return 'renamed-' + password
    if user == 'bad':
        return 42
    if user == 'boom':
        raise RuntimeError('hook failure')
    return {'alice': password == 'secret'}.get(user)

def get_realm_hash(environ, user, realm):
    return None if user == 'nobody' else 'digest-of-%s-%s' % (user, realm)

def groups_for_user(environ, user):
    return {'alice': ['admins', b'staff'], 'bad': ['a\nb']}.get(user, ())
)PY";

struct Answer {
    Kind kind;
    std::string body;
};

// A dispatch script: process_group() and application_group() answer from the environ the app
// would see; callable_object() is missing (optional, as every dispatch function).
constexpr const char* kDispatchScript = R"PY(
def process_group(environ):
    assert not [k for k in environ if k.startswith('mod_wsgid.hook')], sorted(environ)
    path = environ.get('HTTP_X_ROUTE')
    if path == '/boom':
        raise RuntimeError('dispatch failure')
    if path == '/int':
        return 42
    return {'/a': 'tenant-a', '/global': '', '/bytes': b'tenant-b'}.get(path)

def application_group(environ):
    return 'was-' + environ['mod_wsgi.application_group'] + '-' + environ['mod_wsgi.callable_object']
)PY";

Answer call(std::string_view hook, std::vector<std::pair<std::string, std::string>> args,
            const char* script = kScript) {
    python::WsgiRequest request;
    request.scriptFilename = writeScript(script);
    request.callableObject = std::string(hook);
    request.environ = basicEnviron();
    request.environ.emplace_back(std::string(common::kHookKey), std::string(hook));
    for (auto& arg : args) {
        request.environ.push_back(std::move(arg));
    }
    request.requestId = "req-hook";
    FakeRequestIo io;
    const python::CallOutcome outcome = runtime().handle(mainWorker(), request, io);
    if (outcome.kind == Kind::Completed) {
        EXPECT_EQ(io.status, "200 OK");
    }
    return {outcome.kind, io.sent()};
}

HookResult decoded(const Answer& a) {
    EXPECT_EQ(a.kind, Kind::Completed);
    auto r = common::decodeHookResult(a.body);
    EXPECT_TRUE(r.isOk()) << a.body;
    return r.isOk() ? r.value() : HookResult{};
}

const std::string kUser(common::kHookUserKey);
const std::string kPassword(common::kHookPasswordKey);

TEST(HookCall, CheckPasswordAnswers) {
    EXPECT_EQ(decoded(call(common::kCheckPassword, {{kUser, "alice"}, {kPassword, "secret"}})).kind,
              HookResult::Kind::Allow);
    EXPECT_EQ(decoded(call(common::kCheckPassword, {{kUser, "alice"}, {kPassword, "x"}})).kind,
              HookResult::Kind::Deny);
    EXPECT_EQ(decoded(call(common::kCheckPassword, {{kUser, "carol"}, {kPassword, "x"}})).kind,
              HookResult::Kind::None);
    const HookResult renamed =
        decoded(call(common::kCheckPassword, {{kUser, "rename"}, {kPassword, "x"}}));
    EXPECT_EQ(renamed.kind, HookResult::Kind::User);
    EXPECT_EQ(renamed.value, "renamed-x");
}

TEST(HookCall, WrongAnswerOrExceptionIsAnError) {
    testLog().clear();
    EXPECT_EQ(call(common::kCheckPassword, {{kUser, "bad"}, {kPassword, "x"}}).kind,
              Kind::AppError);
    EXPECT_TRUE(testLog().contains("WG0351", "returned a 'int'"));
    EXPECT_EQ(call(common::kCheckPassword, {{kUser, "boom"}, {kPassword, "x"}}).kind,
              Kind::AppError);
    EXPECT_TRUE(testLog().contains("WG0350", "RuntimeError: hook failure"));
    EXPECT_EQ(call(common::kGroupsForUser, {{kUser, "bad"}}).kind, Kind::AppError);
}

TEST(HookCall, RealmHashGroupsAndAccess) {
    const HookResult hash = decoded(
        call(common::kGetRealmHash, {{kUser, "bob"}, {std::string(common::kHookRealmKey), "r"}}));
    EXPECT_EQ(hash.kind, HookResult::Kind::Hash);
    EXPECT_EQ(hash.value, "digest-of-bob-r");
    EXPECT_EQ(decoded(call(common::kGetRealmHash,
                           {{kUser, "nobody"}, {std::string(common::kHookRealmKey), "r"}}))
                  .kind,
              HookResult::Kind::None);
    const HookResult groups = decoded(call(common::kGroupsForUser, {{kUser, "alice"}}));
    EXPECT_EQ(groups.groups, (std::vector<std::string>{"admins", "staff"}));
    EXPECT_TRUE(decoded(call(common::kGroupsForUser, {{kUser, "nobody"}})).groups.empty());
    const std::string host(common::kHookHostKey);
    EXPECT_EQ(decoded(call(common::kAllowAccess, {{host, "127.0.0.1"}})).kind,
              HookResult::Kind::Allow);
    EXPECT_EQ(decoded(call(common::kAllowAccess, {{host, "10.0.0.1"}})).kind,
              HookResult::Kind::Deny);
    EXPECT_EQ(decoded(call(common::kAllowAccess, {{host, "10.0.0.2"}})).kind,
              HookResult::Kind::None);
}

Answer dispatch(std::string pathInfo) {
    return call(common::kDispatch,
                {{"HTTP_X_ROUTE", std::move(pathInfo)},
                 {std::string(common::kHookApplicationGroupKey), "site|/"},
                 {std::string(common::kHookCallableObjectKey), "application"}},
                kDispatchScript);
}

TEST(HookCall, DispatchAnswersEachFunctionThatExists) {
    const HookResult a = decoded(dispatch("/a"));
    EXPECT_EQ(a.kind, HookResult::Kind::Dispatch);
    // application_group() saw the request's own routing, not the dispatch call's.
    EXPECT_EQ(a.dispatch, (common::DispatchAnswer{"tenant-a", "was-site|/-application", {}}));
    EXPECT_EQ(decoded(dispatch("/global")).dispatch.processGroup, "");
    EXPECT_EQ(decoded(dispatch("/bytes")).dispatch.processGroup, "tenant-b");
    EXPECT_EQ(decoded(dispatch("/other")).dispatch.processGroup, std::nullopt);
}

TEST(HookCall, DispatchWrongAnswerOrExceptionIsAnError) {
    testLog().clear();
    EXPECT_EQ(dispatch("/int").kind, Kind::AppError);
    EXPECT_TRUE(testLog().contains("WG0351", "process_group() returned a 'int'"));
    EXPECT_EQ(dispatch("/boom").kind, Kind::AppError);
    EXPECT_TRUE(testLog().contains("WG0350", "RuntimeError: dispatch failure"));
}

TEST(HookCall, DispatchScriptWithoutFunctionsChangesNothing) {
    const HookResult r = decoded(call(common::kDispatch, {}, "x = 1\n"));
    EXPECT_EQ(r, (HookResult{HookResult::Kind::Dispatch, "", {}, {}}));
}

}  // namespace
}  // namespace wsgid::testing
