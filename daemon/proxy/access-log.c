/* SPDX-License-Identifier: MIT */
/* The access log (access-log.h). */
#include "access-log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "address.h"
#include "clock.h"
#include "http.h"
#include "log.h"

/* ---- the formatter (pure) ---------------------------------------------- */

struct out {
        char *p;
        size_t len, cap; /* cap: room for text, the NUL excluded */
};

static void out_bytes(struct out *o, const char *s, size_t n) {
        if (n > o->cap - o->len)
                n = o->cap - o->len;
        memcpy(o->p + o->len, s, n);
        o->len += n;
}

static void out_str(struct out *o, const char *s) { out_bytes(o, s, strlen(s)); }

static void out_char(struct out *o, char c) { out_bytes(o, &c, 1); }

static void out_u64(struct out *o, uint64_t v) {
        char b[24];
        size_t i = sizeof b;
        do {
                b[--i] = (char)('0' + v % 10);
                v /= 10;
        } while (v);
        out_bytes(o, b + i, sizeof b - i);
}

/* Milliseconds as seconds: "1.234"; "-" when ms < 0. */
static void out_seconds(struct out *o, int64_t ms) {
        if (ms < 0) {
                out_char(o, '-');
                return;
        }
        out_u64(o, (uint64_t)ms / 1000u);
        unsigned frac = (unsigned)((uint64_t)ms % 1000u);
        char b[4] = { '.', (char)('0' + frac / 100), (char)('0' + frac / 10 % 10),
                      (char)('0' + frac % 10) };
        out_bytes(o, b, 4);
}

static bool plain(unsigned char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; }

/* s escaped as nginx escapes log variables, at most max bytes of output; a
 * cut value ends in "...". NULL (or empty for a header) is "-". */
static void out_escaped(struct out *o, const char *s, size_t len, size_t max, bool empty_dash) {
        if (!s || (len == 0 && empty_dash)) {
                out_char(o, '-');
                return;
        }
        static const char hex[] = "0123456789ABCDEF";
        /* Does all of it fit? Else stop at max - 3 and add "...". */
        size_t total = 0;
        for (size_t i = 0; i < len && total <= max; i++)
                total += plain((unsigned char)s[i]) ? 1 : 4;
        if (total == len && total <= max) { /* nothing to escape, all of it fits */
                out_bytes(o, s, len);
                return;
        }
        size_t budget = total <= max ? max : max - 3;
        size_t used = 0;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                size_t need = plain(c) ? 1 : 4;
                if (used + need > budget)
                        break;
                if (need == 1) {
                        out_char(o, (char)c);
                } else {
                        char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
                        out_bytes(o, e, 4);
                }
                used += need;
        }
        if (total > max)
                out_bytes(o, "...", 3);
}

static void out_client(struct out *o, const struct lbd_access_entry *e) {
        char ip[LBD_ADDRESS_IP_TEXT_MAX];
        out_bytes(o, ip, lbd_address_ip_text(e->client_family, e->client_addr, ip));
}

size_t lbd_access_log_format(char *buf, size_t cap, const struct lbd_access_entry *e,
                             const char *time_local) {
        struct out o = { buf, 0, cap - 1 };
        out_client(&o, e);
        out_str(&o, " - - [");
        out_str(&o, time_local);
        out_str(&o, "] \"");
        if (e->tcp) {
                out_str(&o, "TCP ");
                out_escaped(&o, e->service, e->service ? strlen(e->service) : 0, 128, true);
                out_str(&o, "\" ");
                out_u64(&o, e->status);
                out_char(&o, ' ');
                out_u64(&o, e->bytes_sent);
                out_char(&o, ' ');
                out_u64(&o, e->bytes_received);
        } else {
                out_escaped(&o, e->request, e->request_len, LBD_ACCESS_LOG_REQUEST_MAX, true);
                out_str(&o, "\" ");
                out_u64(&o, e->status);
                out_char(&o, ' ');
                out_u64(&o, e->bytes_sent);
                out_str(&o, " \"");
                out_escaped(&o, e->referer, e->referer_len, LBD_ACCESS_LOG_HEADER_MAX, true);
                out_str(&o, "\" \"");
                out_escaped(&o, e->user_agent, e->user_agent_len, LBD_ACCESS_LOG_HEADER_MAX,
                            true);
                out_char(&o, '"');
        }
        out_str(&o, " upstream=");
        if (e->upstream)
                out_escaped(&o, e->upstream, strlen(e->upstream), 160, true);
        else
                out_char(&o, '-');
        out_str(&o, " upstream_time=");
        out_seconds(&o, e->upstream ? e->upstream_ms : -1);
        out_str(&o, " request_time=");
        out_seconds(&o, (int64_t)e->request_ms);
        /* The newline always ends the line, even a cut one. */
        if (o.len == o.cap && o.len > 0)
                o.len--;
        out_char(&o, '\n');
        buf[o.len] = '\0';
        return o.len;
}

