/* SPDX-License-Identifier: MIT */
/*
 * The http mode of sessions: HTTP/1.1 to the client with keep-alive and
 * pipelining, HTTP/1.1 with keep-alive to the backends through a small pool
 * of idle upstream connections.
 *
 * Per request: read the head into the client buffer, parse it (http.h, with
 * Gunicorn's limits), pick a backend (a pooled connection to it if one is
 * idle, else a fresh connect with retries on other backends), forward the
 * head rewritten (hop-by-hop headers dropped, X-Forwarded-For appended,
 * X-Forwarded-Proto set, Connection: keep-alive), then stream the request
 * body up and the response down at the same time, through bounded buffers,
 * with the body scanner deciding where each message ends. A 101 switches the
 * session to the tcp byte relay.
 *
 * Memory: an idle connection is its struct lbd_session (no buffer). The
 * buffers, the parser and its header table form a struct http_txn, attached
 * when a request starts and given back when the connection is idle again to
 * a small per-thread cache, so a busy keep-alive connection allocates
 * nothing per request and an idle one holds nothing.
 *
 * The upstream pool and the txn cache are per thread (_Thread_local): the
 * event and sync models run all sessions of a worker on one thread, the
 * thread model runs each session start to end on one thread, so no lock is
 * needed; a thread's pool serves the sessions of that thread only.
 *
 * Timeouts: waiting for the first byte of a request: daemon.keepalive
 * seconds (HTTP_HEADER_TIMEOUT_S on a fresh connection when keepalive is 0);
 * from the first byte of a head to its end: HTTP_HEADER_TIMEOUT_S (nginx's
 * client_header_timeout); connect: proxy-connect-timeout; the backend
 * silent (no byte moved either way) past proxy-read-timeout: 504 if no
 * response had started, else the connection is closed.
 *
 * The access log (access-log.h): one line per request, written where the
 * exchange ends: the response complete (finish_exchange), a response of
 * lbd's own (local_response), a 101 (start_tunnel), or the connection lost
 * mid-exchange (phase_exchange). log_request() writes at most one per
 * request.
 *
 * Where a response ends (RFC 9112 section 6.3), one rule for every worker
 * model: once its head is complete, a response is relayed whatever follows
 * it, the backend's close included. A backend that closes right after a
 * complete response (Gunicorn's sync worker does after every one) is
 * normal: no failure, no retry. A response without Content-Length or
 * chunked ends at the close, and goes to the client with "Connection:
 * close". Only a close before a complete head is a 502 (and a retry, where
 * the request can be sent again); a close in the middle of a body with a
 * length closes the client too, since nothing else can tell it.
 *
 * HTTP/1.0 clients: a chunked response is de-chunked and delimited by the
 * close (HTTP/1.0 has no chunked coding), keep-alive only with a known
 * length, no 1xx; a request without Host gets one on its way to the
 * backend (proxy-host=, else the backend's address, as nginx's
 * $proxy_host).
 *
 * Expect: 100-continue is forwarded, and the backend's 100 Continue
 * relayed: it is the backend that wants the body or not.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "access-log.h"
#include "address.h"
#include "engine.h"
#include "http.h"
#include "log.h"
#include "session-private.h"
#include "upstream-pool.h"

#define HTTP_HEADER_TIMEOUT_S 60u
#define HTTP_BUF_SIZE RELAY_BUFFER_SIZE       /* first size of each buffer */
#define HTTP_MAX_HEADERS 100u                 /* = limit_request_fields */
/* Idle txns kept per thread: as many as a busy event or uring worker has
 * under way at c=500, so that a burst of requests does not allocate (and
 * the cache never holds more than the thread once had under way). */
#define HTTP_TXN_CACHE 1024u
#define HTTP_LINGER_MS 2000u
/* Room for the headers the proxy adds to a request head. */
#define HTTP_HEAD_EXTRA (INET6_ADDRSTRLEN + 160u)

enum http_phase {
        H_HEAD,     /* reading a request head (idle when nothing buffered) */
        H_CONNECT,  /* choosing/connecting an upstream */
        H_EXCHANGE, /* request up and response down */
        H_LOCAL,    /* writing a response of our own, then closing */
        H_LINGER,   /* our side shut: discard the client's bytes until EOF */
};

struct http_txn {
        struct http_txn *next_free;
        /* client → us: heads, request body, pipelined requests */
        char *cbuf;
        uint32_t ccap, cstart, cend;
        uint32_t cbody;  /* cbuf[cstart, cbody) is request body to send up */
        /* upstream → us: response heads and body */
        char *ubuf;
        uint32_t ucap, ustart, uend;
        uint32_t ubody;  /* ubuf[ustart, ubody) is response to send down */
        /* a head we made: to the backend, later to the client */
        char *obuf;
        uint32_t ocap, ostart, oend;
        bool o_to_client; /* obuf holds a response head / local response */

        uint64_t head_deadline;
        uint64_t body_sent;
        struct lbd_http_body rbody, sbody;
        uint32_t req_flags;
        uint8_t method;
        uint8_t req_minor;
        bool continued;    /* a 100 Continue went to the client */
        bool reused;       /* ufd came from the pool */
        bool no_pool;      /* retrying: connect afresh */
        bool req_done;     /* request body complete (scanner) */
        bool head_up;      /* the request head has been sent completely */
        bool wrote_up;     /* a byte of this request reached the upstream socket */
        bool resp_byte;    /* a byte of the response came */
        bool resp_head;    /* the final response head is parsed */
        bool resp_done;
        bool resp_sent_any; /* a response byte went to the client */
        bool client_keep;
        bool upstream_keep;
        bool tunnel;
        bool up_broken;    /* the upstream stopped reading our body */
        /* The backend closed (or reset) the connection: nothing more comes
         * from it, and whatever came before is relayed as it is. */
        bool up_eof;
        bool up_reset;     /* ...with an error, not a FIN */
        /* The response is chunked and the client speaks HTTP/1.0: the
         * framing is removed on the way (lbd_http_body_decode) and the
         * close ends the body. */
        bool dechunk;
        /* The request came without Host (HTTP/1.0): obuf[host_at,
         * host_at + host_len) is the Host line lbd writes, for the backend
         * being tried (set_request_host). */
        bool add_host;
        uint32_t host_at, host_len;
        /* Request body bytes already sent were dropped from cbuf: the
         * request can no longer be sent again (to another backend). */
        bool body_lost;
        uint32_t body_origin; /* cbuf offset of the body's first byte */
        uint64_t up_gen;      /* generation of s->backend's slot (pool key) */

        struct lbd_http_parser p;
        struct lbd_http_header headers[HTTP_MAX_HEADERS];
        struct lbd_access_http log;
        /* statistics (traffic-stats.h) of the request under way */
        uint64_t start_us;  /* first byte of the head */
        uint64_t ready_us;  /* the upstream connection was ready; 0: not yet */
        uint64_t first_byte_us; /* the response's first byte came; 0: not yet */
        uint64_t bytes_out; /* response bytes to the client, head included */
        uint32_t head_in;   /* bytes of the request head */
        bool server_cut;    /* the backend closed in the middle of the response */
};

