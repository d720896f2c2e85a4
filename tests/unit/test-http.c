/* SPDX-License-Identifier: MIT */
/* The HTTP/1.1 parser (daemon/proxy/http.c): every rule with its exact error,
 * limits at the boundary and one past it, body framing, keep-alive, and the
 * chunked scanner over every split of its input.
 *
 * Every head below goes through parse_both(): once in one call, once byte
 * by byte in a buffer that moves (a fresh exact-size copy per byte, so
 * ASan sees any read past the end and any stale pointer), and the two must
 * agree on the result and on every field of the message. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* Never NULL (and the compiler knows it: cmocka's asserts are not
 * noreturn, which -Warray-bounds at -O2 notices). */
static void *xmalloc(size_t n) {
        void *p = malloc(n);

        if (!p)
                abort();
        return p;
}

struct parsed {
        struct lbd_http_parser p;
        struct lbd_http_header headers[128];
        const char *buf;
};

struct opts {
        enum lbd_http_kind kind;
        enum lbd_http_method request_method;   /* responses */
        const struct lbd_http_limits *limits;   /* NULL: defaults */
        size_t n_headers;                       /* 0: all of parsed.headers */
};

static const struct opts REQ = { .kind = LBD_HTTP_REQUEST };
static const struct opts RESP_GET = { .kind = LBD_HTTP_RESPONSE, .request_method = LBD_HTTP_METHOD_GET };

static void parsed_init(struct parsed *x, const struct opts *o) {
        size_t n = o->n_headers ? o->n_headers : ELEMENTSOF(x->headers);

        if (o->kind == LBD_HTTP_REQUEST)
                lbd_http_parser_init_request(&x->p, o->limits, x->headers, n);
        else
                lbd_http_parser_init_response(&x->p, o->limits, x->headers, n, o->request_method);
}

static void assert_span_equal(struct lbd_http_span a, struct lbd_http_span b) {
        assert_int_equal(a.off, b.off);
        assert_int_equal(a.len, b.len);
}

static void assert_msg_equal(const struct lbd_http_msg *a, const struct lbd_http_msg *b) {
        assert_int_equal(a->kind, b->kind);
        assert_int_equal(a->head_len, b->head_len);
        assert_int_equal(a->start, b->start);
        assert_int_equal(a->flags, b->flags);
        assert_int_equal(a->version_minor, b->version_minor);
        assert_int_equal(a->method, b->method);
        assert_int_equal(a->target_form, b->target_form);
        assert_span_equal(a->method_name, b->method_name);
        assert_span_equal(a->target, b->target);
        assert_span_equal(a->authority, b->authority);
        assert_int_equal(a->status, b->status);
        assert_span_equal(a->reason, b->reason);
        assert_int_equal(a->body, b->body);
        assert_int_equal(a->content_length, b->content_length);
        assert_span_equal(a->host, b->host);
        assert_span_equal(a->upgrade, b->upgrade);
        assert_int_equal(a->n_headers, b->n_headers);
        for (uint32_t i = 0; i < a->n_headers; i++) {
                assert_span_equal(a->headers[i].name, b->headers[i].name);
                assert_span_equal(a->headers[i].value, b->headers[i].value);
                assert_int_equal(a->headers[i].id, b->headers[i].id);
                assert_int_equal(a->headers[i].flags, b->headers[i].flags);
        }
}

static void print_escaped(const char *s, size_t len) {
        for (size_t i = 0; i < len && i < 200; i++) {
                unsigned char c = (unsigned char) s[i];

                if (c == '\r')
                        fputs("\\r", stdout);
                else if (c == '\n')
                        fputs("\\n", stdout);
                else if (c < 0x20 || c >= 0x7f)
                        printf("\\x%02x", c);
                else
                        putchar(c);
        }
        putchar('\n');
}

/* Parses s[0..len) in one call and byte by byte; fails the test unless
 * both give the same verdict and message. Returns the verdict; x holds the
 * one-shot result (x->buf points at s). */
static enum lbd_http_error parse_both(struct parsed *x, const struct opts *o, const char *s, size_t len) {
        struct parsed *y = xmalloc(sizeof(*y));
        enum lbd_http_error one, inc = LBD_HTTP_NEED_MORE;
        char *copy = NULL, *big[2] = {};

        assert_non_null(y);
        parsed_init(x, o);
        x->buf = s;
        one = lbd_http_parse(&x->p, s, len);

        /* Large inputs alternate between two full copies (moving, but not
         * re-allocated per byte, which would be quadratic). */
        if (len > 16384) {
                for (size_t k = 0; k < 2; k++) {
                        big[k] = xmalloc(len);
                        assert_non_null(big[k]);
                        memcpy(big[k], s, len);
                }
        }

        parsed_init(y, o);
        for (size_t i = 1; i <= len && inc == LBD_HTTP_NEED_MORE; i++) {
                const char *b;

                if (big[0])
                        b = big[i % 2];
                else {
                        char *c = xmalloc(i);

                        assert_non_null(c);
                        memcpy(c, s, i);
                        free(copy);
                        copy = c;
                        b = c;
                }
                inc = lbd_http_parse(&y->p, b, i);
        }

        if (one != inc) {
                printf("one-shot %d (%s), byte by byte %d (%s) for: ", one, lbd_http_error_reason(one),
                       inc, lbd_http_error_reason(inc));
                print_escaped(s, len);
        }
        assert_int_equal(one, inc);
        if (one == LBD_HTTP_OK)
                assert_msg_equal(&x->p.msg, &y->p.msg);

        /* Verdicts are sticky. */
        assert_int_equal(lbd_http_parse(&x->p, s, len), one);

        free(copy);
        free(big[0]);
        free(big[1]);
        free(y);
        return one;
}

static enum lbd_http_error parse_str(struct parsed *x, const struct opts *o, const char *s) {
        return parse_both(x, o, s, strlen(s));
}

/* A table row: input and the exact verdict. */
struct verdict_case {
        const char *raw;
        enum lbd_http_error expect;
};

static void check_cases(const struct opts *o, const struct verdict_case *cases, size_t n) {
        bool failed = false;

        for (size_t i = 0; i < n; i++) {
                struct parsed x;
                enum lbd_http_error r = parse_str(&x, o, cases[i].raw);

                if (r != cases[i].expect) {
                        printf("case %zu: expected %d (%s), got %d (%s): ", i, cases[i].expect,
                               lbd_http_error_reason(cases[i].expect), r, lbd_http_error_reason(r));
                        print_escaped(cases[i].raw, strlen(cases[i].raw));
                        failed = true;
                }
        }
        assert_false(failed);
}

static bool span_is(const struct parsed *x, struct lbd_http_span s, const char *expect) {
        return s.len == strlen(expect) && memcmp(x->buf + s.off, expect, s.len) == 0;
}

#define assert_span(x, span, str) assert_true(span_is((x), (span), (str)))

static const struct lbd_http_header *find_header(const struct parsed *x, const char *name) {
        for (uint32_t i = 0; i < x->p.msg.n_headers; i++) {
                const struct lbd_http_header *h = &x->p.msg.headers[i];

                if (span_is(x, h->name, name))
                        return h;
        }
        fail_msg("no header %s", name);
        return NULL;
}

static bool dropped(const struct parsed *x, const char *name) {
        return find_header(x, name)->flags & LBD_HTTP_HEADER_DROP;
}

/* ---- request line ------------------------------------------------------ */

static void test_simple_get(void **state) {
        struct parsed x;
        const char *raw = "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";

        assert_int_equal(parse_str(&x, &REQ, raw), LBD_HTTP_OK);
        const struct lbd_http_msg *m = &x.p.msg;
        assert_int_equal(m->head_len, strlen(raw));
        assert_int_equal(m->start, 0);
        assert_int_equal(m->method, LBD_HTTP_METHOD_GET);
        assert_span(&x, m->method_name, "GET");
        assert_span(&x, m->target, "/index.html?q=1");
        assert_int_equal(m->target_form, LBD_HTTP_TARGET_ORIGIN);
        assert_int_equal(m->version_minor, 1);
        assert_int_equal(m->n_headers, 2);
        assert_span(&x, m->headers[0].name, "Host");
        assert_span(&x, m->headers[0].value, "example.com");
        assert_int_equal(m->headers[0].id, LBD_HTTP_H_HOST);
        assert_span(&x, m->headers[1].name, "Accept");
        assert_span(&x, m->headers[1].value, "*/*");
        assert_int_equal(m->headers[1].id, LBD_HTTP_H_OTHER);
        assert_int_equal(m->headers[1].flags, 0);
        assert_span(&x, m->host, "example.com");
        assert_int_equal(m->body, LBD_HTTP_BODY_NONE);
        assert_int_equal(m->flags, LBD_HTTP_F_KEEP_ALIVE | LBD_HTTP_F_HOST);
}

static void test_need_more(void **state) {
        struct parsed x;

        assert_int_equal(parse_str(&x, &REQ, ""), LBD_HTTP_NEED_MORE);
        assert_int_equal(parse_str(&x, &REQ, "GET / HTTP/1.1\r\nHost: a\r\n"), LBD_HTTP_NEED_MORE);
        assert_int_equal(parse_str(&x, &REQ, "GET / HTTP/1.1\r\nHost: a\r\n\r"), LBD_HTTP_NEED_MORE);

        /* Incomplete lines are searched once: the parser remembers how far
         * it looked, so a head arriving byte by byte costs O(n), not O(n²). */
        const char *raw = "GET / HTTP/1.1\r\nHost: abcdef";
        lbd_http_parser_init_request(&x.p, NULL, x.headers, ELEMENTSOF(x.headers));
        assert_int_equal(lbd_http_parse(&x.p, raw, 20), LBD_HTTP_NEED_MORE);
        assert_int_equal(x.p.pos, 16);
        assert_int_equal(x.p.scan, 20);
        assert_int_equal(lbd_http_parse(&x.p, raw, strlen(raw)), LBD_HTTP_NEED_MORE);
        assert_int_equal(x.p.scan, strlen(raw));
}

