/* SPDX-License-Identifier: MIT */
/*
 * The access log: one line per proxied HTTP request and one per tcp
 * connection, written by the worker that served it. [daemon] access-log=
 * is an absolute path, a file name in the logs directory (--logs-dir; the
 * default, access.log), "journal" or "off".
 *
 * HTTP lines are nginx's "combined" format plus three upstream fields:
 *
 *   $remote_addr - - [$time_local] "$request" $status $body_bytes_sent
 *   "$http_referer" "$http_user_agent" upstream=$upstream_addr
 *   upstream_time=$upstream_response_time request_time=$request_time
 *
 * (one line). $remote_addr is "unix:" for a client on a unix socket.
 * $request is the request line as received; for a request refused before
 * its head was complete (400, 414, 431) the first line as far as it came.
 * Times are seconds with millisecond precision. request_time runs from the
 * first byte of the request head to the end of the exchange;
 * upstream_time from the backend choice to the end of the exchange.
 * upstream is the last backend tried for this request: the one that
 * answered, or for a 502 the last one that failed; "-" (and
 * upstream_time=-) when no backend was tried (a request refused by lbd
 * itself, a service without usable backends). Status 499 (as nginx) means
 * the client went away before a response head came; a 101 is logged when
 * the connection switches to the byte relay, with 0 bytes.
 *
 * tcp lines share the prefix, so that one pattern reads both:
 *
 *   $remote_addr - - [$time_local] "TCP $service" $status $bytes_sent
 *   $bytes_received upstream=$upstream_addr upstream_time=$connect_time
 *   request_time=$session_time
 *
 * status 200 when a backend was connected, 502 when none could be;
 * bytes_sent went to the client, bytes_received came from it;
 * upstream_time is the time to connect (for a 502, the time spent trying).
 *
 * Field values are escaped as nginx does: '"', '\\' and bytes outside
 * 0x20..0x7e become \xHH. The request line is cut to
 * LBD_ACCESS_LOG_REQUEST_MAX escaped bytes, referer and user agent to
 * LBD_ACCESS_LOG_HEADER_MAX, a cut field ending in "...", so that a line
 * never exceeds LBD_ACCESS_LOG_LINE_MAX and goes out in one write() to a
 * file opened O_APPEND: lines of several workers never interleave.
 *
 * Files (access and error log) follow nginx's scheme: the master creates
 * them (parent directories too, 0755; the file 0640) and, when workers
 * drop privileges, chowns them to the worker user, at start, on reload and
 * on USR1 before it forwards the signal. Workers inherit the open fds and
 * on USR1 reopen by path from the signal handler: open(), dup2() over the
 * same fd number and close() are async-signal-safe, and dup2() swaps the
 * file atomically for threads writing at that moment (a write in flight
 * finishes on the old file, every later one goes to the new file), so the
 * hot path reads no flag and takes no lock.
 *
 * A file is written in blocks of access-log-buffer bytes (64 KiB), a
 * line waiting access-log-flush seconds (1) at most (nginx's buffer= and
 * flush=): one write() per block instead of one per line. A worker that is
 * killed loses the lines of its last block.
 *
 * "journal": sd_journal_send() with MESSAGE= the line and fields
 * LBD_SERVICE, LBD_CLIENT, LBD_REQUEST, LBD_STATUS, LBD_BYTES_SENT,
 * LBD_UPSTREAM, LBD_UPSTREAM_TIME, LBD_REQUEST_TIME.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "config.h"

#define LBD_ACCESS_LOG_LINE_MAX 4096u
#define LBD_ACCESS_LOG_REQUEST_MAX 2048u
#define LBD_ACCESS_LOG_HEADER_MAX 512u
/* "10/Oct/2000:13:55:36 -0700" and its NUL */
#define LBD_ACCESS_LOG_TIME_SIZE 32u

/* What one line says. Pointers may be NULL ("-"); lengths are bytes. */
struct lbd_access_entry {
        bool tcp;
        uint8_t client_family;        /* AF_INET, AF_INET6, else "unix:" */
        const uint8_t *client_addr;   /* 4 or 16 bytes */
        const char *service;          /* tcp line and journal */
        const char *request;
        size_t request_len;
        const char *referer;
        size_t referer_len;
        const char *user_agent;
        size_t user_agent_len;
        unsigned status;
        uint64_t bytes_sent;          /* http: body bytes; tcp: to the client */
        uint64_t bytes_received;      /* tcp: from the client */
        const char *upstream;         /* NULL: none tried */
        int64_t upstream_ms;          /* < 0: "-" */
        uint64_t request_ms;
        /* Only in the JSON line and the journal: */
        unsigned upstream_status;     /* the backend's status; 0: none */
        int64_t connect_ms;           /* < 0: none (a pooled connection: 0) */
        int64_t header_ms;            /* to the response head's first byte; < 0: none */
        unsigned retries;             /* backends tried after the first */
};