/* ---- per-thread caches ------------------------------------------------- */

static _Thread_local struct http_txn *txn_cache;
static _Thread_local unsigned txn_cached;

static void txn_destroy(struct http_txn *t) {
        free(t->cbuf);
        free(t->ubuf);
        free(t->obuf);
        free(t);
}

static struct http_txn *txn_get(void) {
        struct http_txn *t = txn_cache;
        if (t) {
                txn_cache = t->next_free;
                txn_cached--;
        } else {
                t = calloc(1, sizeof(*t));
                if (!t)
                        return NULL;
                t->cbuf = malloc(HTTP_BUF_SIZE);
                t->ubuf = malloc(HTTP_BUF_SIZE);
                if (!t->cbuf || !t->ubuf) {
                        txn_destroy(t);
                        return NULL;
                }
                t->ccap = t->ucap = HTTP_BUF_SIZE;
        }
        t->cstart = t->cend = t->cbody = 0;
        t->ustart = t->uend = t->ubody = 0;
        t->ostart = t->oend = 0;
        t->head_deadline = 0;
        t->resp_sent_any = false;
        return t;
}

static void txn_put(struct http_txn *t) {
        if (!t)
                return;
        /* A buffer a large head made grow is not kept. */
        if (txn_cached >= HTTP_TXN_CACHE || t->ccap > HTTP_BUF_SIZE || t->ucap > HTTP_BUF_SIZE ||
            t->ocap > 2 * HTTP_BUF_SIZE) {
                txn_destroy(t);
                return;
        }
        t->next_free = txn_cache;
        txn_cache = t;
        txn_cached++;
}

/* ---- small helpers ----------------------------------------------------- */

static bool is_again(void) { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR; }

static bool ensure_obuf(struct http_txn *t, size_t need) {
        if (t->ocap >= need)
                return true;
        size_t cap = need < HTTP_BUF_SIZE ? HTTP_BUF_SIZE : need;
        char *b = realloc(t->obuf, cap);
        if (!b)
                return false;
        t->obuf = b;
        t->ocap = (uint32_t)cap;
        return true;
}

static void put(struct http_txn *t, const char *s, size_t n) {
        memcpy(t->obuf + t->oend, s, n);
        t->oend += (uint32_t)n;
}

static void puts_(struct http_txn *t, const char *s) { put(t, s, strlen(s)); }

static bool idempotent(uint8_t m) {
        return m == LBD_HTTP_METHOD_GET || m == LBD_HTTP_METHOD_HEAD ||
               m == LBD_HTTP_METHOD_PUT || m == LBD_HTTP_METHOD_DELETE ||
               m == LBD_HTTP_METHOD_OPTIONS || m == LBD_HTTP_METHOD_TRACE;
}

static const char *status_reason(int status) {
        switch (status) {
        case 400: return "Bad Request";
        case 405: return "Method Not Allowed";
        case 414: return "URI Too Long";
        case 417: return "Expectation Failed";
        case 431: return "Request Header Fields Too Large";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505: return "HTTP Version Not Supported";
        default: return "Error";
        }
}

/* Should this header of a message be left out when forwarding it? */
static bool drop_header(const struct lbd_http_msg *m, const char *buf,
                        const struct lbd_http_header *h) {
        if (h->flags & (LBD_HTTP_HEADER_DROP | LBD_HTTP_HEADER_UNDERSCORE))
                return true;
        /* Headers named in Connection are flagged DROP by the parser, which
         * alone decides: it never drops Host, Content-Length or
         * Transfer-Encoding that way ("Connection: Content-Length" must not
         * strip the framing the backend needs: that is request smuggling). */
        return false;
}

/* ---- lifecycle --------------------------------------------------------- */

static void http_start(struct lbd_session *s) {
        s->phase = H_HEAD;
        unsigned ka = s->worker->config->daemon.keepalive;
        s->deadline_ms = lbd_now_ms() + 1000ull * (ka ? ka : HTTP_HEADER_TIMEOUT_S);
}

static void http_free(struct lbd_session *s) {
        if (s->detach_fd >= 0)
                session_close_fd(&s->detach_fd);
        if (s->txn) {
                txn_put(s->txn);
                s->txn = NULL;
        }
}

/* Give the upstream connection back: to the pool (through a detach, so the
 * worker model forgets it first) or closed. */
static void release_upstream(struct lbd_session *s, bool keep) {
        if (s->ufd < 0)
                return;
        if (keep && s->detach_fd < 0) {
                s->detach_fd = s->ufd;
                s->ufd = -1;
                return;
        }
        session_close_fd(&s->ufd);
}

/* Back to waiting for the next request (pipelined bytes stay in cbuf). */
static void next_request(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        s->phase = H_HEAD;
        s->tries = 0;
        unsigned ka = s->worker->config->daemon.keepalive;
        s->deadline_ms = lbd_now_ms() + 1000ull * ka;
        t->head_deadline = 0;
        t->ostart = t->oend = 0;
        t->resp_sent_any = false;
        if (t->cstart == t->cend)
                t->cstart = t->cend = 0;
}

/* The end of the request under way (at most once): its statistics and
 * its access log line. A 499 is the client's abort, a response cut short
 * by the backend or its silence past proxy-read-timeout the server's. */
static void log_request(struct lbd_session *s, unsigned status, uint64_t body_bytes) {
        struct http_txn *t = s->txn;
        if (!t || t->log.logged)
                return;
        t->log.logged = true;
        uint64_t now_us = lbd_now_us();
        bool cut = t->server_cut;
        bool short_of_end = t->resp_head && !t->resp_done && !t->tunnel;
        struct lbd_exchange x = {
                .status = status,
                .bytes_in = t->head_in + t->body_sent,
                .bytes_out = t->bytes_out,
                .total_us = now_us - t->start_us,
                .client_abort = !cut && (status == 499 || short_of_end),
                .server_abort = cut,
        };
        lbd_table_count_exchange(s->worker->table, s->pool, s->tries > 0 ? (long)s->backend : -1,
                                 &x);
        if (!lbd_access_log_enabled())
                return;
        uint64_t now = now_us / LBD_USEC_PER_MSEC;
        bool tried = s->tries > 0 && t->log.upstream_ms;
        const char *upstream = tried ? session_backend_text(s) : NULL;
        struct lbd_access_entry e = {
                .client_family = s->peer_family,
                .client_addr = s->peer_addr,
                .service = s->service->name,
                .request = t->log.request_len ? t->log.request : NULL,
                .request_len = t->log.request_len,
                .referer = t->log.referer_len ? t->log.referer : NULL,
                .referer_len = t->log.referer_len,
                .user_agent = t->log.user_agent_len ? t->log.user_agent : NULL,
                .user_agent_len = t->log.user_agent_len,
                .status = status,
                .bytes_sent = body_bytes,
                .upstream = upstream,
                .upstream_ms = upstream ? (int64_t)(now - t->log.upstream_ms) : -1,
                .request_ms = now - t->log.start_ms,
                .upstream_status = upstream && t->resp_head ? t->log.status : 0,
                /* Of the last try (an earlier one's times do not count). */
                .connect_ms = t->ready_us >= s->attempt_us && t->ready_us
                                      ? (int64_t)((t->ready_us - s->attempt_us) / 1000)
                                      : -1,
                .header_ms = t->first_byte_us >= s->attempt_us && t->first_byte_us
                                     ? (int64_t)((t->first_byte_us - s->attempt_us) / 1000)
                                     : -1,
                .retries = s->tries > 1 ? s->tries - 1 : 0,
        };
        lbd_access_log_write(&e);
}