/* ---- the JSON line (pure) ---------------------------------------------- */

/* s as a JSON string, escaped and cut as out_escaped() does (max bytes of
 * escaped text, "..." when cut); NULL (or empty, when empty_null) is null. */
static void out_json_string(struct out *o, const char *s, size_t len, size_t max,
                            bool empty_null) {
        if (!s || (len == 0 && empty_null)) {
                out_str(o, "null");
                return;
        }
        static const char hex[] = "0123456789abcdef";
        size_t total = 0;
        for (size_t i = 0; i < len && total <= max; i++)
                total += plain((unsigned char)s[i]) ? 1 : 6;
        size_t budget = total <= max ? max : max - 3;
        size_t used = 0;
        out_char(o, '"');
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                size_t need = plain(c) ? 1 : 6;
                if (used + need > budget)
                        break;
                if (need == 1) {
                        out_char(o, (char)c);
                } else {
                        char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
                        out_bytes(o, e, 6);
                }
                used += need;
        }
        if (total > max)
                out_bytes(o, "...", 3);
        out_char(o, '"');
}

static void out_json_seconds(struct out *o, int64_t ms) {
        if (ms < 0)
                out_str(o, "null");
        else
                out_seconds(o, ms);
}

static void out_json_key(struct out *o, const char *key) {
        out_str(o, ",\"");
        out_str(o, key);
        out_str(o, "\":");
}

size_t lbd_access_log_format_json(char *buf, size_t cap, const struct lbd_access_entry *e,
                                  const char *time_iso) {
        struct out o = { buf, 0, cap - 1 };
        out_str(&o, "{\"time\":\"");
        out_str(&o, time_iso);
        out_str(&o, "\",\"protocol\":");
        out_str(&o, e->tcp ? "\"tcp\"" : "\"http\"");
        out_json_key(&o, "service");
        out_json_string(&o, e->service, e->service ? strlen(e->service) : 0, 128, true);
        out_json_key(&o, "remote_addr");
        char ip[LBD_ADDRESS_IP_TEXT_MAX];
        size_t ip_len = lbd_address_ip_text(e->client_family, e->client_addr, ip);
        out_json_string(&o, ip, ip_len, sizeof ip, false);
        if (!e->tcp) {
                out_json_key(&o, "request");
                out_json_string(&o, e->request, e->request_len, LBD_ACCESS_LOG_REQUEST_MAX,
                                false);
        }
        out_json_key(&o, "status");
        out_u64(&o, e->status);
        if (e->tcp) {
                out_json_key(&o, "bytes_sent");
                out_u64(&o, e->bytes_sent);
                out_json_key(&o, "bytes_received");
                out_u64(&o, e->bytes_received);
        } else {
                out_json_key(&o, "body_bytes_sent");
                out_u64(&o, e->bytes_sent);
                out_json_key(&o, "http_referer");
                out_json_string(&o, e->referer, e->referer_len, LBD_ACCESS_LOG_HEADER_MAX, true);
                out_json_key(&o, "http_user_agent");
                out_json_string(&o, e->user_agent, e->user_agent_len, LBD_ACCESS_LOG_HEADER_MAX,
                                true);
        }
        out_json_key(&o, "upstream_addr");
        out_json_string(&o, e->upstream, e->upstream ? strlen(e->upstream) : 0, 160, true);
        if (!e->tcp) {
                out_json_key(&o, "upstream_status");
                if (e->upstream && e->upstream_status)
                        out_u64(&o, e->upstream_status);
                else
                        out_str(&o, "null");
        }
        out_json_key(&o, "upstream_connect_time");
        out_json_seconds(&o, e->upstream ? e->connect_ms : -1);
        if (!e->tcp) {
                out_json_key(&o, "upstream_header_time");
                out_json_seconds(&o, e->upstream ? e->header_ms : -1);
                out_json_key(&o, "upstream_response_time");
                out_json_seconds(&o, e->upstream ? e->upstream_ms : -1);
        }
        out_json_key(&o, "request_time");
        out_seconds(&o, (int64_t)e->request_ms);
        out_json_key(&o, "retries");
        out_u64(&o, e->retries);
        /* A line cut by a small buffer is not JSON, but still one line. */
        if (o.len + 2 > o.cap && o.len > 0)
                o.len = o.cap >= 2 ? o.cap - 2 : 0;
        out_str(&o, "}\n");
        buf[o.len] = '\0';
        return o.len;
}