static void test_methods(void **state) {
        static const struct {
                const char *name;
                enum lbd_http_method id;
        } cases[] = {
                { "GET", LBD_HTTP_METHOD_GET },
                { "HEAD", LBD_HTTP_METHOD_HEAD },
                { "POST", LBD_HTTP_METHOD_POST },
                { "PUT", LBD_HTTP_METHOD_PUT },
                { "DELETE", LBD_HTTP_METHOD_DELETE },
                { "OPTIONS", LBD_HTTP_METHOD_OPTIONS },
                { "TRACE", LBD_HTTP_METHOD_TRACE },
                { "PATCH", LBD_HTTP_METHOD_PATCH },
                /* Methods are case-sensitive; any token is a method. */
                { "get", LBD_HTTP_METHOD_OTHER },
                { "PROPFIND", LBD_HTTP_METHOD_OTHER },
                { "M-SEARCH", LBD_HTTP_METHOD_OTHER },
                { "X!#$%&'*+.^_`|~9", LBD_HTTP_METHOD_OTHER },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct parsed x;
                char raw[128];

                snprintf(raw, sizeof(raw), "%s / HTTP/1.1\r\nHost: a\r\n\r\n", cases[i].name);
                assert_int_equal(parse_str(&x, &REQ, raw), LBD_HTTP_OK);
                assert_int_equal(x.p.msg.method, cases[i].id);
                assert_span(&x, x.p.msg.method_name, cases[i].name);
        }
}