/* Answer with a response of our own, then close (lingering). */
static void local_response(struct lbd_session *s, int status, const char *why) {
        struct http_txn *t = s->txn;
        release_upstream(s, false);
        if (s->phase == H_HEAD && !t->log.request_len)
                lbd_access_http_request_raw(&t->log, t->cbuf + t->cstart, t->cend - t->cstart);
        if (t->resp_sent_any || !ensure_obuf(t, 512)) {
                t->server_cut = t->resp_head; /* the response cannot end well */
                if (t->resp_head)
                        log_request(s, t->log.status, t->log.body_bytes);
                else
                        log_request(s, (unsigned)status, 0);
                session_release_backend(s);
                s->phase = H_LINGER;
                session_shutdown(s, 0);
                s->deadline_ms = lbd_now_ms() + HTTP_LINGER_MS;
                return;
        }
        char body[160];
        int blen = snprintf(body, sizeof body, "<html><body><h1>%d %s</h1></body></html>\n",
                            status, status_reason(status));
        int n = snprintf(t->obuf, t->ocap,
                         "HTTP/1.1 %d %s\r\nContent-Type: text/html\r\nContent-Length: %d\r\n"
                         "Connection: close\r\n\r\n%s",
                         status, status_reason(status), blen, body);
        t->ostart = 0;
        t->oend = (uint32_t)n;
        t->o_to_client = true;
        t->bytes_out += (uint64_t)n;
        log_request(s, (unsigned)status, (uint64_t)blen);
        session_release_backend(s);
        s->phase = H_LOCAL;
        s->deadline_ms = lbd_now_ms() + 5000;
        if (status >= 500)
                log_full(LOG_WARNING, s->service->name, "answering %d: %s", status, why);
        else
                log_full(LOG_INFO, s->service->name, "answering %d: %s", status, why);
}

/* ---- the request head --------------------------------------------------- */

/* Write the request head to forward into obuf. */
static bool build_request_head(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        const struct lbd_http_msg *m = &t->p.msg;
        const char *buf = t->cbuf + t->cstart;
        if (!ensure_obuf(t, (size_t)m->head_len + HTTP_HEAD_EXTRA + 64))
                return false;
        t->ostart = t->oend = 0;
        t->o_to_client = false;
        put(t, buf + m->method_name.off, m->method_name.len);
        put(t, " ", 1);
        put(t, buf + m->target.off, m->target.len);
        puts_(t, " HTTP/1.1\r\n");
        /* HTTP/1.1 requires Host; the one for a request without it depends
         * on the backend, so its place is kept (set_request_host). */
        t->add_host = !(m->flags & LBD_HTTP_F_HOST);
        t->host_at = t->oend;
        t->host_len = 0;
        struct lbd_http_span xff[8];
        unsigned n_xff = 0;
        bool xff_overflow = false;
        for (uint32_t i = 0; i < m->n_headers; i++) {
                const struct lbd_http_header *h = &m->headers[i];
                if (h->id == LBD_HTTP_H_X_FORWARDED_FOR && !(h->flags & LBD_HTTP_HEADER_DROP)) {
                        if (h->value.len && n_xff < 8)
                                xff[n_xff++] = h->value;
                        else if (h->value.len)
                                xff_overflow = true;
                        continue;
                }
                if (h->id == LBD_HTTP_H_X_FORWARDED_PROTO)
                        continue;
                if (h->id == LBD_HTTP_H_EXPECT && m->version_minor == 0)
                        continue; /* ignored in HTTP/1.0 (RFC 9110 section 10.1.1) */
                if (drop_header(m, buf, h))
                        continue;
                /* name: value, as received */
                put(t, buf + h->name.off, h->name.len);
                put(t, ": ", 2);
                put(t, buf + h->value.off, h->value.len);
                put(t, "\r\n", 2);
        }
        if (xff_overflow)
                n_xff = 0; /* absurd: keep only ours */
        puts_(t, "X-Forwarded-For: ");
        for (unsigned i = 0; i < n_xff; i++) {
                put(t, buf + xff[i].off, xff[i].len);
                put(t, ", ", 2);
        }
        char ip[LBD_ADDRESS_IP_TEXT_MAX];
        put(t, ip, lbd_address_ip_text(s->peer_family, s->peer_addr, ip));
        puts_(t, "\r\nX-Forwarded-Proto: http\r\n");
        if (m->flags & LBD_HTTP_F_CONTENT_LENGTH_REWRITE) {
                char cl[48];
                int n = snprintf(cl, sizeof cl, "Content-Length: %llu\r\n",
                                 (unsigned long long)m->content_length);
                put(t, cl, (size_t)n);
        }
        puts_(t, (m->flags & LBD_HTTP_F_UPGRADE) ? "Connection: upgrade\r\n\r\n"
                                                 : "Connection: keep-alive\r\n\r\n");
        return true;
}

/* The Host line of a request that came without one, for the backend
 * s->backend: proxy-host= if set, else the backend's address (a unix
 * socket's: localhost). Replaces the line written for a backend tried
 * before. */
static bool set_request_host(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        if (!t->add_host)
                return true;
        const char *host = s->service->proxy_host;
        if (!host) {
                host = session_backend_text(s);
                if (strncmp(host, "unix:", 5) == 0)
                        host = "localhost";
        }
        char line[sizeof lbd_table_address(s->worker->table, 0)->text + 16];
        int n = snprintf(line, sizeof line, "Host: %s\r\n", host);
        if (n < 0 || (size_t)n >= sizeof line)
                return false; /* proxy-host= is checked to fit */
        size_t tail = t->oend - t->host_at - t->host_len;
        if (!ensure_obuf(t, (size_t)t->oend - t->host_len + (size_t)n))
                return false;
        memmove(t->obuf + t->host_at + n, t->obuf + t->host_at + t->host_len, tail);
        memcpy(t->obuf + t->host_at, line, (size_t)n);
        t->oend = t->host_at + (uint32_t)n + (uint32_t)tail;
        t->host_len = (uint32_t)n;
        return true;
}