void lbd_access_log_time_iso(time_t t, char out[LBD_ACCESS_LOG_TIME_SIZE]) {
        struct tm tm;
        if (!localtime_r(&t, &tm)) {
                strcpy(out, "1970-01-01T00:00:00+00:00");
                return;
        }
        long off = tm.tm_gmtoff / 60;
        char sign = off < 0 ? '-' : '+';
        if (off < 0)
                off = -off;
        size_t n = strftime(out, LBD_ACCESS_LOG_TIME_SIZE - 7, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(out + n, LBD_ACCESS_LOG_TIME_SIZE - n, "%c%02ld:%02ld", sign, off / 60 % 100,
                 off % 60);
}

void lbd_access_log_time_local(time_t t, char out[LBD_ACCESS_LOG_TIME_SIZE]) {
        static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
        struct tm tm;
        if (!localtime_r(&t, &tm)) {
                strcpy(out, "01/Jan/1970:00:00:00 +0000");
                return;
        }
        long off = tm.tm_gmtoff / 60;
        char sign = off < 0 ? '-' : '+';
        if (off < 0)
                off = -off;
        /* C locale month names, whatever the locale */
        snprintf(out, LBD_ACCESS_LOG_TIME_SIZE, "%02d/%s/%04d:%02d:%02d:%02d %c%02ld%02ld",
                 tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, sign, off / 60 % 100, off % 60);
}

/* ---- the sink ---------------------------------------------------------- */

enum mode { MODE_OFF, MODE_FILE, MODE_JOURNAL };

/* Process-wide, set by the master before it forks (workers inherit them):
 * the fd number stays the same for the life of the process; reopening
 * dup2()s the new file onto it. */
static enum mode mode = MODE_OFF;
static bool json; /* access-log-format=json; set before the fork, as mode */

/* The time of the current second (time_local or ISO 8601), per thread: localtime_r() once a
 * second at most. */
static _Thread_local time_t cached_sec = -1;
static _Thread_local char cached_time[LBD_ACCESS_LOG_TIME_SIZE];

static int access_fd = -1;
static char access_path[PATH_MAX];
static bool access_share;
static gid_t access_gid;

/* A file log's block (nginx's buffer=/flush=): lines gather in the
 * worker's memory and go out in one write() when the next would not fit,
 * when the oldest has waited flush_ms (looked at with each line and with
 * each heartbeat), and when the worker ends. Whole lines only, so that
 * O_APPEND keeps the workers' blocks from cutting each other's lines. One
 * block per process, under a lock for the thread model; the master never
 * writes access lines. */
static size_t block_cap;   /* 0: a write() per line */
static uint64_t flush_ms = 1000;
static pthread_mutex_t block_lock = PTHREAD_MUTEX_INITIALIZER;
static char *block;
static size_t block_used;
static uint64_t block_since_ms;

static void block_write_locked(void) {
        if (block_used) {
                /* A short write (disk full) loses the rest, as nginx does. */
                (void)!write(access_fd, block, block_used);
                __atomic_store_n(&block_used, 0, __ATOMIC_RELAXED);
        }
}

/* Open path onto access_fd (a new fd number the first time). */
static int access_open(const char *path, bool share, gid_t gid) {
        int fd = log_file_open(path, share, gid);
        if (fd < 0)
                return fd;
        if (access_fd < 0) {
                access_fd = fd;
                return 0;
        }
        int r = dup3(fd, access_fd, O_CLOEXEC) < 0 ? -errno : 0;
        close(fd);
        return r;
}

/* A file named without a directory is in logs_dir. */
static int log_path(const char *logs_dir, const char *target, char out[PATH_MAX]) {
        int n = target[0] == '/' || strcmp(target, "journal") == 0 || strcmp(target, "off") == 0
                        ? snprintf(out, PATH_MAX, "%s", target)
                        : snprintf(out, PATH_MAX, "%s/%s", logs_dir, target);
        return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

int lbd_logs_open(const struct lbd_daemon_config *config, const char *logs_dir, bool share,
                  gid_t gid) {
        char error_path[PATH_MAX], target[PATH_MAX];
        int r = log_path(logs_dir, config->error_log, error_path);
        if (r < 0)
                return log_error_errno(r, "cannot open the error log %s in %s: %m",
                                       config->error_log, logs_dir);
        r = log_set_error_log(error_path, share, gid);
        if (r < 0)
                return log_error_errno(r, "cannot open the error log %s: %m", error_path);
        r = config->access_log ? log_path(logs_dir, config->access_log, target) : 0;
        if (r < 0)
                return log_error_errno(r, "cannot open the access log %s in %s: %m",
                                       config->access_log, logs_dir);
        if (!config->access_log)
                strcpy(target, "off");
        if (json != (config->access_log_format == LBD_ACCESS_LOG_JSON)) {
                json = config->access_log_format == LBD_ACCESS_LOG_JSON;
                cached_sec = -1; /* this thread's cached time is the other format's */
        }
        if (strcmp(target, "off") == 0 || strcmp(target, "journal") == 0) {
                if (access_fd >= 0) {
                        close(access_fd);
                        access_fd = -1;
                }
                access_path[0] = '\0';
                mode = strcmp(target, "journal") == 0 ? MODE_JOURNAL : MODE_OFF;
                return 0;
        }
        r = access_open(target, share, gid);
        if (r < 0)
                return log_error_errno(r, "cannot open the access log %s: %m", target);
        strcpy(access_path, target);
        block_cap = config->access_log_buffer;
        flush_ms = 1000ull * (config->access_log_flush ? config->access_log_flush : 1);
        access_share = share;
        access_gid = gid;
        mode = MODE_FILE;
        return 0;
}

int lbd_logs_reopen(void) {
        int ret = 0;
        int r = log_reopen_error_log();
        if (r < 0) {
                log_error_errno(r, "cannot reopen the error log: %m");
                ret = r;
        }
        if (mode == MODE_FILE) {
                r = access_open(access_path, access_share, access_gid);
                if (r < 0) {
                        log_error_errno(r, "cannot reopen the access log %s: %m", access_path);
                        ret = r;
                }
        }
        return ret;
}

size_t lbd_logs_reopened_files(const char *paths[2]) {
        size_t n = 0;
        if (log_error_log_path())
                paths[n++] = log_error_log_path();
        if (mode == MODE_FILE)
                paths[n++] = access_path;
        return n;
}

void lbd_logs_reopen_signal_safe(void) {
        int saved_errno = errno;
        log_reopen_error_log_signal_safe();
        if (mode == MODE_FILE && access_fd >= 0) {
                /* The master created the file (group-writable for us). */
                int fd = open(access_path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY);
                if (fd >= 0) {
                        (void)dup3(fd, access_fd, O_CLOEXEC);
                        close(fd);
                }
        }
        errno = saved_errno;
}

bool lbd_access_log_enabled(void) { return mode != MODE_OFF; }

static const char *time_local_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME_COARSE, &ts);
        if (ts.tv_sec != cached_sec) {
                if (json)
                        lbd_access_log_time_iso(ts.tv_sec, cached_time);
                else
                        lbd_access_log_time_local(ts.tv_sec, cached_time);
                cached_sec = ts.tv_sec;
        }
        return cached_time;
}

