/* SPDX-License-Identifier: MIT */
/*
 * The admin listener's requests, parsed (pure, for tests): the request
 * line of a head that ended with an empty line, GET or HEAD of a known
 * path. Everything else gets a status that says what was wrong. The
 * headers are not read: every answer closes the connection and depends on
 * nothing the client says.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define LBD_ADMIN_HEAD_MAX 8192u

enum lbd_admin_page {
        LBD_ADMIN_STATUS_PAGE, /* / */
        LBD_ADMIN_METRICS,     /* /metrics */
};

struct lbd_admin_request {
        unsigned status;        /* 0: complete and known; else the error to answer */
        const char *reason;     /* for an error: a sentence for the body */
        enum lbd_admin_page page;
        bool head;              /* HEAD: no body */
};

/* 0 while the head is incomplete (len < LBD_ADMIN_HEAD_MAX), 1 when *ret
 * is set: a page, or an error (400, 404, 405, 431, 505). */
int lbd_admin_request_parse(const char *buf, size_t len, struct lbd_admin_request *ret);