static void test_request_line_errors(void **state) {
        static const struct verdict_case cases[] = {
                /* More than single spaces, or other whitespace. */
                { "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_REQUEST_LINE },
                { "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_REQUEST_LINE },
                { "GET  HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_REQUEST_LINE },
                { "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", LBD_HTTP_ERR_REQUEST_LINE },
                { " GET / HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_REQUEST_LINE },
                { "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_REQUEST_LINE },
                { "GET /\tHTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_REQUEST_LINE },
                { "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_REQUEST_LINE },
                /* Missing parts (HTTP/0.9's "GET /" included). */
                { "GET\r\n\r\n", LBD_HTTP_ERR_REQUEST_LINE },
                { "GET /\r\n\r\n", LBD_HTTP_ERR_REQUEST_LINE },
                { "GET / \r\n\r\n", LBD_HTTP_ERR_VERSION },
                /* Method: a token. */
                { "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_METHOD },
                { "G\x01T / HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_METHOD },
                { "GET/ / HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_METHOD },
                { "GÉT / HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_METHOD },
                /* Version. */
                { "GET / HTTP/1.2\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_VERSION_UNSUPPORTED },
                { "GET / HTTP/2.0\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_VERSION_UNSUPPORTED },
                { "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", LBD_HTTP_ERR_VERSION_UNSUPPORTED },
                { "GET / HTTP/0.9\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_VERSION_UNSUPPORTED },
                { "GET / http/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_VERSION },
                { "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_VERSION },
                { "GET / HTTP/11\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_VERSION },
                { "GET / HTTP/1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_VERSION },
                { "GET / HTTP/a.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_VERSION },
                { "GET / HTTPS/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_VERSION },
        };

        check_cases(&REQ, cases, ELEMENTSOF(cases));
}

static void test_target_forms(void **state) {
        struct parsed x;

        assert_int_equal(parse_str(&x, &REQ, "GET http://example.com:8080/a?b HTTP/1.1\r\nHost: x\r\n\r\n"),
                         LBD_HTTP_OK);
        assert_int_equal(x.p.msg.target_form, LBD_HTTP_TARGET_ABSOLUTE);
        assert_span(&x, x.p.msg.authority, "example.com:8080");
        assert_span(&x, x.p.msg.target, "http://example.com:8080/a?b");

        assert_int_equal(parse_str(&x, &REQ, "GET https://[::1]?x HTTP/1.1\r\nHost: x\r\n\r\n"), LBD_HTTP_OK);
        assert_int_equal(x.p.msg.target_form, LBD_HTTP_TARGET_ABSOLUTE);
        assert_span(&x, x.p.msg.authority, "[::1]");

        assert_int_equal(parse_str(&x, &REQ, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
                         LBD_HTTP_OK);
        assert_int_equal(x.p.msg.method, LBD_HTTP_METHOD_CONNECT);
        assert_int_equal(x.p.msg.target_form, LBD_HTTP_TARGET_AUTHORITY);
        assert_span(&x, x.p.msg.authority, "example.com:443");

        assert_int_equal(parse_str(&x, &REQ, "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), LBD_HTTP_OK);
        assert_int_equal(x.p.msg.target_form, LBD_HTTP_TARGET_ASTERISK);

        /* Raw UTF-8 in a path is let through (as nginx does). */
        assert_int_equal(parse_str(&x, &REQ, "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"), LBD_HTTP_OK);
        assert_int_equal(x.p.msg.target_form, LBD_HTTP_TARGET_ORIGIN);
}

static void test_target_errors(void **state) {
        static const struct verdict_case cases[] = {
                { "GET * HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_TARGET },
                { "GET index.html HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_TARGET },
                { "GET http:/a HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_TARGET },
                { "GET http:///a HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_TARGET },
                { "GET http://user@host/ HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_TARGET },
                { "GET 1http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_TARGET },
                { "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_TARGET },
                { "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_TARGET },
                { "CONNECT /a HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_TARGET },
                { "CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_TARGET },
                { "CONNECT example.com: HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_TARGET },
                { "CONNECT http://example.com:80 HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_TARGET },
                { "CONNECT [::1:443 HTTP/1.1\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_TARGET },
        };

        check_cases(&REQ, cases, ELEMENTSOF(cases));
}

static void test_target_nul(void **state) {
        /* A NUL is a byte like any other to the parser (never a string
         * end): refused in a target. */
        static const char raw[] = "GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n";
        struct parsed x;

        assert_int_equal(parse_both(&x, &REQ, raw, sizeof(raw) - 1), LBD_HTTP_ERR_TARGET);
}

static void test_leading_empty_lines(void **state) {
        struct parsed x;
        const char *raw = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";

        assert_int_equal(parse_str(&x, &REQ, raw), LBD_HTTP_OK);
        assert_int_equal(x.p.msg.start, 4);
        assert_int_equal(x.p.msg.head_len, strlen(raw));
        assert_span(&x, x.p.msg.method_name, "GET");

        assert_int_equal(parse_str(&x, &REQ, "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), LBD_HTTP_ERR_BARE_LF);
        /* Responses get no such leniency. */
        assert_int_equal(parse_str(&x, &RESP_GET, "\r\nHTTP/1.1 200 OK\r\n\r\n"), LBD_HTTP_ERR_STATUS_LINE);
}

/* ---- line endings and header syntax ---------------------------------- */

static void test_line_endings(void **state) {
        static const struct verdict_case cases[] = {
                { "GET / HTTP/1.1\nHost: a\r\n\r\n", LBD_HTTP_ERR_BARE_LF },
                { "GET / HTTP/1.1\r\nHost: a\n\r\n", LBD_HTTP_ERR_BARE_LF },
                { "GET / HTTP/1.1\r\nHost: a\r\n\n", LBD_HTTP_ERR_BARE_LF },
                { "GET / HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n", LBD_HTTP_ERR_BARE_LF },
                { "GET / HTTP/1.1\rHost: a\r\n\r\n", LBD_HTTP_ERR_BARE_CR },
                { "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", LBD_HTTP_ERR_BARE_CR },
                { "GET / HTTP/1.1\r\nHost: a\r\n\r\r", LBD_HTTP_ERR_BARE_CR },
                { "GET / HTTP/1.1\r\r\n\r\n", LBD_HTTP_ERR_BARE_CR },
        };

        check_cases(&REQ, cases, ELEMENTSOF(cases));
}

static void test_header_syntax_errors(void **state) {
        static const struct verdict_case cases[] = {
                { "GET / HTTP/1.1\r\nHost : a\r\n\r\n", LBD_HTTP_ERR_SPACE_BEFORE_COLON },
                { "GET / HTTP/1.1\r\nHost: a\r\nX-A\t: b\r\n\r\n", LBD_HTTP_ERR_SPACE_BEFORE_COLON },
                { "GET / HTTP/1.1\r\nHost: a\r\nX A: b\r\n\r\n", LBD_HTTP_ERR_SPACE_BEFORE_COLON },
                /* obs-fold, and whitespace before the first field. */
                { "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", LBD_HTTP_ERR_OBS_FOLD },
                { "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", LBD_HTTP_ERR_OBS_FOLD },
                { "GET / HTTP/1.1\r\n Host: a\r\n\r\n", LBD_HTTP_ERR_OBS_FOLD },
                /* Names: not empty, tokens, with a colon. */
                { "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", LBD_HTTP_ERR_FIELD_NAME },
                { "GET / HTTP/1.1\r\nHost: a\r\nX-A\r\n\r\n", LBD_HTTP_ERR_FIELD_NAME },
                { "GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n", LBD_HTTP_ERR_FIELD_NAME },
                { "GET / HTTP/1.1\r\nHost: a\r\nX\xc3\xa9: b\r\n\r\n", LBD_HTTP_ERR_FIELD_NAME },
                { "GET / HTTP/1.1\r\nHost: a\r\nX\"A: b\r\n\r\n", LBD_HTTP_ERR_FIELD_NAME },
                /* Values: no controls but HTAB. */
                { "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01z\r\n\r\n", LBD_HTTP_ERR_FIELD_VALUE },
                { "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fz\r\n\r\n", LBD_HTTP_ERR_FIELD_VALUE },
                { "GET / HTTP/1.1\r\nHost: a\r\nX: a\x1b[0m\r\n\r\n", LBD_HTTP_ERR_FIELD_VALUE },
        };

        check_cases(&REQ, cases, ELEMENTSOF(cases));
}

static void test_header_nul(void **state) {
        static const char in_value[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";
        static const char in_name[] = "GET / HTTP/1.1\r\nHost: a\r\nX\0: b\r\n\r\n";
        struct parsed x;

        assert_int_equal(parse_both(&x, &REQ, in_value, sizeof(in_value) - 1), LBD_HTTP_ERR_FIELD_VALUE);
        assert_int_equal(parse_both(&x, &REQ, in_name, sizeof(in_name) - 1), LBD_HTTP_ERR_FIELD_NAME);
}

static void test_header_values(void **state) {
        struct parsed x;

        assert_int_equal(parse_str(&x, &REQ,
                                   "GET / HTTP/1.1\r\nHost: a\r\n"
                                   "X-Trim: \t a \t b \t \r\n"
                                   "X-Empty:\r\n"
                                   "X-Spaces:   \r\n"
                                   "X-Obs-Text: caf\xc3\xa9\r\n"
                                   "x-forwarded-for: 10.0.0.1\r\n"
                                   "X-Forwarded-Proto: https\r\n"
                                   "Forwarded: for=1.2.3.4\r\n"
                                   "\r\n"),
                         LBD_HTTP_OK);
        assert_span(&x, find_header(&x, "X-Trim")->value, "a \t b");
        assert_span(&x, find_header(&x, "X-Empty")->value, "");
        assert_span(&x, find_header(&x, "X-Spaces")->value, "");
        assert_span(&x, find_header(&x, "X-Obs-Text")->value, "caf\xc3\xa9");
        assert_int_equal(find_header(&x, "x-forwarded-for")->id, LBD_HTTP_H_X_FORWARDED_FOR);
        assert_int_equal(find_header(&x, "X-Forwarded-Proto")->id, LBD_HTTP_H_X_FORWARDED_PROTO);
        assert_int_equal(find_header(&x, "Forwarded")->id, LBD_HTTP_H_FORWARDED);
        assert_int_equal(x.p.msg.n_headers, 8);
        assert_int_equal(find_header(&x, "X-Trim")->flags, 0);
}

static void test_header_underscore(void **state) {
        struct parsed x;

        assert_int_equal(parse_str(&x, &REQ,
                                   "GET / HTTP/1.1\r\nHost: a\r\n"
                                   "X_Forwarded_For: 1.2.3.4\r\n"
                                   "X-Forwarded-For: 5.6.7.8\r\n"
                                   "\r\n"),
                         LBD_HTTP_OK);
        /* Flagged, not dropped: what to do is the engine's policy. */
        assert_int_equal(find_header(&x, "X_Forwarded_For")->flags, LBD_HTTP_HEADER_UNDERSCORE);
        assert_int_equal(find_header(&x, "X_Forwarded_For")->id, LBD_HTTP_H_OTHER);
        assert_int_equal(find_header(&x, "X-Forwarded-For")->flags, 0);
}

/* ---- Host --------------------------------------------------------------- */

static void test_host(void **state) {
        static const struct verdict_case cases[] = {
                { "GET / HTTP/1.1\r\n\r\n", LBD_HTTP_ERR_HOST_MISSING },
                { "GET / HTTP/1.1\r\nX: a\r\n\r\n", LBD_HTTP_ERR_HOST_MISSING },
                { "GET / HTTP/1.0\r\n\r\n", LBD_HTTP_OK },
                { "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", LBD_HTTP_ERR_HOST_DUPLICATE },
                { "GET / HTTP/1.0\r\nHost: a\r\nHOST: b\r\n\r\n", LBD_HTTP_ERR_HOST_DUPLICATE },
                { "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", LBD_HTTP_ERR_HOST_INVALID },
                { "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", LBD_HTTP_ERR_HOST_INVALID },
                { "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", LBD_HTTP_ERR_HOST_INVALID },
                { "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", LBD_HTTP_ERR_HOST_INVALID },
                { "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", LBD_HTTP_ERR_HOST_INVALID },
                { "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", LBD_HTTP_ERR_HOST_INVALID },
                { "GET / HTTP/1.1\r\nHost: :80\r\n\r\n", LBD_HTTP_ERR_HOST_INVALID },
                { "GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", LBD_HTTP_OK },
                { "GET / HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n", LBD_HTTP_OK },
                { "GET / HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n", LBD_HTTP_OK },
                /* RFC 9110 section 7.2: empty when the target has no authority. */
                { "GET / HTTP/1.1\r\nHost:\r\n\r\n", LBD_HTTP_OK },
        };
        struct parsed x;

        check_cases(&REQ, cases, ELEMENTSOF(cases));

        assert_int_equal(parse_str(&x, &REQ, "GET / HTTP/1.1\r\nhOsT:  Example.com:81 \r\n\r\n"), LBD_HTTP_OK);
        assert_true(x.p.msg.flags & LBD_HTTP_F_HOST);
        assert_span(&x, x.p.msg.host, "Example.com:81");
        assert_false(dropped(&x, "hOsT"));

        assert_int_equal(parse_str(&x, &REQ, "GET / HTTP/1.0\r\n\r\n"), LBD_HTTP_OK);
        assert_false(x.p.msg.flags & LBD_HTTP_F_HOST);
}

/* ---- Content-Length and Transfer-Encoding ------------------------------- */

static void test_content_length(void **state) {
        struct parsed x;

        assert_int_equal(parse_str(&x, &REQ, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"),
                         LBD_HTTP_OK);
        assert_int_equal(x.p.msg.body, LBD_HTTP_BODY_LENGTH);
        assert_int_equal(x.p.msg.content_length, 5);
        assert_true(x.p.msg.flags & LBD_HTTP_F_CONTENT_LENGTH);
        assert_false(x.p.msg.flags & LBD_HTTP_F_CONTENT_LENGTH_REWRITE);
        assert_false(dropped(&x, "Content-Length"));

        assert_int_equal(parse_str(&x, &REQ, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"),
                         LBD_HTTP_OK);
        assert_int_equal(x.p.msg.body, LBD_HTTP_BODY_LENGTH);
        assert_int_equal(x.p.msg.content_length, 0);

        assert_int_equal(parse_str(&x, &REQ,
                                   "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n"),
                         LBD_HTTP_OK);
        assert_int_equal(x.p.msg.content_length, INT64_MAX);
}

static void test_content_length_merged(void **state) {
        static const char *merged[] = {
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,5 ,\t5\r\n\r\n",
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n",
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 005\r\n\r\n",
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 05\r\n\r\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(merged); i++) {
                struct parsed x;

                assert_int_equal(parse_str(&x, &REQ, merged[i]), LBD_HTTP_OK);
                assert_int_equal(x.p.msg.body, LBD_HTTP_BODY_LENGTH);
                assert_int_equal(x.p.msg.content_length, 5);
                assert_true(x.p.msg.flags & LBD_HTTP_F_CONTENT_LENGTH_REWRITE);
                /* Every Content-Length is dropped; the engine writes one. */
                for (uint32_t h = 0; h < x.p.msg.n_headers; h++)
                        if (x.p.msg.headers[h].id == LBD_HTTP_H_CONTENT_LENGTH)
                                assert_true(x.p.msg.headers[h].flags & LBD_HTTP_HEADER_DROP);
                        else
                                assert_false(x.p.msg.headers[h].flags & LBD_HTTP_HEADER_DROP);
        }
}

static void test_content_length_errors(void **state) {
        static const struct verdict_case cases[] = {
                { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                  LBD_HTTP_ERR_CONTENT_LENGTH_MISMATCH },
                { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n",
                  LBD_HTTP_ERR_CONTENT_LENGTH_MISMATCH },
                { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n", LBD_HTTP_ERR_CONTENT_LENGTH },
                { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", LBD_HTTP_ERR_CONTENT_LENGTH },
                { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5a\r\n\r\n", LBD_HTTP_ERR_CONTENT_LENGTH },
                { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", LBD_HTTP_ERR_CONTENT_LENGTH },
                { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n", LBD_HTTP_ERR_CONTENT_LENGTH },
                { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5.0\r\n\r\n", LBD_HTTP_ERR_CONTENT_LENGTH },
                { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", LBD_HTTP_ERR_CONTENT_LENGTH },
                { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\n", LBD_HTTP_ERR_CONTENT_LENGTH },
                { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ,5\r\n\r\n", LBD_HTTP_ERR_CONTENT_LENGTH },
                { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,,5\r\n\r\n", LBD_HTTP_ERR_CONTENT_LENGTH },
                { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \"5\"\r\n\r\n", LBD_HTTP_ERR_CONTENT_LENGTH },
                /* INT64_MAX + 1, and far beyond 2^64. */
                { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\n",
                  LBD_HTTP_ERR_CONTENT_LENGTH },
                { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                  LBD_HTTP_ERR_CONTENT_LENGTH },
        };

        check_cases(&REQ, cases, ELEMENTSOF(cases));
}

static void test_transfer_encoding(void **state) {
        static const char *chunked[] = {
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n",
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip,chunked\r\n\r\n",
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: x-gzip\t,  deflate , chunked\r\n\r\n",
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(chunked); i++) {
                struct parsed x;

                assert_int_equal(parse_str(&x, &REQ, chunked[i]), LBD_HTTP_OK);
                assert_int_equal(x.p.msg.body, LBD_HTTP_BODY_CHUNKED);
                assert_true(x.p.msg.flags & LBD_HTTP_F_CHUNKED);
                assert_true(x.p.msg.flags & LBD_HTTP_F_TRANSFER_ENCODING);
                /* Passed through unchanged with the chunked body. */
                assert_false(dropped(&x, "Transfer-Encoding"));
        }
}

static void test_transfer_encoding_errors(void **state) {
        static const struct verdict_case cases[] = {
                { "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
                  LBD_HTTP_ERR_CL_AND_TE },
                { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
                  LBD_HTTP_ERR_CL_AND_TE },
                { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
                  LBD_HTTP_ERR_CL_AND_TE },
                { "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", LBD_HTTP_ERR_TE_HTTP10 },
                /* Not chunked last: 400. */
                { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", LBD_HTTP_ERR_TE_NOT_CHUNKED_LAST },
                { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                  LBD_HTTP_ERR_TE_NOT_CHUNKED_LAST },
                { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
                  LBD_HTTP_ERR_TE_NOT_CHUNKED_LAST },
                { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
                  LBD_HTTP_ERR_TE_NOT_CHUNKED_LAST },
                { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                  LBD_HTTP_ERR_TE_NOT_CHUNKED_LAST },
                /* An unknown coding without chunked last: the length cannot
                 * be known, 400 (RFC 9112 section 6.3), not 501. identity
                 * is no transfer coding any more (RFC 9112 section 7). */
                { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n",
                  LBD_HTTP_ERR_TE_NOT_CHUNKED_LAST },
                { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\nContent-Length: 3\r\n\r\n",
                  LBD_HTTP_ERR_CL_AND_TE },
                { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunkedx\r\n\r\n",
                  LBD_HTTP_ERR_TE_NOT_CHUNKED_LAST },
                /* Unknown codings before chunked: 501. */
                { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: br, chunked\r\n\r\n", LBD_HTTP_ERR_TE_UNKNOWN },
                { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity, chunked\r\n\r\n", LBD_HTTP_ERR_TE_UNKNOWN },
                { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", LBD_HTTP_ERR_TE_UNKNOWN },
                /* Malformed lists. */
                { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", LBD_HTTP_ERR_TRANSFER_ENCODING },
                { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked\r\n\r\n",
                  LBD_HTTP_ERR_TRANSFER_ENCODING },
                { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n",
                  LBD_HTTP_ERR_TRANSFER_ENCODING },
                { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip,,chunked\r\n\r\n",
                  LBD_HTTP_ERR_TRANSFER_ENCODING },
                { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n",
                  LBD_HTTP_ERR_TRANSFER_ENCODING },
                { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip chunked\r\n\r\n",
                  LBD_HTTP_ERR_TRANSFER_ENCODING },
        };
        struct parsed x;

        check_cases(&REQ, cases, ELEMENTSOF(cases));

        assert_int_equal(lbd_http_error_status(LBD_HTTP_ERR_TE_UNKNOWN), 501);
        assert_int_equal(lbd_http_error_status(LBD_HTTP_ERR_TE_NOT_CHUNKED_LAST), 400);
        assert_int_equal(parse_str(&x, &REQ, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: br\r\n\r\n"),
                         LBD_HTTP_ERR_TE_NOT_CHUNKED_LAST);
}

/* ---- Connection, keep-alive, hop-by-hop --------------------------------- */

static void test_keep_alive(void **state) {
        static const struct {
                const char *raw;
                bool keep_alive;
        } cases[] = {
                { "GET / HTTP/1.1\r\nHost: a\r\n\r\n", true },
                { "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false },
                { "GET / HTTP/1.1\r\nHost: a\r\nConnection: CLOSE\r\n\r\n", false },
                { "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", true },
                { "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n", false },
                { "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo\r\nConnection: close\r\n\r\n", false },
                { "GET / HTTP/1.0\r\n\r\n", false },
                { "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true },
                { "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true },
                { "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false },
                /* Proxy-Connection is not Connection. */
                { "GET / HTTP/1.0\r\nProxy-Connection: keep-alive\r\n\r\n", false },
                { "GET / HTTP/1.1\r\nHost: a\r\nProxy-Connection: close\r\n\r\n", true },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct parsed x;

                assert_int_equal(parse_str(&x, &REQ, cases[i].raw), LBD_HTTP_OK);
                if (!!(x.p.msg.flags & LBD_HTTP_F_KEEP_ALIVE) != cases[i].keep_alive) {
                        printf("case %zu: ", i);
                        print_escaped(cases[i].raw, strlen(cases[i].raw));
                        fail();
                }
        }
}

static void test_hop_by_hop(void **state) {
        struct parsed x;

        assert_int_equal(parse_str(&x, &REQ,
                                   "GET / HTTP/1.1\r\n"
                                   "Host: a\r\n"
                                   "Connection: keep-alive, X-Secret,  , x-other\r\n"
                                   "Keep-Alive: timeout=5\r\n"
                                   "Proxy-Connection: keep-alive\r\n"
                                   "TE: trailers\r\n"
                                   "Trailer: X-Checksum\r\n"
                                   "Upgrade: h2c\r\n"
                                   "X-Secret: 1\r\n"
                                   "X-OTHER: 2\r\n"
                                   "X-Kept: 3\r\n"
                                   "\r\n"),
                         LBD_HTTP_OK);
        assert_true(dropped(&x, "Connection"));
        assert_true(dropped(&x, "Keep-Alive"));
        assert_true(dropped(&x, "Proxy-Connection"));
        assert_true(dropped(&x, "TE"));
        /* Upgrade without "Connection: upgrade" is not an upgrade. */
        assert_true(dropped(&x, "Upgrade"));
        assert_false(x.p.msg.flags & LBD_HTTP_F_UPGRADE);
        /* Named in Connection, matched case-insensitively. */
        assert_true(dropped(&x, "X-Secret"));
        assert_true(dropped(&x, "X-OTHER"));
        /* Trailer describes the trailer section we pass through: kept. */
        assert_false(dropped(&x, "Trailer"));
        assert_false(dropped(&x, "Host"));
        assert_false(dropped(&x, "X-Kept"));
        assert_true(x.p.msg.flags & LBD_HTTP_F_CONN_KEEP_ALIVE);
}

static void test_connection_cannot_drop_framing(void **state) {
        struct parsed x;

        /* Dropping these would change how the backend frames or routes the
         * message: Connection may not name them. */
        assert_int_equal(parse_str(&x, &REQ,
                                   "POST / HTTP/1.1\r\n"
                                   "Host: a\r\n"
                                   "Connection: Content-Length, Host, Transfer-Encoding, X-Forwarded-For\r\n"
                                   "Content-Length: 3\r\n"
                                   "X-Forwarded-For: 1.2.3.4\r\n"
                                   "\r\n"),
                         LBD_HTTP_OK);
        assert_false(dropped(&x, "Content-Length"));
        assert_false(dropped(&x, "Host"));
        /* Everything else may be named. */
        assert_true(dropped(&x, "X-Forwarded-For"));
        assert_int_equal(x.p.msg.body, LBD_HTTP_BODY_LENGTH);

        assert_int_equal(parse_str(&x, &REQ,
                                   "POST / HTTP/1.1\r\n"
                                   "Host: a\r\n"
                                   "Connection: transfer-encoding\r\n"
                                   "Transfer-Encoding: chunked\r\n"
                                   "\r\n"),
                         LBD_HTTP_OK);
        assert_false(dropped(&x, "Transfer-Encoding"));
}

static void test_connection_options(void **state) {
        struct parsed x;
        char raw[2048];
        int n;

        /* The list, across headers, empty elements skipped. */
        assert_int_equal(parse_str(&x, &REQ,
                                   "GET / HTTP/1.1\r\nHost: a\r\n"
                                   "Connection: a, ,b\r\n"
                                   "X: y\r\n"
                                   "Connection: ,c ,\r\n"
                                   "\r\n"),
                         LBD_HTTP_OK);
        uint64_t iter = 0;
        struct lbd_http_span o;
        const char *expect[] = { "a", "b", "c" };
        for (size_t i = 0; i < ELEMENTSOF(expect); i++) {
                assert_true(lbd_http_header_list_next(&x.p.msg, x.buf, LBD_HTTP_H_CONNECTION, &iter, &o));
                assert_span(&x, o, expect[i]);
        }
        assert_false(lbd_http_header_list_next(&x.p.msg, x.buf, LBD_HTTP_H_CONNECTION, &iter, &o));
        assert_false(lbd_http_header_list_next(&x.p.msg, x.buf, LBD_HTTP_H_CONNECTION, &iter, &o));

        /* Exactly the maximum, then one more. */
        n = snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: a\r\nConnection: ");
        for (int i = 0; i < LBD_HTTP_MAX_CONNECTION_OPTIONS; i++)
                n += snprintf(raw + n, sizeof(raw) - n, "%so%d", i ? ", " : "", i);
        snprintf(raw + n, sizeof(raw) - n, "\r\n\r\n");
        assert_int_equal(parse_str(&x, &REQ, raw), LBD_HTTP_OK);
        n += snprintf(raw + n, sizeof(raw) - n, ", one-more\r\n\r\n");
        assert_int_equal(parse_str(&x, &REQ, raw), LBD_HTTP_ERR_CONNECTION);

        assert_int_equal(parse_str(&x, &REQ, "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep alive\r\n\r\n"),
                         LBD_HTTP_ERR_CONNECTION);
        assert_int_equal(parse_str(&x, &REQ, "GET / HTTP/1.1\r\nHost: a\r\nConnection: a;b\r\n\r\n"),
                         LBD_HTTP_ERR_CONNECTION);
}

static void test_upgrade(void **state) {
        struct parsed x;

        assert_int_equal(parse_str(&x, &REQ,
                                   "GET /ws HTTP/1.1\r\nHost: a\r\n"
                                   "Connection: keep-alive, Upgrade\r\n"
                                   "Upgrade: websocket\r\n"
                                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                   "\r\n"),
                         LBD_HTTP_OK);
        assert_true(x.p.msg.flags & LBD_HTTP_F_UPGRADE);
        assert_true(x.p.msg.flags & LBD_HTTP_F_CONN_UPGRADE);
        assert_span(&x, x.p.msg.upgrade, "websocket");
        /* Kept although Connection names it: this is the upgrade. */
        assert_false(dropped(&x, "Upgrade"));
        assert_true(dropped(&x, "Connection"));
        assert_false(dropped(&x, "Sec-WebSocket-Key"));

        /* RFC 9110 section 7.8: ignored in HTTP/1.0. */
        assert_int_equal(parse_str(&x, &REQ,
                                   "GET /ws HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"),
                         LBD_HTTP_OK);
        assert_false(x.p.msg.flags & LBD_HTTP_F_UPGRADE);
        assert_true(dropped(&x, "Upgrade"));

        /* Connection: upgrade without Upgrade. */
        assert_int_equal(parse_str(&x, &REQ, "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n"),
                         LBD_HTTP_OK);
        assert_false(x.p.msg.flags & LBD_HTTP_F_UPGRADE);
}

static void test_expect(void **state) {
        struct parsed x;

        assert_int_equal(parse_str(&x, &REQ,
                                   "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 10\r\n\r\n"),
                         LBD_HTTP_OK);
        assert_true(x.p.msg.flags & LBD_HTTP_F_EXPECT_CONTINUE);
        assert_false(x.p.msg.flags & LBD_HTTP_F_EXPECT_OTHER);

        assert_int_equal(parse_str(&x, &REQ, "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n"), LBD_HTTP_OK);
        assert_false(x.p.msg.flags & LBD_HTTP_F_EXPECT_CONTINUE);
        assert_true(x.p.msg.flags & LBD_HTTP_F_EXPECT_OTHER);

        /* RFC 9110 section 10.1.1: ignored in HTTP/1.0. */
        assert_int_equal(parse_str(&x, &REQ, "PUT /f HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"), LBD_HTTP_OK);
        assert_false(x.p.msg.flags & (LBD_HTTP_F_EXPECT_CONTINUE | LBD_HTTP_F_EXPECT_OTHER));
}

/* ---- limits --------------------------------------------------------------- */

/* A request whose request line is exactly len bytes (CRLF excluded). */
static char *request_with_line(size_t len) {
        const char *pre = "GET /", *post = " HTTP/1.1\r\nHost: a\r\n\r\n";
        size_t path = len - strlen(pre) - strlen(" HTTP/1.1");
        char *s = xmalloc(len + strlen(post) + 1);

        assert_non_null(s);
        strcpy(s, pre);
        memset(s + strlen(pre), 'a', path);
        strcpy(s + strlen(pre) + path, post);
        assert_int_equal(strchr(s, '\r') - s, len);
        return s;
}

static void test_limit_request_line(void **state) {
        struct parsed x;
        char *s;

        s = request_with_line(4094);
        assert_int_equal(parse_str(&x, &REQ, s), LBD_HTTP_OK);
        free(s);

        s = request_with_line(4095);
        assert_int_equal(parse_str(&x, &REQ, s), LBD_HTTP_ERR_REQUEST_LINE_TOO_LONG);
        assert_int_equal(lbd_http_error_status(LBD_HTTP_ERR_REQUEST_LINE_TOO_LONG), 414);
        /* Known as soon as byte 4095 of the line is there, without a CRLF. */
        assert_int_equal(parse_both(&x, &REQ, s, 4095), LBD_HTTP_ERR_REQUEST_LINE_TOO_LONG);
        assert_int_equal(parse_both(&x, &REQ, s, 4094), LBD_HTTP_NEED_MORE);
        free(s);

        /* A bare LF past the limit is never looked at. */
        s = request_with_line(4200);
        s[4150] = '\n';
        assert_int_equal(parse_str(&x, &REQ, s), LBD_HTTP_ERR_REQUEST_LINE_TOO_LONG);
        free(s);
}

/* A request with one header line of exactly len bytes. */
static char *request_with_field(size_t len) {
        const char *pre = "GET / HTTP/1.1\r\nHost: a\r\nX-Long: ";
        size_t value = len - strlen("X-Long: ");
        char *s = xmalloc(strlen(pre) + value + 5);

        assert_non_null(s);
        strcpy(s, pre);
        memset(s + strlen(pre), 'v', value);
        strcpy(s + strlen(pre) + value, "\r\n\r\n");
        return s;
}

static void test_limit_field_size(void **state) {
        struct parsed x;
        char *s;

        s = request_with_field(8190);
        assert_int_equal(parse_str(&x, &REQ, s), LBD_HTTP_OK);
        assert_int_equal(find_header(&x, "X-Long")->value.len, 8190 - strlen("X-Long: "));
        free(s);

        s = request_with_field(8191);
        assert_int_equal(parse_str(&x, &REQ, s), LBD_HTTP_ERR_FIELD_TOO_LONG);
        assert_int_equal(lbd_http_error_status(LBD_HTTP_ERR_FIELD_TOO_LONG), 431);
        free(s);
}

static char *request_with_fields(size_t n) {
        size_t size = 64 + n * 16;
        char *s = xmalloc(size);
        int k;

        assert_non_null(s);
        k = snprintf(s, size, "GET / HTTP/1.1\r\nHost: a\r\n");
        for (size_t i = 1; i < n; i++)
                k += snprintf(s + k, size - k, "X-%zu: %zu\r\n", i, i);
        snprintf(s + k, size - k, "\r\n");
        return s;
}

static void test_limit_fields(void **state) {
        struct parsed x;
        char *s;

        s = request_with_fields(100);
        assert_int_equal(parse_str(&x, &REQ, s), LBD_HTTP_OK);
        assert_int_equal(x.p.msg.n_headers, 100);
        free(s);

        s = request_with_fields(101);
        assert_int_equal(parse_str(&x, &REQ, s), LBD_HTTP_ERR_TOO_MANY_FIELDS);
        assert_int_equal(lbd_http_error_status(LBD_HTTP_ERR_TOO_MANY_FIELDS), 431);
        free(s);

        /* A smaller array is a smaller limit, never an overflow. */
        const struct opts small = { .kind = LBD_HTTP_REQUEST, .n_headers = 3 };
        s = request_with_fields(3);
        assert_int_equal(parse_str(&x, &small, s), LBD_HTTP_OK);
        free(s);
        s = request_with_fields(4);
        assert_int_equal(parse_str(&x, &small, s), LBD_HTTP_ERR_TOO_MANY_FIELDS);
        free(s);
}

static void test_limit_head_size(void **state) {
        const char *raw = "GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789\r\n\r\n";
        size_t len = strlen(raw);
        struct lbd_http_limits lim = LBD_HTTP_LIMITS_DEFAULT;
        const struct opts o = { .kind = LBD_HTTP_REQUEST, .limits = &lim };
        struct parsed x;

        lim.head_size = (uint32_t) len;
        assert_int_equal(parse_str(&x, &o, raw), LBD_HTTP_OK);
        assert_int_equal(x.p.msg.head_len, len);

        /* One byte short: the final LF would be one past the cap. */
        lim.head_size = (uint32_t) len - 1;
        assert_int_equal(parse_str(&x, &o, raw), LBD_HTTP_ERR_HEAD_TOO_LARGE);
        assert_int_equal(lbd_http_error_status(LBD_HTTP_ERR_HEAD_TOO_LARGE), 431);
        /* Known without waiting for the rest. */
        assert_int_equal(parse_both(&x, &o, raw, len - 1), LBD_HTTP_ERR_HEAD_TOO_LARGE);
        assert_int_equal(parse_both(&x, &o, raw, len - 2), LBD_HTTP_NEED_MORE);

        /* Empty lines before the request count. */
        lim.head_size = (uint32_t) len + 1;
        assert_int_equal(parse_str(&x, &o, "\r\nGET / HTTP/1.1\r\nHost: a\r\nX: 0123456789\r\n\r\n"),
                         LBD_HTTP_ERR_HEAD_TOO_LARGE);

        /* The default cap: 64 KiB of fields that each pass their limit. */
        size_t big = 80000;
        char *s = xmalloc(big + 1);
        size_t k = (size_t) snprintf(s, big, "GET / HTTP/1.1\r\nHost: a\r\n");
        for (int i = 0; k <= 65536; i++)
                k += (size_t) snprintf(s + k, big - k, "X-%02d: %0*d\r\n", i, 7000, 0);
        assert_true(k > 65536);
        strcpy(s + k, "\r\n");
        assert_int_equal(parse_str(&x, &REQ, s), LBD_HTTP_ERR_HEAD_TOO_LARGE);
        free(s);
}

/* ---- pipelining and incremental parsing ------------------------------ */

static void test_pipelined(void **state) {
        const char *raw =
                "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
                "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
                "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                "\r\nGET /d HTTP/1.1\r\nHost: a\r\n\r\n";
        const char *expect[] = { "/a", "/b", "/c", "/d" };
        size_t off = 0, len = strlen(raw);

        for (size_t i = 0; i < ELEMENTSOF(expect); i++) {
                struct parsed x;
                struct lbd_http_body body;
                size_t used;

                assert_int_equal(parse_both(&x, &REQ, raw + off, len - off), LBD_HTTP_OK);
                assert_span(&x, x.p.msg.target, expect[i]);
                off += x.p.msg.head_len;

                lbd_http_body_init(&body, x.p.msg.body, x.p.msg.content_length, NULL);
                assert_int_equal(lbd_http_body_feed(&body, raw + off, len - off, &used), LBD_HTTP_OK);
                assert_true(lbd_http_body_done(&body));
                off += used;
        }
        assert_int_equal(off, len);
}

static void test_incremental_equals_one_shot(void **state) {
        /* parse_both() checks this for every head in this file; here a
         * larger one, fed in every pair of pieces too. */
        const char *raw =
                "\r\nPOST http://example.com/upload?x=1 HTTP/1.1\r\n"
                "Host: example.com\r\n"
                "User-Agent: test/1.0\r\n"
                "Connection: keep-alive, X-Hop\r\n"
                "X-Hop: 1\r\n"
                "Content-Length: 5, 5\r\n"
                "Expect: 100-continue\r\n"
                "Cookie: a=b; c=d\r\n"
                "\r\n";
        size_t len = strlen(raw);
        struct parsed one;

        assert_int_equal(parse_str(&one, &REQ, raw), LBD_HTTP_OK);

        for (size_t cut = 0; cut <= len; cut++) {
                struct parsed x;

                parsed_init(&x, &REQ);
                enum lbd_http_error r = lbd_http_parse(&x.p, raw, cut);
                if (cut < len)
                        assert_int_equal(r, LBD_HTTP_NEED_MORE);
                assert_int_equal(lbd_http_parse(&x.p, raw, len), LBD_HTTP_OK);
                assert_msg_equal(&one.p.msg, &x.p.msg);
        }

        /* Bytes after the head are not looked at. */
        char *more = xmalloc(len + 10);
        memcpy(more, raw, len);
        memcpy(more + len, "\n\n\0\r garb", 10);
        struct parsed x;
        assert_int_equal(parse_both(&x, &REQ, more, len + 10), LBD_HTTP_OK);
        assert_msg_equal(&one.p.msg, &x.p.msg);
        free(more);
}

/* ---- responses ------------------------------------------------------------ */

static void test_response_basic(void **state) {
        struct parsed x;

        assert_int_equal(parse_str(&x, &RESP_GET, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nServer: g\r\n\r\n"),
                         LBD_HTTP_OK);
        assert_int_equal(x.p.msg.status, 200);
        assert_span(&x, x.p.msg.reason, "OK");
        assert_int_equal(x.p.msg.body, LBD_HTTP_BODY_LENGTH);
        assert_int_equal(x.p.msg.content_length, 12);
        assert_true(x.p.msg.flags & LBD_HTTP_F_KEEP_ALIVE);

        assert_int_equal(parse_str(&x, &RESP_GET, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
                         LBD_HTTP_OK);
        assert_int_equal(x.p.msg.status, 404);
        assert_span(&x, x.p.msg.reason, "Not Found");

        /* Reason phrase: may be empty, may lack its SP. */
        assert_int_equal(parse_str(&x, &RESP_GET, "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"), LBD_HTTP_OK);
        assert_span(&x, x.p.msg.reason, "");
        assert_int_equal(parse_str(&x, &RESP_GET, "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"), LBD_HTTP_OK);
        assert_int_equal(x.p.msg.status, 200);
        assert_span(&x, x.p.msg.reason, "");
}

static void test_response_errors(void **state) {
        static const struct verdict_case cases[] = {
                { "HTTP/1.1 20 OK\r\n\r\n", LBD_HTTP_ERR_STATUS_LINE },
                { "HTTP/1.1 2000 OK\r\n\r\n", LBD_HTTP_ERR_STATUS_LINE },
                { "HTTP/1.1 099 Low\r\n\r\n", LBD_HTTP_ERR_STATUS_LINE },
                { "HTTP/1.1  200 OK\r\n\r\n", LBD_HTTP_ERR_STATUS_LINE },
                { "HTTP/1.1 200 O\x01K\r\n\r\n", LBD_HTTP_ERR_STATUS_LINE },
                { "HTTP/1.1\r\n\r\n", LBD_HTTP_ERR_STATUS_LINE },
                { "HTTP/2 200 OK\r\n\r\n", LBD_HTTP_ERR_STATUS_LINE },
                { "HTTP/2.0 200 OK\r\n\r\n", LBD_HTTP_ERR_VERSION_UNSUPPORTED },
                { "HTTX/1.1 200 OK\r\n\r\n", LBD_HTTP_ERR_VERSION },
                { "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", LBD_HTTP_ERR_BARE_LF },
                { "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", LBD_HTTP_ERR_OBS_FOLD },
                { "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                  LBD_HTTP_ERR_CONTENT_LENGTH_MISMATCH },
                { "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", LBD_HTTP_ERR_CONTENT_LENGTH },
                { "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                  LBD_HTTP_ERR_CL_AND_TE },
                { "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", LBD_HTTP_ERR_TE_HTTP10 },
                { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
                  LBD_HTTP_ERR_TE_NOT_CHUNKED_LAST },
                { "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip;level=1\r\n\r\n", LBD_HTTP_ERR_TE_UNKNOWN },
        };

        check_cases(&RESP_GET, cases, ELEMENTSOF(cases));
}

struct framing_case {
        const char *raw;
        enum lbd_http_method method;
        enum lbd_http_body_kind body;
        bool keep_alive;
        uint32_t flags;                 /* that must be set */
};

static void test_response_framing(void **state) {
        static const struct framing_case cases[] = {
                /* RFC 9112 section 6.3, rule by rule. */
                { "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", LBD_HTTP_METHOD_HEAD, LBD_HTTP_BODY_NONE, true, 0 },
                { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", LBD_HTTP_METHOD_HEAD, LBD_HTTP_BODY_NONE,
                  true, LBD_HTTP_F_CHUNKED },
                { "HTTP/1.1 200 OK\r\n\r\n", LBD_HTTP_METHOD_HEAD, LBD_HTTP_BODY_NONE, true, 0 },
                { "HTTP/1.1 204 No Content\r\n\r\n", LBD_HTTP_METHOD_GET, LBD_HTTP_BODY_NONE, true, 0 },
                { "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", LBD_HTTP_METHOD_GET, LBD_HTTP_BODY_NONE,
                  true, 0 },
                { "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", LBD_HTTP_METHOD_GET,
                  LBD_HTTP_BODY_NONE, true, 0 },
                { "HTTP/1.1 100 Continue\r\n\r\n", LBD_HTTP_METHOD_POST, LBD_HTTP_BODY_NONE, true,
                  LBD_HTTP_F_INTERIM },
                { "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n", LBD_HTTP_METHOD_GET, LBD_HTTP_BODY_NONE,
                  true, LBD_HTTP_F_INTERIM },
                { "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
                  LBD_HTTP_METHOD_GET, LBD_HTTP_BODY_TUNNEL, false, LBD_HTTP_F_UPGRADE },
                { "HTTP/1.1 200 Connection established\r\n\r\n", LBD_HTTP_METHOD_CONNECT, LBD_HTTP_BODY_TUNNEL,
                  false, 0 },
                { "HTTP/1.1 407 Auth\r\nContent-Length: 2\r\n\r\n", LBD_HTTP_METHOD_CONNECT,
                  LBD_HTTP_BODY_LENGTH, true, 0 },
                { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", LBD_HTTP_METHOD_GET,
                  LBD_HTTP_BODY_CHUNKED, true, LBD_HTTP_F_CHUNKED },
                /* Unknown codings are the client's business; only the
                 * last decides the framing. */
                { "HTTP/1.1 200 OK\r\nTransfer-Encoding: br, chunked\r\n\r\n", LBD_HTTP_METHOD_GET,
                  LBD_HTTP_BODY_CHUNKED, true, LBD_HTTP_F_CHUNKED },
                { "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", LBD_HTTP_METHOD_GET, LBD_HTTP_BODY_CLOSE,
                  false, LBD_HTTP_F_TRANSFER_ENCODING },
                { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", LBD_HTTP_METHOD_GET,
                  LBD_HTTP_BODY_CLOSE, false, 0 },
                { "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", LBD_HTTP_METHOD_GET, LBD_HTTP_BODY_LENGTH, true,
                  0 },
                { "HTTP/1.1 200 OK\r\n\r\n", LBD_HTTP_METHOD_GET, LBD_HTTP_BODY_CLOSE, false, 0 },
                /* Keep-alive per version and Connection. */
                { "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", LBD_HTTP_METHOD_GET,
                  LBD_HTTP_BODY_LENGTH, false, LBD_HTTP_F_CONN_CLOSE },
                { "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", LBD_HTTP_METHOD_GET, LBD_HTTP_BODY_LENGTH, false,
                  0 },
                { "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n", LBD_HTTP_METHOD_GET,
                  LBD_HTTP_BODY_LENGTH, true, 0 },
                { "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", LBD_HTTP_METHOD_GET, LBD_HTTP_BODY_CLOSE,
                  false, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const struct opts o = { .kind = LBD_HTTP_RESPONSE, .request_method = cases[i].method };
                struct parsed x;

                assert_int_equal(parse_str(&x, &o, cases[i].raw), LBD_HTTP_OK);
                if (x.p.msg.body != cases[i].body ||
                    (bool) (x.p.msg.flags & LBD_HTTP_F_KEEP_ALIVE) != cases[i].keep_alive ||
                    (x.p.msg.flags & cases[i].flags) != cases[i].flags) {
                        printf("case %zu: body %d flags 0x%x: ", i, x.p.msg.body, x.p.msg.flags);
                        print_escaped(cases[i].raw, strlen(cases[i].raw));
                        fail();
                }
        }
}

static void test_response_hop_by_hop(void **state) {
        struct parsed x;

        assert_int_equal(parse_str(&x, &RESP_GET,
                                   "HTTP/1.1 101 Switching Protocols\r\n"
                                   "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
                         LBD_HTTP_OK);
        assert_false(dropped(&x, "Upgrade"));
        assert_true(dropped(&x, "Connection"));

        assert_int_equal(parse_str(&x, &RESP_GET,
                                   "HTTP/1.1 200 OK\r\n"
                                   "Upgrade: h2c\r\nConnection: Upgrade, X-Internal\r\n"
                                   "Keep-Alive: timeout=5\r\nX-Internal: 1\r\nHost: ignored here\r\n"
                                   "Transfer-Encoding: chunked\r\n\r\n"),
                         LBD_HTTP_OK);
        assert_true(dropped(&x, "Upgrade"));
        assert_true(dropped(&x, "Keep-Alive"));
        assert_true(dropped(&x, "X-Internal"));
        assert_false(dropped(&x, "Transfer-Encoding"));
        /* Host means nothing in a response: not validated. */
        assert_false(x.p.msg.flags & LBD_HTTP_F_HOST);
}

static void test_response_after_continue(void **state) {
        /* The engine parses heads until one is not interim. */
        const char *raw = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
        const struct opts o = { .kind = LBD_HTTP_RESPONSE, .request_method = LBD_HTTP_METHOD_PUT };
        struct parsed x;

        assert_int_equal(parse_str(&x, &o, raw), LBD_HTTP_OK);
        assert_true(x.p.msg.flags & LBD_HTTP_F_INTERIM);
        size_t off = x.p.msg.head_len;
        assert_int_equal(parse_str(&x, &o, raw + off), LBD_HTTP_OK);
        assert_int_equal(x.p.msg.status, 201);
        assert_false(x.p.msg.flags & LBD_HTTP_F_INTERIM);
        assert_int_equal(off + x.p.msg.head_len + 2, strlen(raw));
}

/* ---- bodies --------------------------------------------------------------- */

/* Feeds s to a fresh chunked scanner in pieces cut at the given offsets;
 * returns the verdict and the bytes taken. */
static enum lbd_http_error feed_pieces(const struct lbd_http_limits *lim, const char *s, size_t len,
                                       const size_t *cuts, size_t n_cuts, size_t *ret_used) {
        struct lbd_http_body b;
        enum lbd_http_error r = LBD_HTTP_NEED_MORE;
        size_t off = 0, used;

        lbd_http_body_init(&b, LBD_HTTP_BODY_CHUNKED, 0, lim);
        for (size_t i = 0; i <= n_cuts && r == LBD_HTTP_NEED_MORE; i++) {
                size_t end = i < n_cuts ? cuts[i] : len;
                /* An exact copy of the piece: reads past it are caught. */
                char *piece = xmalloc(end - off + 1);

                memcpy(piece, s + off, end - off);
                r = lbd_http_body_feed(&b, piece, end - off, &used);
                free(piece);
                if (r == LBD_HTTP_NEED_MORE)
                        assert_int_equal(used, end - off);
                off += used;
        }
        *ret_used = off;
        return r;
}

/* Decodes s (a chunked body, then the next message) handed over in two
 * pieces cut at cut, in place, as the engine does for an HTTP/1.0 client:
 * w holds the data so far, then the bytes not consumed yet; each call's
 * data joins the data, and what it left is moved down after it. */
static void decode_split(const char *s, size_t len, size_t cut, const char *want_data,
                         const char *want_rest) {
        struct lbd_http_body b;
        char *w = xmalloc(len + 1);
        size_t in = 0, out = 0, pend = 0, used, data;
        enum lbd_http_error r = LBD_HTTP_NEED_MORE;

        lbd_http_body_init(&b, LBD_HTTP_BODY_CHUNKED, 0, NULL);
        for (int piece = 0; piece < 2 && r == LBD_HTTP_NEED_MORE; piece++) {
                size_t end = piece == 0 ? cut : len;
                memcpy(w + out + pend, s + in, end - in);
                pend += end - in;
                in = end;
                r = lbd_http_body_decode(&b, w + out, pend, &used, &data);
                assert_true(data <= used && used <= pend);
                memmove(w + out + data, w + out + used, pend - used);
                out += data;
                pend -= used;
                if (r == LBD_HTTP_NEED_MORE)
                        assert_int_equal(pend, 0);
        }
        assert_int_equal(r, LBD_HTTP_OK);
        assert_int_equal(out, strlen(want_data));
        assert_memory_equal(w, want_data, out);
        assert_int_equal(pend, strlen(want_rest));
        assert_memory_equal(w + out, want_rest, pend);
        free(w);
}

static void test_chunked_decode(void **state) {
        const char *body = "5;name=\"va;l\"\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
                           "000\r\nX-Checksum: 1234\r\nX-Empty:\r\n\r\n";
        const char *next = "GET / HTTP/1.1\r\n";
        char s[256];
        size_t blen = strlen(body), len;

        snprintf(s, sizeof(s), "%s%s", body, next);
        len = strlen(s);
        /* Every cut inside the body (a cut after it: the first piece ends it). */
        for (size_t cut = 0; cut < blen; cut++)
                decode_split(s, len, cut, "helloabcdefghijklmnopqrstuvwxyz", next);

        /* Other kinds: all of what is consumed is data. */
        struct lbd_http_body b;
        char lb[] = "0123456789GET";
        size_t used, data;
        lbd_http_body_init(&b, LBD_HTTP_BODY_LENGTH, 10, NULL);
        assert_int_equal(lbd_http_body_decode(&b, lb, strlen(lb), &used, &data), LBD_HTTP_OK);
        assert_int_equal(used, 10);
        assert_int_equal(data, 10);
        assert_memory_equal(lb, "0123456789", 10);

        /* An error keeps the valid prefix's data and is sticky. */
        char bad[] = "3\r\nabcX";
        lbd_http_body_init(&b, LBD_HTTP_BODY_CHUNKED, 0, NULL);
        assert_int_equal(lbd_http_body_decode(&b, bad, strlen(bad), &used, &data),
                         LBD_HTTP_ERR_CHUNK_DATA);
        assert_int_equal(data, 3);
        assert_memory_equal(bad, "abc", 3);
        assert_int_equal(lbd_http_body_decode(&b, bad, strlen(bad), &used, &data),
                         LBD_HTTP_ERR_CHUNK_DATA);
        assert_int_equal(used, 0);
        assert_int_equal(data, 0);
}

static void test_chunked_every_split(void **state) {
        const char *body = "5;name=\"va;l\"\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
                           "000\r\nX-Checksum: 1234\r\nX-Empty:\r\n\r\n";
        const char *next = "GET / HTTP/1.1\r\n";
        char s[256];
        size_t blen = strlen(body), len, used;

        snprintf(s, sizeof(s), "%s%s", body, next);
        len = strlen(s);

        assert_int_equal(feed_pieces(NULL, s, len, NULL, 0, &used), LBD_HTTP_OK);
        assert_int_equal(used, blen);

        /* Every split point, and every pair of them. */
        for (size_t a = 0; a <= len; a++) {
                assert_int_equal(feed_pieces(NULL, s, len, &a, 1, &used), LBD_HTTP_OK);
                assert_int_equal(used, blen);
                for (size_t c = a; c <= len; c++) {
                        size_t cuts[2] = { a, c };

                        assert_int_equal(feed_pieces(NULL, s, len, cuts, 2, &used), LBD_HTTP_OK);
                        assert_int_equal(used, blen);
                }
        }

        /* Byte by byte. */
        size_t cuts[256];
        for (size_t i = 0; i < len; i++)
                cuts[i] = i + 1;
        assert_int_equal(feed_pieces(NULL, s, len, cuts, len, &used), LBD_HTTP_OK);
        assert_int_equal(used, blen);
}

static void test_chunked_errors(void **state) {
        static const struct verdict_case cases[] = {
                { "-5\r\nhello\r\n0\r\n\r\n", LBD_HTTP_ERR_CHUNK_SIZE },
                { "+5\r\nhello\r\n0\r\n\r\n", LBD_HTTP_ERR_CHUNK_SIZE },
                { " 5\r\nhello\r\n0\r\n\r\n", LBD_HTTP_ERR_CHUNK_SIZE },
                { "0x5\r\nhello\r\n0\r\n\r\n", LBD_HTTP_ERR_CHUNK_SIZE },
                { "\r\nhello\r\n0\r\n\r\n", LBD_HTTP_ERR_CHUNK_SIZE },
                { "5 \r\nhello\r\n0\r\n\r\n", LBD_HTTP_ERR_CHUNK_SIZE },
                { "5 5\r\nhello\r\n0\r\n\r\n", LBD_HTTP_ERR_CHUNK_SIZE },
                { "g\r\n", LBD_HTTP_ERR_CHUNK_SIZE },
                { "8000000000000000\r\n", LBD_HTTP_ERR_CHUNK_SIZE },
                { "10000000000000000\r\n", LBD_HTTP_ERR_CHUNK_SIZE },
                { "5\nhello\r\n0\r\n\r\n", LBD_HTTP_ERR_BARE_LF },
                { "5;a\nhello\r\n0\r\n\r\n", LBD_HTTP_ERR_BARE_LF },
                { "5\rhello\r\n0\r\n\r\n", LBD_HTTP_ERR_BARE_CR },
                { "5;a\x01\r\nhello\r\n0\r\n\r\n", LBD_HTTP_ERR_CHUNK_EXT },
                { "5;a\x7f\r\nhello\r\n0\r\n\r\n", LBD_HTTP_ERR_CHUNK_EXT },
                { "5\r\nhelloX\r\n0\r\n\r\n", LBD_HTTP_ERR_CHUNK_DATA },
                { "5\r\nhello\n0\r\n\r\n", LBD_HTTP_ERR_CHUNK_DATA },
                { "5\r\nhello\rX0\r\n\r\n", LBD_HTTP_ERR_CHUNK_DATA },
                { "0\r\n X: 1\r\n\r\n", LBD_HTTP_ERR_TRAILER },
                { "0\r\nX : 1\r\n\r\n", LBD_HTTP_ERR_TRAILER },
                { "0\r\nX\r\n\r\n", LBD_HTTP_ERR_TRAILER },
                { "0\r\n: 1\r\n\r\n", LBD_HTTP_ERR_TRAILER },
                { "0\r\nX: a\x01\r\n\r\n", LBD_HTTP_ERR_TRAILER },
                { "0\r\nX: 1\n\r\n", LBD_HTTP_ERR_BARE_LF },
                { "0\r\nX: 1\r\n\n", LBD_HTTP_ERR_BARE_LF },
                { "0\r\n\n", LBD_HTTP_ERR_BARE_LF },
                { "0\r\nX: 1\rY\r\n", LBD_HTTP_ERR_BARE_CR },
                { "0\r\n\rX", LBD_HTTP_ERR_BARE_CR },
        };
        bool failed = false;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *s = cases[i].raw;
                size_t len = strlen(s), used_one, used_inc;
                size_t cuts[64];

                for (size_t k = 0; k < len; k++)
                        cuts[k] = k + 1;
                enum lbd_http_error one = feed_pieces(NULL, s, len, NULL, 0, &used_one);
                enum lbd_http_error inc = feed_pieces(NULL, s, len, cuts, len, &used_inc);
                if (one != cases[i].expect || inc != one || used_one != used_inc) {
                        printf("case %zu: expected %s, got %s / %s byte by byte: ", i,
                               lbd_http_error_reason(cases[i].expect), lbd_http_error_reason(one),
                               lbd_http_error_reason(inc));
                        print_escaped(s, len);
                        failed = true;
                }
        }
        assert_false(failed);
}

static void test_chunked_sizes(void **state) {
        struct lbd_http_body b;
        size_t used;

        /* The largest size we take, and leading zeros. */
        lbd_http_body_init(&b, LBD_HTTP_BODY_CHUNKED, 0, NULL);
        assert_int_equal(lbd_http_body_feed(&b, "7fffffffffffffff\r\nab", 20, &used), LBD_HTTP_NEED_MORE);
        assert_int_equal(used, 20);
        assert_int_equal(b.remaining, (uint64_t) INT64_MAX - 2);

        lbd_http_body_init(&b, LBD_HTTP_BODY_CHUNKED, 0, NULL);
        assert_int_equal(lbd_http_body_feed(&b, "00000000000000000000Ff\r\n", 24, &used), LBD_HTTP_NEED_MORE);
        assert_int_equal(b.remaining, 255);

        /* BWS before an extension is allowed. */
        lbd_http_body_init(&b, LBD_HTTP_BODY_CHUNKED, 0, NULL);
        assert_int_equal(lbd_http_body_feed(&b, "1 \t; a = b\r\nx\r\n0\r\n\r\n", 20, &used), LBD_HTTP_OK);
        assert_int_equal(used, 20);
        assert_true(lbd_http_body_done(&b));
}

static void test_chunked_limits(void **state) {
        struct lbd_http_limits lim = LBD_HTTP_LIMITS_DEFAULT;
        char s[128];
        size_t used;

        /* Chunk-size line: exactly the limit, then one more. */
        lim.chunk_line = 10;
        snprintf(s, sizeof(s), "1;ext=1234\r\nx\r\n0\r\n\r\n");
        assert_int_equal(feed_pieces(&lim, s, strlen(s), NULL, 0, &used), LBD_HTTP_OK);
        snprintf(s, sizeof(s), "1;ext=12345\r\nx\r\n0\r\n\r\n");
        assert_int_equal(feed_pieces(&lim, s, strlen(s), NULL, 0, &used), LBD_HTTP_ERR_CHUNK_LINE_TOO_LONG);
        /* Found without the rest of the line. */
        assert_int_equal(feed_pieces(&lim, s, 11, NULL, 0, &used), LBD_HTTP_ERR_CHUNK_LINE_TOO_LONG);
        assert_int_equal(used, 10);
        assert_int_equal(feed_pieces(&lim, s, 10, NULL, 0, &used), LBD_HTTP_NEED_MORE);

        /* Trailer section: "X: 12\r\n\r\n" is 9 bytes. */
        lim = LBD_HTTP_LIMITS_DEFAULT;
        lim.trailer_size = 9;
        snprintf(s, sizeof(s), "0\r\nX: 12\r\n\r\n");
        assert_int_equal(feed_pieces(&lim, s, strlen(s), NULL, 0, &used), LBD_HTTP_OK);
        assert_int_equal(used, strlen(s));
        snprintf(s, sizeof(s), "0\r\nX: 123\r\n\r\n");
        assert_int_equal(feed_pieces(&lim, s, strlen(s), NULL, 0, &used), LBD_HTTP_ERR_TRAILER_TOO_LARGE);
}

static void test_chunked_sticky(void **state) {
        struct lbd_http_body b;
        size_t used;

        lbd_http_body_init(&b, LBD_HTTP_BODY_CHUNKED, 0, NULL);
        assert_int_equal(lbd_http_body_feed(&b, "3\r\nab", 5, &used), LBD_HTTP_NEED_MORE);
        assert_int_equal(lbd_http_body_feed(&b, "cX", 2, &used), LBD_HTTP_ERR_CHUNK_DATA);
        assert_int_equal(used, 1);
        assert_int_equal(lbd_http_body_feed(&b, "\r\n0\r\n\r\n", 7, &used), LBD_HTTP_ERR_CHUNK_DATA);
        assert_int_equal(used, 0);
        assert_false(lbd_http_body_done(&b));

        lbd_http_body_init(&b, LBD_HTTP_BODY_CHUNKED, 0, NULL);
        assert_int_equal(lbd_http_body_feed(&b, "0\r\n\r\nGET", 8, &used), LBD_HTTP_OK);
        assert_int_equal(used, 5);
        assert_int_equal(lbd_http_body_feed(&b, "GET", 3, &used), LBD_HTTP_OK);
        assert_int_equal(used, 0);
}

static void test_length_and_other_bodies(void **state) {
        struct lbd_http_body b;
        size_t used;

        lbd_http_body_init(&b, LBD_HTTP_BODY_LENGTH, 10, NULL);
        assert_false(lbd_http_body_done(&b));
        assert_int_equal(lbd_http_body_feed(&b, "0123", 4, &used), LBD_HTTP_NEED_MORE);
        assert_int_equal(used, 4);
        assert_int_equal(lbd_http_body_feed(&b, "456789GET", 9, &used), LBD_HTTP_OK);
        assert_int_equal(used, 6);
        assert_true(lbd_http_body_done(&b));

        /* One byte more than the body: the boundary. */
        lbd_http_body_init(&b, LBD_HTTP_BODY_LENGTH, 3, NULL);
        assert_int_equal(lbd_http_body_feed(&b, "abcG", 4, &used), LBD_HTTP_OK);
        assert_int_equal(used, 3);
        assert_true(lbd_http_body_done(&b));
        assert_int_equal(lbd_http_body_feed(&b, "GET", 3, &used), LBD_HTTP_OK);
        assert_int_equal(used, 0);

        lbd_http_body_init(&b, LBD_HTTP_BODY_LENGTH, 0, NULL);
        assert_true(lbd_http_body_done(&b));
        assert_int_equal(lbd_http_body_feed(&b, "GET", 3, &used), LBD_HTTP_OK);
        assert_int_equal(used, 0);

        lbd_http_body_init(&b, LBD_HTTP_BODY_NONE, 99, NULL);
        assert_int_equal(lbd_http_body_feed(&b, "GET", 3, &used), LBD_HTTP_OK);
        assert_int_equal(used, 0);

        lbd_http_body_init(&b, LBD_HTTP_BODY_CLOSE, 0, NULL);
        assert_int_equal(lbd_http_body_feed(&b, "0\r\n\r\n", 5, &used), LBD_HTTP_NEED_MORE);
        assert_int_equal(used, 5);
        assert_false(lbd_http_body_done(&b));

        lbd_http_body_init(&b, LBD_HTTP_BODY_TUNNEL, 0, NULL);
        assert_int_equal(lbd_http_body_feed(&b, "xyz", 3, &used), LBD_HTTP_NEED_MORE);
        assert_int_equal(used, 3);
}

/* ---- error codes ---------------------------------------------------------- */

static void test_error_table(void **state) {
        for (int e = 0; e < _LBD_HTTP_ERROR_MAX; e++) {
                int status = lbd_http_error_status(e);
                const char *reason = lbd_http_error_reason(e);

                assert_non_null(reason);
                assert_true(strlen(reason) > 0);
                if (e <= LBD_HTTP_NEED_MORE)
                        assert_int_equal(status, 0);
                else
                        assert_true(status == 400 || status == 414 || status == 431 || status == 501 ||
                                    status == 505);
        }
        assert_int_equal(lbd_http_error_status(LBD_HTTP_ERR_BARE_LF), 400);
        assert_int_equal(lbd_http_error_status(LBD_HTTP_ERR_CL_AND_TE), 400);
        assert_int_equal(lbd_http_error_status(LBD_HTTP_ERR_VERSION_UNSUPPORTED), 505);
        assert_string_equal(lbd_http_error_reason(_LBD_HTTP_ERROR_MAX), "unknown error");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_simple_get),
                cmocka_unit_test(test_need_more),
                cmocka_unit_test(test_methods),
                cmocka_unit_test(test_request_line_errors),
                cmocka_unit_test(test_target_forms),
                cmocka_unit_test(test_target_errors),
                cmocka_unit_test(test_target_nul),
                cmocka_unit_test(test_leading_empty_lines),
                cmocka_unit_test(test_line_endings),
                cmocka_unit_test(test_header_syntax_errors),
                cmocka_unit_test(test_header_nul),
                cmocka_unit_test(test_header_values),
                cmocka_unit_test(test_header_underscore),
                cmocka_unit_test(test_host),
                cmocka_unit_test(test_content_length),
                cmocka_unit_test(test_content_length_merged),
                cmocka_unit_test(test_content_length_errors),
                cmocka_unit_test(test_transfer_encoding),
                cmocka_unit_test(test_transfer_encoding_errors),
                cmocka_unit_test(test_keep_alive),
                cmocka_unit_test(test_hop_by_hop),
                cmocka_unit_test(test_connection_cannot_drop_framing),
                cmocka_unit_test(test_connection_options),
                cmocka_unit_test(test_upgrade),
                cmocka_unit_test(test_expect),
                cmocka_unit_test(test_limit_request_line),
                cmocka_unit_test(test_limit_field_size),
                cmocka_unit_test(test_limit_fields),
                cmocka_unit_test(test_limit_head_size),
                cmocka_unit_test(test_pipelined),
                cmocka_unit_test(test_incremental_equals_one_shot),
                cmocka_unit_test(test_response_basic),
                cmocka_unit_test(test_response_errors),
                cmocka_unit_test(test_response_framing),
                cmocka_unit_test(test_response_hop_by_hop),
                cmocka_unit_test(test_response_after_continue),
                cmocka_unit_test(test_chunked_every_split),
                cmocka_unit_test(test_chunked_decode),
                cmocka_unit_test(test_chunked_errors),
                cmocka_unit_test(test_chunked_sizes),
                cmocka_unit_test(test_chunked_limits),
                cmocka_unit_test(test_chunked_sticky),
                cmocka_unit_test(test_length_and_other_bodies),
                cmocka_unit_test(test_error_table),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
