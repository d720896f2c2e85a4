/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for daemon/proxy/http.c.
 *
 * Besides "does not crash" (ASan/UBSan do that part), it checks what the
 * parser promises and a unit test can only sample:
 *  - the verdict and the whole message are the same whether the input
 *    comes in one call or in pieces, in buffers that move between calls;
 *  - every span lies inside the head, limits hold, lists terminate;
 *  - the body scanner agrees with itself over splits too.
 * A broken promise is an abort(), which the fuzzer reports as a crash.
 *
 * Input: byte 0 picks the mode (request or response, and to which method),
 * small or default limits and the seed of the split points; the rest is
 * the message, then its body.
 *
 * Built as a libFuzzer target with clang, and otherwise (and always, for
 * the test suite) with replay-main.c, which runs the files and directories
 * named on the command line through the same function.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-check.h"
#include "http.h"

#define MAX_HEADERS 128

/* Split points from a tiny generator seeded by the input: deterministic,
 * so a crash reproduces from the file alone. */
static size_t next_step(uint32_t *seed, size_t left) {
        *seed = *seed * 1103515245u + 12345u;
        size_t step = 1 + ((*seed >> 16) % 17);
        if ((*seed >> 8) % 5 == 0)
                step += (*seed >> 4) % 300;
        return step < left ? step : left;
}

static void init(struct lbd_http_parser *p, struct lbd_http_header *h, unsigned mode,
                 const struct lbd_http_limits *lim) {
        static const enum lbd_http_method methods[] = {
                LBD_HTTP_METHOD_GET, LBD_HTTP_METHOD_HEAD, LBD_HTTP_METHOD_CONNECT,
        };

        if (mode == 0)
                lbd_http_parser_init_request(p, lim, h, MAX_HEADERS);
        else
                lbd_http_parser_init_response(p, lim, h, MAX_HEADERS, methods[(mode - 1) % 3]);
}

static bool span_in(struct lbd_http_span s, size_t end) {
        return (size_t) s.off + s.len <= end;
}