/* The final response head, rewritten for the client, into obuf. */
static bool build_response_head(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        const struct lbd_http_msg *m = &t->p.msg;
        const char *buf = t->ubuf;
        if (!ensure_obuf(t, (size_t)m->head_len + 64))
                return false;
        t->ostart = t->oend = 0;
        t->o_to_client = true;
        /* the status line, as received */
        const char *line = buf + m->start;
        const char *eol = memchr(line, '\n', m->head_len - m->start);
        put(t, line, (size_t)(eol - line + 1));
        for (uint32_t i = 0; i < m->n_headers; i++) {
                const struct lbd_http_header *h = &m->headers[i];
                if (drop_header(m, buf, h) && !(t->tunnel && h->id == LBD_HTTP_H_UPGRADE))
                        continue;
                if (t->dechunk && h->id == LBD_HTTP_H_TRANSFER_ENCODING)
                        continue;
                put(t, buf + h->name.off, h->name.len);
                put(t, ": ", 2);
                put(t, buf + h->value.off, h->value.len);
                put(t, "\r\n", 2);
        }
        if (m->flags & LBD_HTTP_F_CONTENT_LENGTH_REWRITE) {
                char cl[48];
                int n = snprintf(cl, sizeof cl, "Content-Length: %llu\r\n",
                                 (unsigned long long)m->content_length);
                put(t, cl, (size_t)n);
        }
        if (t->tunnel)
                puts_(t, "Connection: upgrade\r\n\r\n");
        else
                puts_(t, t->client_keep ? "Connection: keep-alive\r\n\r\n"
                                        : "Connection: close\r\n\r\n");
        return true;
}

/* Feed new request body bytes cbuf[cbody, cend) to the scanner. Returns 0,
 * or an error of the body (400). */
static int scan_request_body(struct http_txn *t) {
        if (t->req_done || t->cbody >= t->cend)
                return 0;
        size_t used = 0;
        enum lbd_http_error e =
                lbd_http_body_feed(&t->rbody, t->cbuf + t->cbody, t->cend - t->cbody, &used);
        t->cbody += (uint32_t)used;
        if (e == LBD_HTTP_OK)
                t->req_done = true;
        else if (e != LBD_HTTP_NEED_MORE)
                return e;
        return 0;
}

/* Read the client until EAGAIN or a full buffer. 1: bytes came, 0: EAGAIN
 * or full, -1: EOF or error. */
static int read_client(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        int got = 0;
        while (t->cend < t->ccap) {
                ssize_t n = session_recv(s, 0, t->cbuf + t->cend, t->ccap - t->cend);
                if (n > 0) {
                        t->cend += (uint32_t)n;
                        got = 1;
                        continue;
                }
                if (n < 0 && is_again())
                        return got;
                return got ? 1 : -1; /* EOF or error: seen again next time if bytes came */
        }
        return got;
}

/* Read and parse until a request head is complete: 2 complete, 1 a local
 * response was started (phase changed), 0 wait, -1 done. */
static int read_head(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        /* A stopping worker does not close an idle keep-alive connection
         * at once: a client may be sending its next request right now, and
         * would see a reset it cannot tell from a failure. It waits (up to
         * the keepalive deadline) for that request, answers it with
         * "Connection: close" (client_keep below), then closes. */
        if (!t) {
                t = s->txn = txn_get();
                if (!t)
                        return -1;
        }
        for (;;) {
                if (t->cstart == t->cend)
                        t->cstart = t->cend = 0;
                if (t->cend == t->ccap && t->cstart > 0) {
                        memmove(t->cbuf, t->cbuf + t->cstart, t->cend - t->cstart);
                        t->cend -= t->cstart;
                        t->cstart = 0;
                }
                bool had = t->cend > t->cstart;
                int r = 0;
                if (!had) {
                        r = read_client(s);
                        if (r < 0)
                                return -1; /* closed between requests */
                        if (r == 0) {
                                /* Idle: hold no buffer. */
                                txn_put(t);
                                s->txn = NULL;
                                return 0;
                        }
                }
                if (!t->head_deadline) {
                        t->start_us = lbd_now_us();
                        uint64_t now = t->start_us / LBD_USEC_PER_MSEC;
                        lbd_access_http_begin(&t->log, now);
                        t->bytes_out = 0;
                        t->head_in = 0;
                        t->ready_us = t->first_byte_us = 0;
                        t->server_cut = false;
                        t->head_deadline = now + 1000ull * HTTP_HEADER_TIMEOUT_S;
                        s->deadline_ms = t->head_deadline;
                        lbd_http_parser_init_request(&t->p, NULL, t->headers, HTTP_MAX_HEADERS);
                }
                enum lbd_http_error e =
                        lbd_http_parse(&t->p, t->cbuf + t->cstart, t->cend - t->cstart);
                if (e == LBD_HTTP_OK)
                        break;
                if (e != LBD_HTTP_NEED_MORE) {
                        local_response(s, lbd_http_error_status(e), lbd_http_error_reason(e));
                        return 1;
                }
                if (t->cend == t->ccap && t->cstart == 0) {
                        /* Grow towards the head limit (the parser enforces it). */
                        uint32_t cap = t->ccap * 2;
                        if (cap > LBD_HTTP_LIMITS_DEFAULT.head_size + 1024)
                                cap = LBD_HTTP_LIMITS_DEFAULT.head_size + 1024;
                        if (cap == t->ccap) {
                                local_response(s, 431, "head too large");
                                return 1;
                        }
                        char *b = realloc(t->cbuf, cap);
                        if (!b)
                                return -1;
                        t->cbuf = b;
                        t->ccap = cap;
                }
                r = read_client(s);
                if (r < 0)
                        return -1; /* EOF in the middle of a head */
                if (r == 0 && t->cend < t->ccap)
                        return 0;
        }
        return 2;
}

/* A complete request head: check it, write the head to forward, start
 * the body scanner and go on to H_CONNECT. 1 go on, -1 done. */
static int start_request(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        const struct lbd_http_msg *m = &t->p.msg;
        lbd_access_http_request(&t->log, t->cbuf + t->cstart, m);
        t->head_in = m->head_len;
        if (m->flags & LBD_HTTP_F_EXPECT_OTHER) {
                local_response(s, 417, "unknown Expect");
                return 1;
        }
        if (m->method == LBD_HTTP_METHOD_CONNECT) {
                local_response(s, 405, "CONNECT");
                return 1;
        }
        t->req_flags = m->flags;
        t->method = (uint8_t)m->method;
        t->req_minor = m->version_minor;
        t->req_done = false;
        t->head_up = t->wrote_up = t->resp_byte = t->resp_head = t->resp_done = false;
        t->resp_sent_any = t->tunnel = t->continued = false;
        t->reused = t->no_pool = t->up_broken = t->body_lost = false;
        t->body_sent = 0;
        if (!build_request_head(s))
                return -1;
        lbd_http_body_init(&t->rbody, m->body, m->content_length, NULL);
        t->cstart += m->head_len;
        t->cbody = t->cstart;
        t->body_origin = t->cstart;
        if (m->body == LBD_HTTP_BODY_NONE)
                t->req_done = true;
        int be = scan_request_body(t);
        if (be) {
                local_response(s, 400, lbd_http_error_reason(be));
                return 1;
        }
        atomic_fetch_add_explicit(&s->worker->slot->requests, 1, memory_order_relaxed);
        s->tries = 0;
        t->log.upstream_ms = lbd_now_ms();
        s->phase = H_CONNECT;
        return 1;
}

