// SPDX-License-Identifier: Apache-2.0
// The single include point for httpd and APR headers (included as -isystem). Only .cpp files of
// src/apache include this; headers forward-declare httpd types instead, because httpd.h's macros
// (OK, DECLINED, DONE) would leak everywhere.
#pragma once

#include <mod_auth.h>

#include <ap_mpm.h>
#include <apr_buckets.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_network_io.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_thread_proc.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_main.h>
#include <http_protocol.h>
#include <http_request.h>
#include <httpd.h>
#include <mpm_common.h>
#include <unixd.h>
#include <util_script.h>

// The module record, defined in mod_wsgid.cpp. Declared here, before any APLOG_USE_MODULE, because
// g++ rejects an extern "C" declaration that follows APLOG_USE_MODULE's C++ one.
extern "C" {
extern module AP_MODULE_DECLARE_DATA wsgid_module;
}
