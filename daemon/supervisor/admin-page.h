/* SPDX-License-Identifier: MIT */
/*
 * The status page at /: one self-contained HTML document (no file, no CDN:
 * nothing outside the machine may be reachable) whose script reads
 * /metrics every 2 s and draws services and backends from it: state,
 * weight, load, request rate, errors and latency percentiles. It reads
 * only what /metrics says, so the two cannot disagree.
 */
#pragma once

extern const char lbd_admin_page_html[];