static void journal_send(const struct lbd_access_entry *e, const char *line, size_t len) {
        char client[INET6_ADDRSTRLEN] = "unix:";
        if (e->client_family == AF_INET || e->client_family == AF_INET6)
                inet_ntop(e->client_family, e->client_addr, client, sizeof client);
        char up_time[32] = "-", req_time[32];
        if (e->upstream && e->upstream_ms >= 0)
                snprintf(up_time, sizeof up_time, "%lld.%03lld", (long long)e->upstream_ms / 1000,
                         (long long)e->upstream_ms % 1000);
        snprintf(req_time, sizeof req_time, "%llu.%03llu",
                 (unsigned long long)e->request_ms / 1000,
                 (unsigned long long)e->request_ms % 1000);
        char up_status[16] = "-", connect_time[32] = "-", header_time[32] = "-";
        if (e->upstream && e->upstream_status)
                snprintf(up_status, sizeof up_status, "%u", e->upstream_status);
        if (e->upstream && e->connect_ms >= 0)
                snprintf(connect_time, sizeof connect_time, "%lld.%03lld",
                         (long long)e->connect_ms / 1000, (long long)e->connect_ms % 1000);
        if (e->upstream && e->header_ms >= 0)
                snprintf(header_time, sizeof header_time, "%lld.%03lld",
                         (long long)e->header_ms / 1000, (long long)e->header_ms % 1000);
        const char *ref = e->referer && e->referer_len ? e->referer : "-";
        int ref_len = ref == e->referer ? (int)e->referer_len : 1;
        const char *ua = e->user_agent && e->user_agent_len ? e->user_agent : "-";
        int ua_len = ua == e->user_agent ? (int)e->user_agent_len : 1;
        const char *req = e->tcp ? "TCP" : e->request ? e->request : "-";
        int req_len = e->tcp || !e->request ? (int)strlen(req)
                      : (int)(e->request_len > LBD_ACCESS_LOG_REQUEST_MAX
                                      ? LBD_ACCESS_LOG_REQUEST_MAX
                                      : e->request_len);
        sd_journal_send("MESSAGE=%.*s", (int)(len ? len - 1 : 0), line, "PRIORITY=%i", LOG_INFO,
                        "SYSLOG_IDENTIFIER=%s", program_invocation_short_name,
                        "LBD_COMPONENT=access", "LBD_SERVICE=%s", e->service ? e->service : "-",
                        "LBD_CLIENT=%s", client, "LBD_REQUEST=%.*s", req_len, req,
                        "LBD_STATUS=%u",
                        e->status, "LBD_BYTES_SENT=%llu", (unsigned long long)e->bytes_sent,
                        "LBD_BYTES_RECEIVED=%llu", (unsigned long long)e->bytes_received,
                        "LBD_UPSTREAM=%s", e->upstream ? e->upstream : "-",
                        "LBD_UPSTREAM_TIME=%s", up_time, "LBD_REQUEST_TIME=%s", req_time,
                        "LBD_UPSTREAM_STATUS=%s", up_status, "LBD_CONNECT_TIME=%s", connect_time,
                        "LBD_HEADER_TIME=%s", header_time, "LBD_RETRIES=%u", e->retries,
                        "LBD_REFERER=%.*s", ref_len, ref, "LBD_USER_AGENT=%.*s", ua_len, ua,
                        NULL);
}

