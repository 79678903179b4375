// SPDX-License-Identifier: Apache-2.0
// Pure parsing of the argument lists of whole directives (see config_parse.h):
// WSGIScriptAlias(Match), WSGIHandlerScript, the hook scripts, WSGIImportScript and
// <WSGIInterpreterOptions>. The value parsers they build on are in config_parse.cpp. No httpd,
// no APR.
#include <type_traits>

#include "apache/config_parse.h"

namespace wsgid::apache {

using common::ErrorCode;
using common::Result;
using common::Status;

namespace {

/// Applies one option word of WSGIScriptAlias(Match) or WSGIHandlerScript to `a` (a
/// ScriptAliasArgs or HandlerScriptArgs); callable-object= only where `Args` has it.
template <typename Args>
Status applyRouteOption(std::string_view directive, const OptionWord& opt, Args& a) {
    constexpr bool kHasCallable = std::is_same_v<Args, ScriptAliasArgs>;
    const std::string what = std::string(directive) + " option '" + opt.key + "'";
    auto set = [&](std::optional<std::string>& field) -> Status {
        if (field) {
            return invalidArgument(what + " is given twice");
        }
        if (opt.value.empty()) {
            return invalidArgument(what + " needs a value");
        }
        field = opt.value;
        return Status::ok();
    };
    if (opt.key == "process-group") {
        return set(a.processGroup);
    }
    if (opt.key == "application-group") {
        return set(a.applicationGroup);
    }
    if constexpr (kHasCallable) {
        if (opt.key == "callable-object") {
            return set(a.callableObject);
        }
    }
    if (opt.key == "pass-authorization") {
        if (a.passAuthorization) {
            return invalidArgument(what + " is given twice");
        }
        auto b = parseOnOff(what, opt.value);
        if (!b) {
            return b.status();
        }
        a.passAuthorization = *b;
        return Status::ok();
    }
    return invalidArgument(std::string(directive) + ": unknown option " + quoted(opt.key) +
                           (kHasCallable
                                ? " (known: process-group, application-group, callable-object, "
                                  "pass-authorization)"
                                : " (known: process-group, application-group, "
                                  "pass-authorization)"));
}

/// Applies the option words from `first` on (see applyRouteOption).
template <typename Args>
Status applyRouteOptions(std::string_view directive, const std::vector<std::string>& words,
                         std::size_t first, Args& a) {
    for (std::size_t i = first; i < words.size(); ++i) {
        const auto opt = splitOption(words[i]);
        if (!opt) {
            return invalidArgument(std::string(directive) + ": expected option=value, got " +
                                   quoted(words[i]));
        }
        if (Status st = applyRouteOption(directive, *opt, a); !st) {
            return st;
        }
    }
    return Status::ok();
}

}  // namespace

Result<ScriptAliasArgs> parseScriptAlias(std::string_view raw, AliasKind kind) {
    const bool match = kind == AliasKind::Match;
    const std::string_view kDirective = match ? "WSGIScriptAliasMatch" : "WSGIScriptAlias";
    auto words = splitWords(raw);
    if (!words) {
        return Status(ErrorCode::InvalidArgument,
                      std::string(kDirective) + ": " + words.status().message());
    }
    if (words->size() < 2) {
        return invalidArgument(std::string(kDirective) +
                               (match ? " needs a regular expression and a file-path: "
                                        "WSGIScriptAliasMatch ^/([^/]+) /srv/sites/$1/app.wsgi"
                                      : " needs a URL-path and a file-path: WSGIScriptAlias /app "
                                        "/path/app.wsgi"));
    }
    ScriptAliasArgs a;
    std::string_view url = (*words)[0];
    if (match) {
        if (url.empty()) {
            return invalidArgument(std::string(kDirective) + ": the regular expression is empty");
        }
    } else {
        if (url.empty() || url.front() != '/') {
            return invalidArgument(std::string(kDirective) + ": URL-path " + quoted(url) +
                                   " must start with '/'");
        }
        while (!url.empty() && url.back() == '/') {
            url.remove_suffix(1);
        }
    }
    a.urlPath.assign(url);
    a.target = (*words)[1];
    if (a.target.empty()) {
        return invalidArgument(std::string(kDirective) + ": the file-path is empty");
    }
    if (Status st = applyRouteOptions(kDirective, *words, 2, a); !st) {
        return st;
    }
    return a;
}

Result<HandlerScriptArgs> parseHandlerScript(std::string_view raw) {
    static constexpr std::string_view kDirective = "WSGIHandlerScript";
    auto words = splitWords(raw);
    if (!words) {
        return Status(ErrorCode::InvalidArgument,
                      std::string(kDirective) + ": " + words.status().message());
    }
    if (words->size() < 2 || (*words)[0].empty() || (*words)[1].empty()) {
        return invalidArgument(
            std::string(kDirective) +
            " needs a handler name and a file-path: WSGIHandlerScript my-handler "
            "/srv/handler.wsgi, then SetHandler my-handler");
    }
    HandlerScriptArgs a;
    a.name = (*words)[0];
    a.script = (*words)[1];
    if (a.name.find('=') != std::string::npos) {
        return invalidArgument(std::string(kDirective) +
                               ": the first argument must be the handler " + "name, got " +
                               quoted(a.name));
    }
    if (Status st = applyRouteOptions(kDirective, *words, 2, a); !st) {
        return st;
    }
    return a;
}

Result<HookScriptArgs> parseHookScript(std::string_view directive, std::string_view raw) {
    auto words = splitWords(raw);
    if (!words) {
        return Status(ErrorCode::InvalidArgument,
                      std::string(directive) + ": " + words.status().message());
    }
    if (words->empty() || (*words)[0].empty() || (*words)[0].find('=') != std::string::npos) {
        return invalidArgument(std::string(directive) +
                               " needs a file-path: " + std::string(directive) +
                               " /srv/site/auth.wsgi [application-group=NAME]");
    }
    HookScriptArgs a;
    a.script = (*words)[0];
    for (std::size_t i = 1; i < words->size(); ++i) {
        const auto opt = splitOption((*words)[i]);
        if (!opt || opt->key != "application-group") {
            return invalidArgument(
                std::string(directive) + ": unknown option " + quoted((*words)[i]) +
                " (known: application-group; the script runs in the daemon group "
                "of the request)");
        }
        if (a.applicationGroup || opt->value.empty()) {
            return invalidArgument(std::string(directive) +
                                   ": application-group= needs one value, given once");
        }
        a.applicationGroup = opt->value;
    }
    return a;
}

Result<ImportScriptArgs> parseImportScript(std::string_view raw) {
    static constexpr std::string_view kDirective = "WSGIImportScript";
    auto words = splitWords(raw);
    if (!words) {
        return Status(ErrorCode::InvalidArgument,
                      std::string(kDirective) + ": " + words.status().message());
    }
    if (words->empty() || (*words)[0].empty()) {
        return invalidArgument(std::string(kDirective) +
                               " needs a file-path, process-group= and application-group=");
    }
    ImportScriptArgs a;
    a.script = (*words)[0];
    bool haveProcess = false;
    bool haveApplication = false;
    for (std::size_t i = 1; i < words->size(); ++i) {
        const auto opt = splitOption((*words)[i]);
        if (!opt) {
            return invalidArgument(std::string(kDirective) + ": expected option=value, got " +
                                   quoted((*words)[i]));
        }
        const std::string what = std::string(kDirective) + " option '" + opt->key + "'";
        if (opt->key == "process-group") {
            a.processGroup = opt->value;
            haveProcess = true;
        } else if (opt->key == "application-group") {
            a.applicationGroup = opt->value;
            haveApplication = true;
        } else {
            return invalidArgument(std::string(kDirective) + ": unknown option " +
                                   quoted(opt->key) + " (known: process-group, application-group)");
        }
        if (opt->value.empty()) {
            return invalidArgument(what + " needs a value");
        }
    }
    if (!haveProcess || !haveApplication) {
        return invalidArgument(std::string(kDirective) +
                               ": both process-group= and application-group= " + "are required");
    }
    return a;
}

Result<InterpreterSection> parseInterpreterSection(std::string_view raw) {
    static constexpr std::string_view kDirective = "<WSGIInterpreterOptions>";
    auto words = splitWords(raw);
    if (!words) {
        return invalidArgument(std::string(kDirective) + ": " + words.status().message());
    }
    InterpreterSection section;
    for (const std::string& word : *words) {
        const auto opt = splitOption(word);
        if (!opt) {
            return invalidArgument(std::string(kDirective) + ": expected option=value, got " +
                                   quoted(word));
        }
        const std::string what = std::string(kDirective) + " option '" + opt->key + "'";
        std::optional<std::string>* target = nullptr;
        std::string global;
        if (opt->key == "process-group") {
            target = &section.processGroup;
            global = GroupRegistry::kDefaultGroupName;
        } else if (opt->key == "application-group") {
            target = &section.options.applicationGroup;
        } else {
            return invalidArgument(std::string(kDirective) + ": unknown option " +
                                   quoted(opt->key) + " (known: process-group, application-group)");
        }
        if (target->has_value()) {
            return invalidArgument(what + " is given twice");
        }
        if (opt->value.empty()) {
            return invalidArgument(what + " needs a value");
        }
        if (opt->value == "%{GLOBAL}") {
            *target = global;
        } else if (isLiteralName(opt->value)) {
            *target = opt->value;
        } else {
            return invalidArgument(what +
                                   " must be a name or %{GLOBAL}: the section is matched when "
                                   "the configuration is read, not per request; got " +
                                   quoted(opt->value));
        }
    }
    return section;
}

}  // namespace wsgid::apache