/* H_HEAD: returns 1 to go on with another phase, 0 to wait, -1 done. */
static int phase_head(struct lbd_session *s) {
        int r = read_head(s);
        return r == 2 ? start_request(s) : r;
}

/* ---- connecting --------------------------------------------------------- */

static int phase_connect(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        if (s->ufd >= 0) {
                int err = session_connect_result(s);
                if (err == EINPROGRESS) {
                        if (lbd_now_ms() < s->deadline_ms)
                                return 0;
                        log_full(LOG_WARNING, s->service->name,
                                 "connect to %s timed out; trying another backend",
                                 session_backend_text(s));
                        session_backend_failed(s, true, "connect timed out");
                } else if (err == 0) {
                        goto connected;
                } else {
                        log_full(LOG_WARNING, s->service->name,
                                 "cannot connect to %s; trying another backend",
                                 session_note_connect_error(s, err));
                        session_backend_failed(s, true, strerror(err));
                }
                session_close_fd(&s->ufd);
        }
        s->attempt_us = lbd_now_us();
        /* The first pick may use a pooled connection. */
        if (s->tries == 0 && !t->no_pool) {
                long i = session_pick_backend(s);
                if (i >= 0) {
                        s->tries++;
                        t->up_gen = lbd_table_slot_generation(s->worker->table, (uint32_t)i);
                        bool watched = s->worker->features & LBD_WORKER_WATCHES_IDLE;
                        int fd = upstream_pool_take((uint32_t)i, t->up_gen, lbd_now_ms(),
                                                    watched);
                        if (fd >= 0) {
                                s->ufd = fd;
                                s->ufd_new = watched ? LBD_FD_FROM_IDLE : LBD_FD_NEW;
                                /* Nothing to read: the pool's peek, or the
                                 * model's watch, found it empty. */
                                s->ready[1] = LBD_READY_WRITE;
                                t->reused = true;
                                goto connected;
                        }
                        if (session_connect_to(s, i) == 0) {
                                t->reused = false;
                                return 0;
                        }
                }
        }
        if (session_start_connect(s) < 0) {
                const char *last = session_last_connect_error(s);
                char why[sizeof "no backend reachable; last: " + SESSION_CONNECT_ERROR_MAX];
                snprintf(why, sizeof why, "no backend reachable%s%s", last ? "; last: " : "",
                         last ? last : "");
                local_response(s, 502, why);
                return 1;
        }
        t->up_gen = lbd_table_slot_generation(s->worker->table, s->backend);
        t->reused = false;
        return 0;
connected:
        if (!set_request_host(s))
                return -1;
        t->ready_us = lbd_now_us();
        lbd_table_count_connected(s->worker->table, s->backend, t->reused,
                                  t->ready_us - s->attempt_us);
        lbd_table_count_request(s->worker->table, s->backend);
        lbd_http_parser_init_response(&t->p, NULL, t->headers, HTTP_MAX_HEADERS, t->method);
        t->ustart = t->uend = t->ubody = 0;
        t->resp_byte = t->resp_head = t->resp_done = false;
        t->up_eof = t->up_reset = t->dechunk = false;
        s->phase = H_EXCHANGE;
        s->deadline_ms = lbd_now_ms() + 1000ull * s->service->proxy_read_timeout;
        return 1;
}

/* Whether the request can be sent again from the start: nothing of the
 * response came, the body bytes sent are still in cbuf, and the backend
 * cannot have acted on it already, or it may do so twice (idempotent). */
static bool can_resend(const struct http_txn *t) {
        return !t->resp_byte && (t->body_sent == 0 || !t->body_lost) &&
               (idempotent(t->method) || !t->wrote_up);
}

/* Make the request ready to go out again, from its head. */
static void rewind_request(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        session_close_fd(&s->ufd);
        t->up_broken = false;
        t->up_eof = t->up_reset = false;
        t->ostart = 0;
        t->head_up = t->wrote_up = false;
        t->cstart = t->body_origin;
        t->body_sent = 0;
}

/* The upstream connection failed (reset, closed, or silent past
 * proxy-read-timeout: status 504) before any response byte.
 *  - A pooled connection the backend had closed (its keep-alive ran out):
 *    not the backend's fault; again on a fresh connection.
 *  - Else passive health counts a failure, and the request goes to
 *    another backend if it can be sent again (can_resend) and tries are
 *    left, as nginx's proxy_next_upstream error timeout; else status. */
static int upstream_failed(struct lbd_session *s, int status, const char *why) {
        struct http_txn *t = s->txn;
        if (t->reused && status != 504 && can_resend(t)) {
                rewind_request(s);
                t->no_pool = true;
                t->reused = false;
                s->tries = 0;
                s->phase = H_CONNECT;
                return 1;
        }
        session_backend_failed(s, false, why);
        if (can_resend(t) && s->tries < MAX_CONNECT_TRIES) {
                const char *was = session_backend_text(s);
                char failed[sizeof lbd_table_address(s->worker->table, 0)->text];
                g_strlcpy(failed, was, sizeof failed);
                rewind_request(s);
                t->reused = false;
                s->attempt_us = lbd_now_us();
                if (session_start_connect(s) == 0) {
                        log_full(LOG_WARNING, s->service->name,
                                 "%s: %s; trying %s", failed, why, session_backend_text(s));
                        t->up_gen = lbd_table_slot_generation(s->worker->table, s->backend);
                        s->phase = H_CONNECT;
                        return 1;
                }
        }
        local_response(s, status, why);
        return 1;
}

/* ---- the exchange ------------------------------------------------------- */

/* A 1xx head: forward it (a 100 only if the client expected one and has
 * not had one: a retry's backend sends its own; none to an HTTP/1.0
 * client, RFC 9110 section 15.2), drop it from ubuf and parse the next
 * head. Sent synchronously: it is small and precedes anything else to the
 * client. false after a local response. */
static bool forward_interim(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        const struct lbd_http_msg *m = &t->p.msg;
        bool fwd = t->req_minor > 0 &&
                   (m->status != 100 ||
                    ((t->req_flags & LBD_HTTP_F_EXPECT_CONTINUE) && !t->continued));
        if (fwd) {
                ssize_t n = session_send(s, 0, t->ubuf, m->head_len);
                if (n != (ssize_t)m->head_len) {
                        local_response(s, 502, "cannot forward a 1xx");
                        return false;
                }
                t->resp_sent_any = true;
                if (m->status == 100)
                        t->continued = true;
        }
        memmove(t->ubuf, t->ubuf + m->head_len, t->uend - m->head_len);
        t->uend -= m->head_len;
        lbd_http_parser_init_response(&t->p, NULL, t->headers, HTTP_MAX_HEADERS, t->method);
        return true;
}

/* The final response head: how the exchange goes on (tunnel, keep-alive
 * either side, de-chunking) and the head for the client. 1, or -1 after a
 * local response. */