void lbd_access_log_write(const struct lbd_access_entry *e) {
        if (mode == MODE_OFF)
                return;
        char line[LBD_ACCESS_LOG_LINE_MAX];
        size_t len = json ? lbd_access_log_format_json(line, sizeof line, e, time_local_now())
                          : lbd_access_log_format(line, sizeof line, e, time_local_now());
        if (mode == MODE_JOURNAL) {
                journal_send(e, line, len);
                return;
        }
        int saved_errno = errno;
        if (block_cap < LBD_ACCESS_LOG_LINE_MAX) {
                /* One write: O_APPEND places the whole line at the end. A
                 * short write (disk full) loses the rest, as nginx does. */
                (void)!write(access_fd, line, len);
                errno = saved_errno;
                return;
        }
        uint64_t now = lbd_now_ms();
        pthread_mutex_lock(&block_lock);
        if (!block)
                block = malloc(block_cap);
        if (!block) {
                (void)!write(access_fd, line, len);
        } else {
                if (block_used + len > block_cap)
                        block_write_locked();
                if (!block_used)
                        block_since_ms = now;
                memcpy(block + block_used, line, len);
                __atomic_store_n(&block_used, block_used + len, __ATOMIC_RELAXED);
                if (now - block_since_ms >= flush_ms)
                        block_write_locked();
        }
        pthread_mutex_unlock(&block_lock);
        errno = saved_errno;
}