static void check_msg(const struct lbd_http_msg *m, const char *buf, size_t len,
                      const struct lbd_http_limits *lim) {
        check(m->head_len <= len);
        check(m->head_len <= lim->head_size);
        check(m->head_len >= 4);
        check(memcmp(buf + m->head_len - 4, "\r\n\r\n", 4) == 0);

        /* An accepted head, checked naively: only empty lines before the
         * start line; every CR is followed by LF and every LF preceded by
         * CR; one line per header, none starting with whitespace. */
        check(m->start % 2 == 0 && m->start < m->head_len);
        for (uint32_t i = 0; i < m->start; i += 2)
                check(buf[i] == '\r' && buf[i + 1] == '\n');
        uint32_t lines = 0;
        for (uint32_t i = m->start; i < m->head_len; i++) {
                if (buf[i] == '\r')
                        check(i + 1 < m->head_len && buf[i + 1] == '\n');
                if (buf[i] == '\n') {
                        check(i > m->start && buf[i - 1] == '\r');
                        lines++;
                        if (i + 1 < m->head_len)
                                check(buf[i + 1] != ' ' && buf[i + 1] != '\t');
                }
        }
        check(lines == m->n_headers + 2);
        check(m->n_headers <= lim->fields);
        check(m->version_minor <= 1);
        check(span_in(m->method_name, m->head_len));
        check(span_in(m->target, m->head_len));
        check(span_in(m->authority, m->head_len));
        check(span_in(m->reason, m->head_len));
        check(span_in(m->host, m->head_len));
        check(span_in(m->upgrade, m->head_len));

        for (uint32_t i = 0; i < m->n_headers; i++) {
                const struct lbd_http_header *h = &m->headers[i];

                check(h->name.len > 0);
                check(span_in(h->name, m->head_len));
                check(span_in(h->value, m->head_len));
                check((size_t) h->name.len + 1 + h->value.len <= lim->field_size);
                check(!!(h->flags & LBD_HTTP_HEADER_UNDERSCORE) == !!memchr(buf + h->name.off, '_', h->name.len));
                for (uint32_t k = 0; k < h->value.len; k++) {
                        unsigned char c = (unsigned char) buf[h->value.off + k];
                        check(c != '\r' && c != '\n' && c != '\0');
                }
                if (h->id == LBD_HTTP_H_CONNECTION || h->id == LBD_HTTP_H_TE || h->id == LBD_HTTP_H_KEEP_ALIVE)
                        check(h->flags & LBD_HTTP_HEADER_DROP);
                /* Framing is never dropped unless it is rewritten. */
                if (h->id == LBD_HTTP_H_TRANSFER_ENCODING || h->id == LBD_HTTP_H_HOST)
                        check(!(h->flags & LBD_HTTP_HEADER_DROP));
                if (h->id == LBD_HTTP_H_CONTENT_LENGTH)
                        check(!!(h->flags & LBD_HTTP_HEADER_DROP) ==
                              !!(m->flags & LBD_HTTP_F_CONTENT_LENGTH_REWRITE));
        }

        if (m->kind == LBD_HTTP_REQUEST) {
                /* The smuggling rules, restated. */
                check(!((m->flags & LBD_HTTP_F_CONTENT_LENGTH) && (m->flags & LBD_HTTP_F_TRANSFER_ENCODING)));
                if (m->flags & LBD_HTTP_F_TRANSFER_ENCODING)
                        check(m->body == LBD_HTTP_BODY_CHUNKED && m->version_minor == 1);
                check(m->body != LBD_HTTP_BODY_CLOSE && m->body != LBD_HTTP_BODY_TUNNEL);
                if (m->version_minor == 1)
                        check(m->flags & LBD_HTTP_F_HOST);
                check(m->target.len > 0 && m->method_name.len > 0);
        } else {
                check(m->status >= 100 && m->status <= 999);
                if (m->body == LBD_HTTP_BODY_CLOSE || m->body == LBD_HTTP_BODY_TUNNEL)
                        check(!(m->flags & LBD_HTTP_F_KEEP_ALIVE));
        }
        if (m->body == LBD_HTTP_BODY_LENGTH)
                check(m->flags & LBD_HTTP_F_CONTENT_LENGTH);
        check(m->content_length <= INT64_MAX);

        /* Lists terminate, in bounds, without separators. */
        uint64_t iter = 0;
        struct lbd_http_span o;
        unsigned n = 0;
        while (lbd_http_header_list_next(m, buf, LBD_HTTP_H_CONNECTION, &iter, &o)) {
                check(o.len > 0 && span_in(o, m->head_len));
                check(memchr(buf + o.off, ',', o.len) == NULL);
                check(++n <= LBD_HTTP_MAX_CONNECTION_OPTIONS);
        }
}

static void check_msg_equal(const struct lbd_http_msg *a, const struct lbd_http_msg *b) {
        check(a->head_len == b->head_len && a->start == b->start && a->flags == b->flags);
        check(a->version_minor == b->version_minor && a->method == b->method);
        check(a->target_form == b->target_form && a->status == b->status && a->body == b->body);
        check(a->content_length == b->content_length && a->n_headers == b->n_headers);
        check(memcmp(&a->method_name, &b->method_name, sizeof(a->method_name)) == 0);
        check(memcmp(&a->target, &b->target, sizeof(a->target)) == 0);
        check(memcmp(&a->authority, &b->authority, sizeof(a->authority)) == 0);
        check(memcmp(&a->reason, &b->reason, sizeof(a->reason)) == 0);
        check(memcmp(&a->host, &b->host, sizeof(a->host)) == 0);
        check(memcmp(&a->upgrade, &b->upgrade, sizeof(a->upgrade)) == 0);
        for (uint32_t i = 0; i < a->n_headers; i++) {
                const struct lbd_http_header *x = &a->headers[i], *y = &b->headers[i];

                check(x->name.off == y->name.off && x->name.len == y->name.len);
                check(x->value.off == y->value.off && x->value.len == y->value.len);
                check(x->id == y->id && x->flags == y->flags);
        }
}