static int take_final_head(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        const struct lbd_http_msg *m = &t->p.msg;
        t->resp_head = true;
        t->log.status = m->status;
        if (!t->head_up)
                t->req_done = false; /* an early answer: the rest is not sent */
        t->tunnel = m->body == LBD_HTTP_BODY_TUNNEL;
        if (t->tunnel && !(t->req_flags & LBD_HTTP_F_UPGRADE)) {
                local_response(s, 502, "unexpected 101");
                return -1;
        }
        unsigned ka = s->worker->config->daemon.keepalive;
        t->dechunk = t->req_minor == 0 && m->body == LBD_HTTP_BODY_CHUNKED;
        /* Keep-alive needs the end of the response to be visible to the
         * client without the close: not for a body that the close ends,
         * nor for a de-chunked one. */
        t->client_keep = !t->tunnel && ka > 0 && (t->req_flags & LBD_HTTP_F_KEEP_ALIVE) &&
                         m->body != LBD_HTTP_BODY_CLOSE && !t->dechunk &&
                         lbd_engine_worker_state(s->worker) == LBD_WORKER_RUNNING;
        t->upstream_keep = (m->flags & LBD_HTTP_F_KEEP_ALIVE) != 0;
        if (!build_response_head(s))
                return -1;
        lbd_http_body_init(&t->sbody, m->body, m->content_length, NULL);
        t->ustart = t->ubody = m->head_len;
        return 1;
}

/* Make room in ubuf for a response head that needs more: false (after a
 * local response, or out of memory) when it may not grow. */
static bool grow_response_buffer(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        if (t->uend < t->ucap)
                return true;
        uint32_t cap = t->ucap * 2;
        if (cap > LBD_HTTP_LIMITS_DEFAULT.head_size + 1024) {
                local_response(s, 502, "response head too large");
                return false;
        }
        char *b = realloc(t->ubuf, cap);
        if (!b)
                return false;
        t->ubuf = b;
        t->ucap = cap;
        return true;
}

/* Parse what the upstream sent so far as a response head. 1: progress,
 * 0: need more, -1: a phase change was made (local response). */
static int parse_response_head(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        for (;;) {
                if (t->uend == 0)
                        return 0;
                enum lbd_http_error e = lbd_http_parse(&t->p, t->ubuf, t->uend);
                if (e == LBD_HTTP_NEED_MORE)
                        return grow_response_buffer(s) ? 0 : -1;
                if (e != LBD_HTTP_OK) {
                        local_response(s, 502, lbd_http_error_reason(e));
                        return -1;
                }
                if (!(t->p.msg.flags & LBD_HTTP_F_INTERIM))
                        return take_final_head(s);
                if (!forward_interim(s))
                        return -1;
        }
}

/* Read from the backend into ubuf: until EAGAIN or a full buffer while
 * the head is incomplete; one read once it is parsed, so that the body goes
 * on to the client at once. The backend's close, or an error, sets up_eof
 * (and up_reset): nothing more comes, and what came before it is parsed and
 * relayed as anything else. Returns whether bytes came. */
static bool read_upstream(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        bool got = false;
        if (t->resp_head && t->ustart == t->uend)
                t->ustart = t->uend = t->ubody = 0;
        while (t->uend < t->ucap) {
                ssize_t n = session_recv(s, 1, t->ubuf + t->uend, t->ucap - t->uend);
                if (n > 0) {
                        t->uend += (uint32_t)n;
                        if (!t->resp_byte) {
                                /* http: the response time is to the first
                                 * byte (passive health, statistics). */
                                uint64_t now = lbd_now_us();
                                t->first_byte_us = now;
                                lbd_table_report_success(s->worker->table, s->backend,
                                                         (uint32_t)(now - s->attempt_us));
                                lbd_table_count_first_byte(s->worker->table, s->backend,
                                                           now - t->ready_us);
                        }
                        t->resp_byte = true;
                        got = true;
                        if (t->resp_head)
                                break; /* send it on first */
                        continue;
                }
                if (n < 0 && is_again())
                        break;
                t->up_eof = true;
                t->up_reset = n < 0;
                break;
        }
        return got;
}

/* Feed the response body bytes ubuf[ubody, uend) to the scanner; with
 * dechunk, the chunked framing is taken out of them on the way (the bytes
 * after what was consumed move down to where the data ends). */
static enum lbd_http_error feed_response_body(struct http_txn *t) {
        size_t used = 0, data = 0;
        if (!t->dechunk) {
                enum lbd_http_error e = lbd_http_body_feed(&t->sbody, t->ubuf + t->ubody,
                                                           t->uend - t->ubody, &used);
                t->ubody += (uint32_t)used;
                return e;
        }
        enum lbd_http_error e = lbd_http_body_decode(&t->sbody, t->ubuf + t->ubody,
                                                     t->uend - t->ubody, &used, &data);
        memmove(t->ubuf + t->ubody + data, t->ubuf + t->ubody + used,
                t->uend - t->ubody - used);
        t->uend -= (uint32_t)(used - data);
        t->ubody += (uint32_t)data;
        return e;
}

/* Whether the response body is all here: its length or chunked end seen,
 * or, for one that the close delimits, the close. */
static bool response_complete(const struct http_txn *t) {
        return lbd_http_body_done(&t->sbody) ||
               (t->sbody.kind == LBD_HTTP_BODY_CLOSE && t->up_eof);
}

/* The steps of the exchange, in the order one pass runs them (nginx's
 * upstream has one handler per phase). Each returns what it did. */
enum {
        STEP_IDLE = 0,   /* nothing moved */
        STEP_MOVED = 1,  /* bytes moved or state advanced */
        STEP_PHASE = -1, /* it changed the phase (a local response, a retry) */
        STEP_CLOSE = -2, /* the client connection must close */
};

/* 1. The request head up. */
static int send_request_head(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        if (t->o_to_client)
                return STEP_IDLE;
        int progress = STEP_IDLE;
        if (t->ostart < t->oend) {
                ssize_t n = session_send(s, 1, t->obuf + t->ostart, t->oend - t->ostart);
                if (n < 0 && !is_again()) {
                        upstream_failed(s, 502, "cannot send to the backend");
                        return STEP_PHASE;
                }
                if (n > 0) {
                        t->ostart += (uint32_t)n;
                        t->wrote_up = true;
                        progress = STEP_MOVED;
                }
        }
        if (t->ostart == t->oend)
                t->head_up = true;
        return progress;
}

/* Room for more request body in cbuf: what was sent is dropped, so the
 * request can no longer be sent again. */
static void drop_sent_body(struct http_txn *t) {
        if (t->cstart > t->body_origin &&
            (t->cstart == t->cend || (t->cend == t->ccap && t->cstart > 0)))
                t->body_lost = true;
        if (t->cstart == t->cend) {
                t->cstart = t->cend = t->cbody = t->body_origin = 0;
        } else if (t->cend == t->ccap && t->cstart > 0) {
                memmove(t->cbuf, t->cbuf + t->cstart, t->cend - t->cstart);
                t->cend -= t->cstart;
                t->cbody -= t->cstart;
                t->cstart = 0;
                t->body_origin = 0;
        }
}

