/* SPDX-License-Identifier: MIT */
/*
 * The pure logic of the active health checks (health-check.h does the I/O):
 * HAProxy's rise/fall state machine, the HTTP status line, the request, the
 * reasons logged and the schedule. No I/O, no clock: the unit tests drive
 * it with numbers.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One backend's health as its checks see it. A backend starts up (as
 * HAProxy's servers do, and as the shared table starts them): `fall`
 * failures in a row take it down, then `rise` successes in a row bring it
 * back. count is the run of results that disagree with `up`. */
struct lbd_health_state {
        bool up;
        unsigned count;
};

enum lbd_health_transition {
        LBD_HEALTH_UNCHANGED,
        LBD_HEALTH_WENT_DOWN,
        LBD_HEALTH_WENT_UP,
};

void lbd_health_state_init(struct lbd_health_state *s);
/* Record one check's result; says whether that changed up/down. rise and
 * fall of 0 count as 1. */
enum lbd_health_transition lbd_health_state_record(struct lbd_health_state *s, bool ok,
                                                   unsigned rise, unsigned fall);

/* Parse the status line at the start of buf ("HTTP/1.1 503 Service
 * Unavailable\r\n"; a bare "\n" ends it too). Returns 0 with *ret_status
 * set, -EAGAIN when buf holds no complete line yet (read more), -EBADMSG
 * when it is not an HTTP/1.x status line (or when the line is longer than
 * LBD_HEALTH_STATUS_LINE_MAX). */
#define LBD_HEALTH_STATUS_LINE_MAX 1024u
int lbd_health_parse_status_line(const char *buf, size_t len, unsigned *ret_status);

/* The check's request: "GET path HTTP/1.1" with Host, Connection: close and
 * User-Agent: lbd-health-check. host is the backend's address text, or NULL
 * for a unix socket ("localhost" then). g_free() it. */
char *lbd_health_build_request(const char *path, const char *host);

/* Reasons, as logged and shown in BackendStateChanged:
 * "health check: HTTP 503, expected 200-399", "health check: HTTP 200",
 * "health check: connection refused" (errno's text, first letter lowered),
 * "health check: timed out after 1 s", "health check: connected".
 * g_free() them. */
char *lbd_health_reason_status(unsigned status, unsigned expect_min, unsigned expect_max);
char *lbd_health_reason_errno(int error);
char *lbd_health_reason_timeout(unsigned timeout_s);

/* When a backend's first check runs, in ms after the checker learns of it:
 * a hash of service and address spread over the interval, so that 1,000
 * backends configured at once do not all connect in the same millisecond,
 * and the same backend keeps its phase across reloads. */
uint64_t lbd_health_first_delay_ms(const char *service, const char *address,
                                   uint64_t interval_ms);

/* When the check after one that started at last_start runs, now being the
 * time it finished: last_start + interval, keeping the phase; a check that
 * ran past that (timeout longer than interval) skips the missed turns
 * rather than firing at once, so there is never more than one check per
 * backend per interval. */
uint64_t lbd_health_next_start_ms(uint64_t last_start, uint64_t now, uint64_t interval_ms);