void lbd_access_log_tick(uint64_t now_ms) {
        /* A peek without the lock (each heartbeat): a line added meanwhile
         * is seen at the next one. */
        if (!__atomic_load_n(&block_used, __ATOMIC_RELAXED))
                return;
        pthread_mutex_lock(&block_lock);
        if (block_used && now_ms - block_since_ms >= flush_ms)
                block_write_locked();
        pthread_mutex_unlock(&block_lock);
}

void lbd_access_log_flush(void) {
        pthread_mutex_lock(&block_lock);
        block_write_locked();
        free(block);
        block = NULL;
        pthread_mutex_unlock(&block_lock);
}

/* ---- what the http mode keeps ----------------------------------------- */

void lbd_access_http_begin(struct lbd_access_http *a, uint64_t now) {
        a->start_ms = now;
        a->upstream_ms = 0;
        a->body_bytes = 0;
        a->status = 0;
        a->logged = false;
        a->request_len = a->referer_len = a->user_agent_len = 0;
}

static uint16_t keep(char *dst, size_t cap, const char *src, size_t len) {
        if (len > cap)
                len = cap;
        memcpy(dst, src, len);
        return (uint16_t)len;
}

void lbd_access_http_request(struct lbd_access_http *a, const char *buf,
                             const struct lbd_http_msg *m) {
        if (mode == MODE_OFF)
                return;
        const char *line = buf + m->start;
        size_t max = m->head_len - m->start;
        const char *eol = memchr(line, '\n', max);
        size_t len = eol ? (size_t)(eol - line) : max;
        if (len && line[len - 1] == '\r')
                len--;
        a->request_len = keep(a->request, sizeof a->request, line, len);
        for (uint32_t i = 0; i < m->n_headers; i++) {
                const struct lbd_http_header *h = &m->headers[i];
                if (h->name.len == 7 && strncasecmp(buf + h->name.off, "referer", 7) == 0)
                        a->referer_len = keep(a->referer, sizeof a->referer, buf + h->value.off,
                                              h->value.len);
                else if (h->name.len == 10 &&
                         strncasecmp(buf + h->name.off, "user-agent", 10) == 0)
                        a->user_agent_len = keep(a->user_agent, sizeof a->user_agent,
                                                 buf + h->value.off, h->value.len);
        }
}

void lbd_access_http_request_raw(struct lbd_access_http *a, const char *buf, size_t len) {
        if (mode == MODE_OFF)
                return;
        while (len && (*buf == '\r' || *buf == '\n')) {
                buf++;
                len--;
        }
        size_t n = 0;
        while (n < len && buf[n] != '\r' && buf[n] != '\n')
                n++;
        a->request_len = keep(a->request, sizeof a->request, buf, n);
}