/* More of the request body from the client, once what came is sent. */
static int read_request_body(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        if (t->req_done || t->cstart != t->cbody)
                return STEP_IDLE;
        drop_sent_body(t);
        if (t->cbody != t->cend || t->cend >= t->ccap)
                return STEP_IDLE;
        int r = read_client(s);
        if (r < 0)
                return STEP_CLOSE; /* client gone mid-body */
        if (r == 0)
                return STEP_IDLE;
        int be = scan_request_body(t);
        if (be) {
                local_response(s, 400, lbd_http_error_reason(be));
                return STEP_PHASE;
        }
        return STEP_MOVED;
}

/* 2. The request body up. */
static int send_request_body(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        if (!t->head_up || t->resp_done || t->up_broken)
                return STEP_IDLE;
        int progress = STEP_IDLE;
        if (t->cstart < t->cbody) {
                ssize_t n = session_send(s, 1, t->cbuf + t->cstart, t->cbody - t->cstart);
                if (n < 0 && !is_again()) {
                        if (!t->resp_head) {
                                upstream_failed(s, 502, "cannot send to the backend");
                                return STEP_PHASE;
                        }
                        /* It answered already and stopped reading. */
                        t->up_broken = true;
                        t->upstream_keep = false;
                }
                if (n > 0) {
                        t->cstart += (uint32_t)n;
                        t->body_sent += (uint64_t)n;
                        progress = STEP_MOVED;
                }
        }
        int r = read_request_body(s);
        return r < 0 ? r : (progress | r);
}

/* The backend closed before a complete response head: a 502, retried on
 * another backend when nothing came (upstream_failed). */
static int response_head_cut(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        if (t->uend == 0) {
                upstream_failed(s, 502,
                                t->up_reset ? "the backend reset the connection"
                                            : "the backend closed the connection");
                return STEP_PHASE;
        }
        char why[96];
        snprintf(why, sizeof why,
                 "the backend %s the connection in the middle of the response head",
                 t->up_reset ? "reset" : "closed");
        local_response(s, 502, why);
        return STEP_PHASE;
}

/* 3. The response from upstream: read, parse its head, scan its body. */
static int read_response(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        if (t->resp_done)
                return STEP_IDLE;
        int progress = STEP_IDLE;
        bool want = !t->resp_head || (t->ubody == t->uend && !lbd_http_body_done(&t->sbody));
        if (want && !session_read_idle(s, 1) && !t->up_eof && read_upstream(s))
                progress = STEP_MOVED;
        if (!t->resp_head && t->uend > 0) {
                /* Also after the backend's close: a whole response may have
                 * come with it. */
                int r = parse_response_head(s);
                if (r < 0)
                        return STEP_PHASE;
                if (r > 0)
                        progress = STEP_MOVED;
        }
        if (!t->resp_head && t->up_eof)
                return response_head_cut(s);
        if (t->resp_head && t->ubody < t->uend && !lbd_http_body_done(&t->sbody)) {
                enum lbd_http_error e = feed_response_body(t);
                if (e != LBD_HTTP_OK && e != LBD_HTTP_NEED_MORE) {
                        log_full(LOG_WARNING, s->service->name, "malformed response body: %s",
                                 lbd_http_error_reason(e));
                        t->upstream_keep = t->client_keep = false;
                        if (t->ubody == t->ustart && t->ostart == t->oend)
                                return STEP_CLOSE;
                }
        }
        if (t->resp_head && t->ubody < t->uend && lbd_http_body_done(&t->sbody))
                t->upstream_keep = false; /* bytes after the response */
        return progress;
}

/* Our response head, with the body bytes already here in the same
 * sendmsg() (a tunnel's bytes after a 101 head are the relay's). Sets
 * *full when the client took less than offered. */
static int send_response_head(struct lbd_session *s, bool *full) {
        struct http_txn *t = s->txn;
        uint32_t hlen = t->oend - t->ostart;
        struct iovec iov[2] = {
                { t->obuf + t->ostart, hlen },
                { t->ubuf + t->ustart, t->ubody - t->ustart },
        };
        struct msghdr mh = { .msg_iov = iov,
                             .msg_iovlen = !t->tunnel && t->ustart < t->ubody ? 2 : 1 };
        size_t len = hlen + (mh.msg_iovlen == 2 ? iov[1].iov_len : 0);
        ssize_t n = session_sendmsg(s, 0, &mh, len);
        if (n < 0 && !is_again())
                return STEP_CLOSE;
        if (n < (ssize_t)len)
                *full = true; /* no second try in this pass */
        if (n <= 0)
                return STEP_IDLE;
        uint32_t h = (size_t)n < hlen ? (uint32_t)n : hlen;
        uint32_t body = (uint32_t)((size_t)n - h);
        t->ostart += h;
        t->ustart += body;
        t->log.body_bytes += body;
        t->bytes_out += (uint64_t)n;
        t->resp_sent_any = true;
        return STEP_MOVED;
}

/* 4. The response down: our head, then the body. */
static int send_response(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        if (!t->resp_head)
                return STEP_IDLE;
        int progress = STEP_IDLE;
        bool full = false;
        if (t->o_to_client && t->ostart < t->oend) {
                progress = send_response_head(s, &full);
                if (progress < 0)
                        return progress;
        }
        if (t->ostart != t->oend || t->tunnel)
                return progress;
        if (t->ustart < t->ubody && !full) {
                ssize_t n = session_send(s, 0, t->ubuf + t->ustart, t->ubody - t->ustart);
                if (n < 0 && !is_again())
                        return STEP_CLOSE;
                if (n > 0) {
                        t->ustart += (uint32_t)n;
                        t->log.body_bytes += (uint64_t)n;
                        t->bytes_out += (uint64_t)n;
                        progress = STEP_MOVED;
                }
        }
        if (t->ustart == t->ubody && response_complete(t))
                t->resp_done = true;
        return progress;
}

/* 5. The backend closed in the middle of the body and what it sent is
 * with the client: nothing to retry or answer; closing is how the client
 * learns (nginx: "upstream prematurely closed connection"). */
static int check_response_cut(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        if (!t->resp_head || t->tunnel || !t->up_eof || response_complete(t) ||
            t->ostart != t->oend || t->ustart != t->ubody)
                return STEP_IDLE;
        log_full(LOG_WARNING, s->service->name,
                 "the backend %s the connection before the end of the response; "
                 "closing the client connection",
                 t->up_reset ? "reset" : "closed");
        t->server_cut = true;
        return STEP_CLOSE;
}

/* One pass over everything the exchange can do: STEP_MOVED if anything
 * moved, STEP_IDLE if not, or the first step's STEP_PHASE / STEP_CLOSE. */
static int exchange_pass(struct lbd_session *s) {
        static int (*const steps[])(struct lbd_session *) = {
                send_request_head, send_request_body, read_response,
                send_response,     check_response_cut,
        };
        int progress = STEP_IDLE;
        for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
                int r = steps[i](s);
                if (r < 0)
                        return r;
                progress |= r;
        }
        return progress;
}