/* Scans the body in one call and in pieces; both must agree. */
static void fuzz_body(enum lbd_http_body_kind kind, uint64_t cl, const char *buf, size_t len,
                      const struct lbd_http_limits *lim, uint32_t seed) {
        struct lbd_http_body one, inc;
        enum lbd_http_error r1, r2 = LBD_HTTP_NEED_MORE;
        size_t used1, used2 = 0, off = 0;

        lbd_http_body_init(&one, kind, cl, lim);
        r1 = lbd_http_body_feed(&one, buf, len, &used1);
        check(used1 <= len);
        if (r1 == LBD_HTTP_NEED_MORE)
                check(used1 == len);
        check((r1 == LBD_HTTP_OK) == lbd_http_body_done(&one));

        lbd_http_body_init(&inc, kind, cl, lim);
        while (r2 == LBD_HTTP_NEED_MORE && off < len) {
                size_t step = next_step(&seed, len - off), used;
                char *piece = malloc(step);

                check(piece);
                memcpy(piece, buf + off, step);
                r2 = lbd_http_body_feed(&inc, piece, step, &used);
                free(piece);
                check(used <= step);
                off += used;
        }
        if (len == 0)
                r2 = lbd_http_body_feed(&inc, buf, 0, &used2);
        else
                used2 = off;
        check(r1 == r2);
        check(used1 == used2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const struct lbd_http_limits small = {
                .request_line = 40,
                .fields = 6,
                .field_size = 48,
                .head_size = 300,
                .chunk_line = 12,
                .trailer_size = 40,
        };
        struct lbd_http_header h1[MAX_HEADERS], h2[MAX_HEADERS];
        struct lbd_http_parser one, inc;
        enum lbd_http_error r1, r2 = LBD_HTTP_NEED_MORE;
        char *buf, *prev = NULL;

        if (size < 1)
                return 0;

        unsigned mode = data[0] & 3;
        const struct lbd_http_limits lim = (data[0] & 4) ? small : LBD_HTTP_LIMITS_DEFAULT;
        const struct lbd_http_limits *limp = (data[0] & 4) ? &small : NULL;
        uint32_t seed = data[0];
        size_t len = size - 1;

        /* An exact-size copy: a read past the end is an ASan report. */
        buf = malloc(len ?: 1);
        check(buf);
        memcpy(buf, data + 1, len);

        init(&one, h1, mode, limp);
        r1 = lbd_http_parse(&one, buf, len);
        check(r1 < _LBD_HTTP_ERROR_MAX);
        check(lbd_http_error_reason(r1) != NULL);
        check(lbd_http_parse(&one, buf, len) == r1);

        /* Again in pieces, each call in a fresh buffer holding only what
         * has "arrived". */
        init(&inc, h2, mode, limp);
        for (size_t have = 0; r2 == LBD_HTTP_NEED_MORE && have < len;) {
                have += next_step(&seed, len - have);
                char *b = malloc(have);
                check(b);
                memcpy(b, data + 1, have);
                r2 = lbd_http_parse(&inc, b, have);
                free(prev);
                prev = b;
        }
        if (len == 0)
                r2 = lbd_http_parse(&inc, buf, 0);
        if (r1 != r2) {
                fprintf(stderr, "one call: %s; in pieces: %s\n", lbd_http_error_reason(r1),
                        lbd_http_error_reason(r2));
                abort();
        }
        free(prev);

        if (r1 == LBD_HTTP_OK) {
                check_msg(&one.msg, buf, len, &lim);
                check_msg_equal(&one.msg, &inc.msg);
                fuzz_body(one.msg.body, one.msg.content_length, buf + one.msg.head_len,
                          len - one.msg.head_len, limp, seed);
        } else if (r1 != LBD_HTTP_NEED_MORE)
                check(lbd_http_error_status(r1) >= 400);

        /* The whole input as a chunked body, too: the scanner is reachable
         * with any bytes once a head said "chunked". */
        fuzz_body(LBD_HTTP_BODY_CHUNKED, 0, buf, len, limp, seed ^ 0x5a5a);

        free(buf);
        return 0;
}