/* Format e as one line, '\n' included, into buf (cap >= 1). A pure
 * function: time_local is the text for [$time_local]. Returns the length
 * (at most cap - 1; the text is NUL-terminated). With cap >=
 * LBD_ACCESS_LOG_LINE_MAX nothing but the documented field cuts happens. */
size_t lbd_access_log_format(char *buf, size_t cap, const struct lbd_access_entry *e,
                             const char *time_local);

/* The same entry as one JSON object and '\n' (access-log-format=json):
 *
 *   {"time":"2026-12-04T06:46:00+01:00","protocol":"http","service":"web",
 *    "remote_addr":"10.0.0.1","request":"GET / HTTP/1.1","status":200,
 *    "body_bytes_sent":22,"http_referer":null,"http_user_agent":"curl/7.88",
 *    "upstream_addr":"127.0.0.1:8001","upstream_status":200,
 *    "upstream_connect_time":0.001,"upstream_header_time":0.003,
 *    "upstream_response_time":0.003,"request_time":0.004,"retries":0}
 *
 * (one line; nginx's variable names). A tcp line has "protocol":"tcp",
 * "bytes_sent", "bytes_received", "upstream_addr", "upstream_connect_time"
 * and "request_time" (the session's). Absent values are null; times are
 * seconds with millisecond precision. Strings are cut as in the combined
 * line; '"', '\\' and bytes outside 0x20..0x7e are \u00HH escapes (a
 * byte, not a character: the line stays ASCII and valid JSON whatever the
 * client sent). Same purity and size bound as lbd_access_log_format(). */
size_t lbd_access_log_format_json(char *buf, size_t cap, const struct lbd_access_entry *e,
                                  const char *time_iso);
/* ISO 8601 local time with its offset, "2026-12-04T06:46:00+01:00". */
void lbd_access_log_time_iso(time_t t, char out[LBD_ACCESS_LOG_TIME_SIZE]);

/* $time_local for t in the local time zone (cut to size if need be). */
void lbd_access_log_time_local(time_t t, char out[LBD_ACCESS_LOG_TIME_SIZE]);

/* Master: set up the logs of config (the access log, and the error log
 * through log.c): open or create the files, shared with the workers' group
 * gid when share is true (log_file_open()); a file named without a
 * directory is in logs_dir.
 * Called at start and for every new configuration, before the workers that
 * use it are forked. 0, or -errno (logged). */
int lbd_logs_open(const struct lbd_daemon_config *config, const char *logs_dir, bool share,
                  gid_t gid);
/* Master, on USR1: the same for the files open now. 0 or -errno (logged). */
int lbd_logs_reopen(void);
/* Worker, from its USR1 handler: reopen the files by path.
 * Async-signal-safe; saves errno. */
void lbd_logs_reopen_signal_safe(void);
/* The files lbd_logs_reopen_signal_safe() opens: the error log's and the
 * access log's paths, those that are files (0 to 2 of them), for the
 * worker's Landlock rules. */
size_t lbd_logs_reopened_files(const char *paths[2]);

/* Is anything logged? (A cheap test before gathering an entry.) */
bool lbd_access_log_enabled(void);
/* Log one entry (worker). To a file: into the block, or one write() when
 * access-log-buffer is smaller than a line. */
void lbd_access_log_write(const struct lbd_access_entry *e);
/* Worker, at least once a second (its heartbeat): write the block if its
 * oldest line waited access-log-flush. Cheap when there is nothing. */
void lbd_access_log_tick(uint64_t now_ms);
/* Worker, when it ends: write what is left. */
void lbd_access_log_flush(void);

/* What the http mode keeps per request to log it (in its txn). */
struct lbd_access_http {
        uint64_t start_ms;     /* first byte of the head */
        uint64_t upstream_ms;  /* the backend choice began; 0: not yet */
        uint64_t body_bytes;   /* response body bytes sent to the client */
        uint16_t status;       /* the final response head's status */
        bool logged;
        uint16_t request_len, referer_len, user_agent_len;
        /* one byte more than a line shows, so that a cut shows as "..." */
        char request[LBD_ACCESS_LOG_REQUEST_MAX + 1];
        char referer[LBD_ACCESS_LOG_HEADER_MAX + 1];
        char user_agent[LBD_ACCESS_LOG_HEADER_MAX + 1];
};

struct lbd_http_msg;
/* A head starts (its first byte came at now). */
void lbd_access_http_begin(struct lbd_access_http *a, uint64_t now);
/* Keep the request line, Referer and User-Agent of a parsed request head
 * in buf (before the buffer moves on). */
void lbd_access_http_request(struct lbd_access_http *a, const char *buf,
                             const struct lbd_http_msg *m);
/* Keep the first line of bytes that did not parse as a head. */
void lbd_access_http_request_raw(struct lbd_access_http *a, const char *buf, size_t len);