/* The exchange ended well: keep-alive or close. */
static int finish_exchange(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        bool req_complete = t->req_done && t->cstart >= t->cbody;
        log_request(s, t->log.status, t->log.body_bytes);
        session_release_backend(s);
        release_upstream(s, t->upstream_keep && !t->up_eof && req_complete && s->ufd >= 0);
        if (!t->client_keep || !req_complete) {
                s->phase = H_LINGER;
                session_shutdown(s, 0);
                s->deadline_ms = lbd_now_ms() + HTTP_LINGER_MS;
                return 1;
        }
        next_request(s);
        return 1;
}

/* 101: hand the buffers to the tcp relay. */
static int start_tunnel(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        log_request(s, 101, 0);
        /* client → upstream: whatever followed the request head */
        s->up.buf = t->cbuf;
        s->up.start = t->cstart;
        s->up.end = t->cend;
        s->down.buf = t->ubuf;
        s->down.start = t->ustart;
        s->down.end = t->uend;
        t->cbuf = t->ubuf = NULL;
        t->ccap = t->ucap = 0;
        txn_destroy(t);
        s->txn = NULL;
        s->mode = &session_mode_tunnel;
        s->mode->start(s);
        return SESSION_RUN_AGAIN;
}

static int phase_exchange(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        bool any = false;
        for (;;) {
                int r = exchange_pass(s);
                if (r == STEP_PHASE)
                        return 1;
                if (r == STEP_CLOSE) {
                        /* 499: the client left before a response head */
                        log_request(s, t->resp_head ? t->log.status : 499, t->log.body_bytes);
                        return -1; /* close */
                }
                if (t->resp_head && t->tunnel && t->ostart == t->oend)
                        return start_tunnel(s);
                if (t->resp_done)
                        return finish_exchange(s);
                if (r == STEP_IDLE)
                        break;
                any = true;
        }
        uint64_t now = lbd_now_ms();
        if (any)
                s->deadline_ms = now + 1000ull * s->service->proxy_read_timeout;
        else if (now >= s->deadline_ms) {
                if (!t->resp_sent_any && !t->resp_head) {
                        if (!t->resp_byte)
                                upstream_failed(s, 504, "the backend did not answer in time");
                        else
                                local_response(s, 504, "the backend did not answer in time");
                        return 1;
                }
                t->server_cut = t->resp_head; /* silent in the middle of a response */
                log_request(s, t->resp_head ? t->log.status : 504, t->log.body_bytes);
                return -1;
        }
        return 0;
}

/* ---- waiting ------------------------------------------------------------ */

static void fill_wait(struct lbd_session *s, struct lbd_wait *wait) {
        struct http_txn *t = s->txn;
        session_fill_wait_fds(s, wait);
        switch (s->phase) {
        case H_HEAD:
        case H_LINGER:
                wait->events[0] = LBD_WAIT_READ;
                break;
        case H_LOCAL:
                wait->events[0] = LBD_WAIT_WRITE;
                break;
        case H_CONNECT:
                wait->events[1] = LBD_WAIT_WRITE;
                break;
        case H_EXCHANGE:
                /* Nothing is asked of a backend that closed: a poll model
                 * would be woken at once, again and again. */
                if ((!t->head_up || t->cstart < t->cbody) && !t->up_broken && !t->up_eof)
                        wait->events[1] |= LBD_WAIT_WRITE;
                if (!t->req_done && t->cbody == t->cend)
                        wait->events[0] |= LBD_WAIT_READ;
                if (!t->resp_done && !t->up_eof)
                        wait->events[1] |= LBD_WAIT_READ;
                if ((t->resp_head && t->ostart < t->oend) || t->ustart < t->ubody)
                        wait->events[0] |= LBD_WAIT_WRITE;
                break;
        }
}

/* H_LOCAL: our own response out, then shut our side and linger. */
static int phase_local(struct lbd_session *s) {
        struct http_txn *t = s->txn;
        while (t->ostart < t->oend) {
                ssize_t n = session_send(s, 0, t->obuf + t->ostart, t->oend - t->ostart);
                if (n > 0) {
                        t->ostart += (uint32_t)n;
                        continue;
                }
                if (n < 0 && is_again())
                        return lbd_now_ms() >= s->deadline_ms ? -1 : 0;
                return -1;
        }
        session_shutdown(s, 0);
        s->phase = H_LINGER;
        s->deadline_ms = lbd_now_ms() + HTTP_LINGER_MS;
        return 1;
}

/* H_LINGER: our side is shut; read and discard what the client still
 * sends (so that it gets our response, not a reset) until its EOF or the
 * linger time. The txn is given back while waiting. */
static int phase_linger(struct lbd_session *s) {
        char sink[4096];
        for (;;) {
                ssize_t n = session_recv(s, 0, sink, sizeof sink);
                if (n > 0)
                        continue;
                if (n < 0 && is_again())
                        break;
                return -1;
        }
        if (lbd_now_ms() >= s->deadline_ms)
                return -1;
        if (s->txn) {
                txn_put(s->txn);
                s->txn = NULL;
        }
        return 0;
}

/* H_HEAD, with its deadlines: idle past keepalive, or a head too slow. */
static int phase_head_timed(struct lbd_session *s) {
        int r = phase_head(s);
        if (r != 0)
                return r;
        uint64_t deadline = s->txn ? s->txn->head_deadline : s->deadline_ms;
        return deadline && lbd_now_ms() >= deadline ? -1 : 0;
}

/* An upstream connection the model no longer watches goes into the pool,
 * unless its backend may take no more work (removed, disabled, draining,
 * down by the health check). */
static void pool_detached(struct lbd_session *s) {
        if (s->txn && lbd_table_slot_pickable(s->worker->table, s->backend, s->txn->up_gen))
                upstream_pool_put(s->backend, s->txn->up_gen, s->detach_fd, lbd_now_ms());
        else
                session_close_fd(&s->detach_fd);
        s->detach_fd = -1;
}

/* The phases: 1 go on (another phase), 0 wait, -1 done. */
static int (*const phases[])(struct lbd_session *s) = {
        [H_HEAD] = phase_head_timed, [H_CONNECT] = phase_connect,
        [H_EXCHANGE] = phase_exchange, [H_LOCAL] = phase_local,
        [H_LINGER] = phase_linger,
};

static int http_run(struct lbd_session *s, struct lbd_wait *wait) {
        if (s->detach_fd >= 0)
                pool_detached(s);
        for (;;) {
                int r = phases[s->phase](s);
                if (r == SESSION_RUN_AGAIN)
                        return r; /* a 101: the tunnel runs it now */
                if (r < 0)
                        return SESSION_RUN_DONE;
                if (s->detach_fd >= 0) {
                        /* An upstream connection goes to the pool: the
                         * model forgets it first, then runs us again. */
                        *wait = (struct lbd_wait){
                                .fd = { -1, s->detach_fd },
                                .events = { 0, LBD_WAIT_DETACH },
                        };
                        return SESSION_RUN_WAIT;
                }
                if (r == 0) {
                        fill_wait(s, wait);
                        return SESSION_RUN_WAIT;
                }
        }
}

const struct session_mode session_mode_http = {
        .name = "http",
        .start = http_start,
        .run = http_run,
        .free = http_free,
};
