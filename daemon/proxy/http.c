/* SPDX-License-Identifier: MIT */
#include "http.h"

#include <assert.h>
#include <string.h>

enum {
        PS_START,               /* expecting the start line (or empty lines before it) */
        PS_HEADERS,
        PS_DONE,
        PS_ERROR,
};

/* RFC 9110 tchar: the bytes of methods, field names and codings. */
static const bool tchar[256] = {
        ['!'] = true, ['#'] = true, ['$'] = true, ['%'] = true, ['&'] = true,
        ['\''] = true, ['*'] = true, ['+'] = true, ['-'] = true, ['.'] = true,
        ['^'] = true, ['_'] = true, ['`'] = true, ['|'] = true, ['~'] = true,
        ['0' ... '9'] = true, ['A' ... 'Z'] = true, ['a' ... 'z'] = true,
};

/* RFC 3986 reg-name (unreserved, pct-encoded, sub-delims). No '@': a
 * userinfo in a host is an error (RFC 9110 section 4.2.4). */
static const bool regname_char[256] = {
        ['0' ... '9'] = true, ['A' ... 'Z'] = true, ['a' ... 'z'] = true,
        ['-'] = true, ['.'] = true, ['_'] = true, ['~'] = true, ['%'] = true,
        ['!'] = true, ['$'] = true, ['&'] = true, ['\''] = true, ['('] = true,
        [')'] = true, ['*'] = true, ['+'] = true, [','] = true, [';'] = true,
        ['='] = true,
};

static const struct {
        short status;
        const char *reason;
} error_table[_LBD_HTTP_ERROR_MAX] = {
        [LBD_HTTP_OK]                           = {   0, "ok" },
        [LBD_HTTP_NEED_MORE]                    = {   0, "incomplete" },
        [LBD_HTTP_ERR_BARE_LF]                  = { 400, "bare LF (line ends must be CRLF)" },
        [LBD_HTTP_ERR_BARE_CR]                  = { 400, "CR not followed by LF" },
        [LBD_HTTP_ERR_REQUEST_LINE]             = { 400, "malformed request line" },
        [LBD_HTTP_ERR_METHOD]                   = { 400, "invalid method" },
        [LBD_HTTP_ERR_TARGET]                   = { 400, "invalid request target" },
        [LBD_HTTP_ERR_VERSION]                  = { 400, "malformed HTTP version" },
        [LBD_HTTP_ERR_STATUS_LINE]              = { 400, "malformed status line" },
        [LBD_HTTP_ERR_FIELD_NAME]               = { 400, "invalid header field name" },
        [LBD_HTTP_ERR_SPACE_BEFORE_COLON]       = { 400, "whitespace between header name and colon" },
        [LBD_HTTP_ERR_OBS_FOLD]                 = { 400, "header line folding (obs-fold)" },
        [LBD_HTTP_ERR_FIELD_VALUE]              = { 400, "control character in header value" },
        [LBD_HTTP_ERR_CONTENT_LENGTH]           = { 400, "invalid Content-Length" },
        [LBD_HTTP_ERR_CONTENT_LENGTH_MISMATCH]  = { 400, "differing Content-Length values" },
        [LBD_HTTP_ERR_CL_AND_TE]                = { 400, "both Content-Length and Transfer-Encoding" },
        [LBD_HTTP_ERR_TRANSFER_ENCODING]        = { 400, "malformed Transfer-Encoding" },
        [LBD_HTTP_ERR_TE_NOT_CHUNKED_LAST]      = { 400, "Transfer-Encoding not ending in a single chunked" },
        [LBD_HTTP_ERR_TE_HTTP10]                = { 400, "Transfer-Encoding in HTTP/1.0" },
        [LBD_HTTP_ERR_HOST_MISSING]             = { 400, "HTTP/1.1 request without Host" },
        [LBD_HTTP_ERR_HOST_DUPLICATE]           = { 400, "more than one Host" },
        [LBD_HTTP_ERR_HOST_INVALID]             = { 400, "invalid Host" },
        [LBD_HTTP_ERR_CONNECTION]               = { 400, "malformed or too many Connection options" },
        [LBD_HTTP_ERR_CHUNK_SIZE]               = { 400, "invalid chunk size" },
        [LBD_HTTP_ERR_CHUNK_EXT]                = { 400, "invalid chunk extension" },
        [LBD_HTTP_ERR_CHUNK_LINE_TOO_LONG]      = { 400, "chunk size line too long" },
        [LBD_HTTP_ERR_CHUNK_DATA]               = { 400, "chunk data not followed by CRLF" },
        [LBD_HTTP_ERR_TRAILER]                  = { 400, "malformed trailer field" },
        [LBD_HTTP_ERR_TRAILER_TOO_LARGE]        = { 400, "trailer section too large" },
        [LBD_HTTP_ERR_REQUEST_LINE_TOO_LONG]    = { 414, "request line too long" },
        [LBD_HTTP_ERR_TOO_MANY_FIELDS]          = { 431, "too many header fields" },
        [LBD_HTTP_ERR_FIELD_TOO_LONG]           = { 431, "header field too long" },
        [LBD_HTTP_ERR_HEAD_TOO_LARGE]           = { 431, "request head too large" },
        [LBD_HTTP_ERR_TE_UNKNOWN]               = { 501, "unsupported transfer coding" },
        [LBD_HTTP_ERR_VERSION_UNSUPPORTED]      = { 505, "unsupported HTTP version" },
};

int lbd_http_error_status(enum lbd_http_error e) {
        if ((unsigned) e >= _LBD_HTTP_ERROR_MAX)
                return 400;
        return error_table[e].status;
}

const char *lbd_http_error_reason(enum lbd_http_error e) {
        if ((unsigned) e >= _LBD_HTTP_ERROR_MAX)
                return "unknown error";
        return error_table[e].reason;
}

static inline bool is_ows(unsigned char c) {
        return c == ' ' || c == '\t';
}

static inline bool is_digit(unsigned char c) {
        return c >= '0' && c <= '9';
}

static inline bool is_alpha(unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* field-vchar, SP and HTAB: what a field value, reason phrase or chunk
 * extension may hold. Every other control byte (NUL, CR, LF, ...) is
 * refused rather than replaced, as RFC 9110 section 5.5 allows. */
static inline bool is_value_char(unsigned char c) {
        return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static inline int hex_value(unsigned char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static inline unsigned char ascii_lower(unsigned char c) {
        return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Case-insensitive comparison with a lowercase literal, independent of the
 * locale (strcasecmp() would consult it). */
static bool caseeq(const char *s, size_t n, const char *lower) {
        size_t l = strlen(lower);

        if (n != l)
                return false;
        for (size_t i = 0; i < n; i++)
                if (ascii_lower((unsigned char) s[i]) != (unsigned char) lower[i])
                        return false;
        return true;
}

static bool span_caseeq(const char *buf, struct lbd_http_span a, struct lbd_http_span b) {
        if (a.len != b.len)
                return false;
        for (uint32_t i = 0; i < a.len; i++)
                if (ascii_lower((unsigned char) buf[a.off + i]) != ascii_lower((unsigned char) buf[b.off + i]))
                        return false;
        return true;
}

static inline struct lbd_http_span mkspan(size_t off, size_t len) {
        return (struct lbd_http_span) { .off = (uint32_t) off, .len = (uint32_t) len };
}

static enum lbd_http_header_id header_id(const char *s, size_t n) {
        /* Dispatch on the length first: most names are compared with
         * nothing, and none with more than two literals. */
        switch (n) {
        case 2:
                return caseeq(s, n, "te") ? LBD_HTTP_H_TE : LBD_HTTP_H_OTHER;
        case 4:
                return caseeq(s, n, "host") ? LBD_HTTP_H_HOST : LBD_HTTP_H_OTHER;
        case 6:
                return caseeq(s, n, "expect") ? LBD_HTTP_H_EXPECT : LBD_HTTP_H_OTHER;
        case 7:
                if (caseeq(s, n, "upgrade"))
                        return LBD_HTTP_H_UPGRADE;
                return caseeq(s, n, "trailer") ? LBD_HTTP_H_TRAILER : LBD_HTTP_H_OTHER;
        case 9:
                return caseeq(s, n, "forwarded") ? LBD_HTTP_H_FORWARDED : LBD_HTTP_H_OTHER;
        case 10:
                if (caseeq(s, n, "connection"))
                        return LBD_HTTP_H_CONNECTION;
                return caseeq(s, n, "keep-alive") ? LBD_HTTP_H_KEEP_ALIVE : LBD_HTTP_H_OTHER;
        case 14:
                return caseeq(s, n, "content-length") ? LBD_HTTP_H_CONTENT_LENGTH : LBD_HTTP_H_OTHER;
        case 15:
                return caseeq(s, n, "x-forwarded-for") ? LBD_HTTP_H_X_FORWARDED_FOR : LBD_HTTP_H_OTHER;
        case 16:
                return caseeq(s, n, "proxy-connection") ? LBD_HTTP_H_PROXY_CONNECTION : LBD_HTTP_H_OTHER;
        case 17:
                if (caseeq(s, n, "transfer-encoding"))
                        return LBD_HTTP_H_TRANSFER_ENCODING;
                return caseeq(s, n, "x-forwarded-proto") ? LBD_HTTP_H_X_FORWARDED_PROTO : LBD_HTTP_H_OTHER;
        default:
                return LBD_HTTP_H_OTHER;
        }
}

static enum lbd_http_method method_id(const char *s, size_t n) {
        /* Methods are case-sensitive (RFC 9110 section 9.1). */
        static const struct {
                const char *name;
                enum lbd_http_method id;
        } methods[] = {
                { "GET", LBD_HTTP_METHOD_GET },
                { "HEAD", LBD_HTTP_METHOD_HEAD },
                { "POST", LBD_HTTP_METHOD_POST },
                { "PUT", LBD_HTTP_METHOD_PUT },
                { "DELETE", LBD_HTTP_METHOD_DELETE },
                { "CONNECT", LBD_HTTP_METHOD_CONNECT },
                { "OPTIONS", LBD_HTTP_METHOD_OPTIONS },
                { "TRACE", LBD_HTTP_METHOD_TRACE },
                { "PATCH", LBD_HTTP_METHOD_PATCH },
        };

        for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
                if (strlen(methods[i].name) == n && memcmp(methods[i].name, s, n) == 0)
                        return methods[i].id;
        return LBD_HTTP_METHOD_OTHER;
}

/* uri-host [ ":" port ] (RFC 3986): a reg-name or IPv4 address, or an
 * IP-literal in brackets. Used for Host, CONNECT's authority-form (port
 * required) and the authority of an absolute-form target. */
static bool valid_host_port(const unsigned char *s, size_t n, bool need_port) {
        size_t i = 0;

        if (n == 0)
                return false;

        if (s[0] == '[') {
                const unsigned char *close = memchr(s, ']', n);

                if (!close || close == s + 1)
                        return false;
                for (const unsigned char *c = s + 1; c < close; c++)
                        if (hex_value(*c) < 0 && *c != ':' && *c != '.')
                                return false;
                i = (size_t) (close - s) + 1;
        } else {
                while (i < n && regname_char[s[i]])
                        i++;
                if (i == 0)
                        return false;
        }

        if (i == n)
                return !need_port;
        if (s[i] != ':')
                return false;
        i++;
        if (need_port && i == n)
                return false;
        for (; i < n; i++)
                if (!is_digit(s[i]))
                        return false;
        return true;
}

static void parser_init(
                struct lbd_http_parser *p,
                enum lbd_http_kind kind,
                const struct lbd_http_limits *limits,
                struct lbd_http_header *headers,
                size_t n_headers,
                enum lbd_http_method request_method) {

        *p = (struct lbd_http_parser) {
                .msg = {
                        .kind = kind,
                        .headers = headers,
                },
                .limits = limits ? *limits : LBD_HTTP_LIMITS_DEFAULT,
                .request_method = request_method,
                .state = PS_START,
        };
        /* The array's size is a limit like the others: fields past it get
         * 431, never an overflow. */
        if (p->limits.fields > n_headers)
                p->limits.fields = (uint32_t) n_headers;
}

void lbd_http_parser_init_request(
                struct lbd_http_parser *p,
                const struct lbd_http_limits *limits,
                struct lbd_http_header *headers,
                size_t n_headers) {

        parser_init(p, LBD_HTTP_REQUEST, limits, headers, n_headers, LBD_HTTP_METHOD_OTHER);
}

void lbd_http_parser_init_response(
                struct lbd_http_parser *p,
                const struct lbd_http_limits *limits,
                struct lbd_http_header *headers,
                size_t n_headers,
                enum lbd_http_method request_method) {

        parser_init(p, LBD_HTTP_RESPONSE, limits, headers, n_headers, request_method);
}

/* Find the end of the line starting at p->pos. Returns OK with the line's
 * length (CRLF excluded), NEED_MORE, or an error.
 *
 * The search never looks past the first byte that would break a limit
 * (line limit + 1 bytes into the line, or head_size bytes into the head),
 * so an over-long line is reported as such whether it arrives byte by byte
 * or in one read, and a bare LF past the limit is never seen. p->scan
 * remembers how far we searched, so that each byte is searched once even
 * when the head arrives in many small reads. */
static enum lbd_http_error find_line(
                struct lbd_http_parser *p,
                const char *buf,
                size_t len,
                uint32_t limit,
                enum lbd_http_error too_long,
                size_t *ret_len) {

        uint64_t pos = p->pos;
        uint64_t line_stop = pos + limit + 1;
        uint64_t head_stop = p->limits.head_size;
        uint64_t end = len;

        if (end > line_stop)
                end = line_stop;
        if (end > head_stop)
                end = head_stop;

        if (p->scan < end) {
                const char *from = buf + p->scan;
                const char *cr = memchr(from, '\r', end - p->scan);
                const char *stop = cr ?: buf + end;

                if (memchr(from, '\n', (size_t) (stop - from)))
                        return LBD_HTTP_ERR_BARE_LF;

                if (cr) {
                        size_t e = (size_t) (cr - buf);

                        p->scan = (uint32_t) e;
                        /* The LF would be byte head_size + 1 of the head. */
                        if (e + 1 >= head_stop)
                                return LBD_HTTP_ERR_HEAD_TOO_LARGE;
                        if (e + 1 >= len)
                                return LBD_HTTP_NEED_MORE;
                        if (buf[e + 1] != '\n')
                                return LBD_HTTP_ERR_BARE_CR;
                        *ret_len = e - pos;
                        return LBD_HTTP_OK;
                }
                p->scan = (uint32_t) end;
        }

        /* No line end before 'end': the reason it stopped is the verdict.
         * When both limits are hit at the same byte, the line's wins: it is
         * the more specific one. */
        if (end == line_stop)
                return too_long;
        if (end == head_stop)
                return LBD_HTTP_ERR_HEAD_TOO_LARGE;
        return LBD_HTTP_NEED_MORE;
}

/* "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 section 2.3). */
static enum lbd_http_error parse_version(const unsigned char *v, size_t n, uint8_t *ret_minor) {
        if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || !is_digit(v[5]) || v[6] != '.' || !is_digit(v[7]))
                return LBD_HTTP_ERR_VERSION;
        if (v[5] != '1' || v[7] > '1')
                return LBD_HTTP_ERR_VERSION_UNSUPPORTED;
        *ret_minor = (uint8_t) (v[7] - '0');
        return LBD_HTTP_OK;
}

static enum lbd_http_error parse_target(struct lbd_http_parser *p, size_t off, const unsigned char *t, size_t n) {
        struct lbd_http_msg *m = &p->msg;

        /* Visible ASCII and obs-text: what cannot end or split the line.
         * Finer URI syntax is the backend's business. */
        for (size_t i = 0; i < n; i++)
                if (t[i] <= 0x20 || t[i] == 0x7f)
                        return LBD_HTTP_ERR_TARGET;

        if (m->method == LBD_HTTP_METHOD_CONNECT) {
                /* CONNECT takes authority-form and nothing else. */
                if (!valid_host_port(t, n, true))
                        return LBD_HTTP_ERR_TARGET;
                m->target_form = LBD_HTTP_TARGET_AUTHORITY;
                m->authority = mkspan(off, n);
                return LBD_HTTP_OK;
        }

        if (t[0] == '/') {
                m->target_form = LBD_HTTP_TARGET_ORIGIN;
                return LBD_HTTP_OK;
        }

        if (n == 1 && t[0] == '*') {
                if (m->method != LBD_HTTP_METHOD_OPTIONS)
                        return LBD_HTTP_ERR_TARGET;
                m->target_form = LBD_HTTP_TARGET_ASTERISK;
                return LBD_HTTP_OK;
        }

        /* absolute-form: scheme "://" authority [ path-abempty ] [ "?" query ].
         * A non-empty authority is required: a gateway has no use for any
         * other kind of absolute URI. */
        size_t i = 0;
        if (!is_alpha(t[0]))
                return LBD_HTTP_ERR_TARGET;
        while (i < n && (is_alpha(t[i]) || is_digit(t[i]) || t[i] == '+' || t[i] == '-' || t[i] == '.'))
                i++;
        if (n - i < 3 || memcmp(t + i, "://", 3) != 0)
                return LBD_HTTP_ERR_TARGET;
        i += 3;

        size_t a = i;
        while (i < n && t[i] != '/' && t[i] != '?' && t[i] != '#')
                i++;
        if (!valid_host_port(t + a, i - a, false))
                return LBD_HTTP_ERR_TARGET;

        m->target_form = LBD_HTTP_TARGET_ABSOLUTE;
        m->authority = mkspan(off + a, i - a);
        return LBD_HTTP_OK;
}

/* method SP request-target SP HTTP-version, single spaces only (RFC 9112
 * section 3: no other whitespace, no leniency). */
static enum lbd_http_error parse_request_line(struct lbd_http_parser *p, const char *buf, size_t s, size_t n) {
        const unsigned char *l = (const unsigned char *) buf + s;
        struct lbd_http_msg *m = &p->msg;
        enum lbd_http_error r;
        size_t i = 0;

        while (i < n && tchar[l[i]])
                i++;
        if (i == n)
                return LBD_HTTP_ERR_REQUEST_LINE;
        if (l[i] != ' ')
                return is_ows(l[i]) ? LBD_HTTP_ERR_REQUEST_LINE : LBD_HTTP_ERR_METHOD;
        if (i == 0)
                return LBD_HTTP_ERR_REQUEST_LINE;
        m->method_name = mkspan(s, i);
        m->method = method_id(buf + s, i);

        size_t t = i + 1;
        const unsigned char *sp = memchr(l + t, ' ', n - t);
        if (!sp || sp == l + t)
                return LBD_HTTP_ERR_REQUEST_LINE;
        size_t te = (size_t) (sp - l);

        size_t v = te + 1;
        r = parse_version(l + v, n - v, &m->version_minor);
        if (r != LBD_HTTP_OK)
                /* "GET /a b HTTP/1.1", "GET / HTTP/1.1 ": the space is the
                 * problem, not the version. */
                return memchr(l + v, ' ', n - v) ? LBD_HTTP_ERR_REQUEST_LINE : r;

        m->target = mkspan(s + t, te - t);
        return parse_target(p, s + t, l + t, te - t);
}

/* HTTP-version SP 3DIGIT SP [ reason-phrase ]. The SP before an empty
 * reason may be missing: common, and harmless since the line ends there. */
static enum lbd_http_error parse_status_line(struct lbd_http_parser *p, const char *buf, size_t s, size_t n) {
        const unsigned char *l = (const unsigned char *) buf + s;
        struct lbd_http_msg *m = &p->msg;
        enum lbd_http_error r;

        if (n < 12 || l[8] != ' ')
                return LBD_HTTP_ERR_STATUS_LINE;
        r = parse_version(l, 8, &m->version_minor);
        if (r != LBD_HTTP_OK)
                return r;
        if (!is_digit(l[9]) || !is_digit(l[10]) || !is_digit(l[11]) || l[9] == '0')
                return LBD_HTTP_ERR_STATUS_LINE;
        m->status = (uint16_t) ((l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0'));

        if (n == 12) {
                m->reason = mkspan(s + 12, 0);
                return LBD_HTTP_OK;
        }
        if (l[12] != ' ')
                return LBD_HTTP_ERR_STATUS_LINE;
        for (size_t i = 13; i < n; i++)
                if (!is_value_char(l[i]))
                        return LBD_HTTP_ERR_STATUS_LINE;
        m->reason = mkspan(s + 13, n - 13);
        return LBD_HTTP_OK;
}

/* 1*DIGIT, or a list of them whose values are all equal (RFC 9110 section
 * 8.6 lets a recipient merge those). Values past INT64_MAX are refused:
 * the engine adds lengths to off_t. */
static enum lbd_http_error parse_content_length(struct lbd_http_parser *p, const char *buf, struct lbd_http_header *h) {
        const unsigned char *s = (const unsigned char *) buf + h->value.off;
        struct lbd_http_msg *m = &p->msg;
        size_t n = h->value.len, i = 0;
        bool rewrite = p->n_content_length > 0;

        for (;;) {
                size_t d = i;
                uint64_t v = 0;

                while (i < n && is_digit(s[i])) {
                        unsigned digit = s[i] - '0';

                        if (v > ((uint64_t) INT64_MAX - digit) / 10)
                                return LBD_HTTP_ERR_CONTENT_LENGTH;
                        v = v * 10 + digit;
                        i++;
                }
                if (i == d)
                        return LBD_HTTP_ERR_CONTENT_LENGTH;
                if (s[d] == '0' && i - d > 1)
                        rewrite = true;
                if ((m->flags & LBD_HTTP_F_CONTENT_LENGTH) && v != m->content_length)
                        return LBD_HTTP_ERR_CONTENT_LENGTH_MISMATCH;
                m->content_length = v;
                m->flags |= LBD_HTTP_F_CONTENT_LENGTH;

                while (i < n && is_ows(s[i]))
                        i++;
                if (i == n)
                        break;
                if (s[i] != ',')
                        return LBD_HTTP_ERR_CONTENT_LENGTH;
                rewrite = true;
                i++;
                while (i < n && is_ows(s[i]))
                        i++;
        }

        if (p->n_content_length < UINT8_MAX)
                p->n_content_length++;
        if (rewrite)
                m->flags |= LBD_HTTP_F_CONTENT_LENGTH_REWRITE;
        return LBD_HTTP_OK;
}

/* Codings we let through in front of chunked: the registered ones (RFC
 * 9112 section 7), which the backend decodes. */
static bool known_coding(const char *s, size_t n) {
        return caseeq(s, n, "gzip") || caseeq(s, n, "x-gzip") ||
               caseeq(s, n, "deflate") ||
               caseeq(s, n, "compress") || caseeq(s, n, "x-compress");
}

/* A strict list of codings: no empty elements, no parameters (no coding
 * we accept has any). Where the list ends is what decides the framing, so
 * nothing about it is left to interpretation. */
static enum lbd_http_error parse_transfer_encoding(struct lbd_http_parser *p, const char *buf, struct lbd_http_header *h) {
        const char *s = buf + h->value.off;
        size_t n = h->value.len, i = 0;
        bool request = p->msg.kind == LBD_HTTP_REQUEST;

        p->msg.flags |= LBD_HTTP_F_TRANSFER_ENCODING;

        for (;;) {
                size_t t = i;

                while (i < n && tchar[(unsigned char) s[i]])
                        i++;
                if (i == t)
                        return LBD_HTTP_ERR_TRANSFER_ENCODING;

                if (caseeq(s + t, i - t, "chunked")) {
                        /* Chunked twice would need two decodings to find the
                         * end: no sender means it, some parser gets it wrong. */
                        if (p->te_chunked_seen)
                                return LBD_HTTP_ERR_TE_NOT_CHUNKED_LAST;
                        p->te_chunked_seen = p->te_chunked_last = true;
                } else {
                        if (request) {
                                if (p->te_chunked_seen)
                                        return LBD_HTTP_ERR_TE_NOT_CHUNKED_LAST;
                                /* Decided once the list is whole: a coding
                                 * we do not know is 501 only when chunked
                                 * ends the list; without chunked last the
                                 * length is unknowable, which is 400 (RFC
                                 * 9112 section 6.3), "identity" included. */
                                if (!known_coding(s + t, i - t))
                                        p->te_unknown = true;
                        }
                        p->te_chunked_last = false;
                }

                while (i < n && is_ows((unsigned char) s[i]))
                        i++;
                if (i == n)
                        return LBD_HTTP_OK;
                if (s[i] == ';')
                        return LBD_HTTP_ERR_TE_UNKNOWN;
                if (s[i] != ',')
                        return LBD_HTTP_ERR_TRANSFER_ENCODING;
                i++;
                while (i < n && is_ows((unsigned char) s[i]))
                        i++;
        }
}

/* Splits the next element off a comma-separated list (s[*i..n)), skipping
 * empty elements and the whitespace around each. */
static bool list_element(const char *s, size_t n, size_t *i, size_t *ret_start, size_t *ret_len) {
        while (*i < n && (s[*i] == ',' || is_ows((unsigned char) s[*i])))
                (*i)++;
        if (*i >= n)
                return false;

        size_t start = *i;
        const char *comma = memchr(s + start, ',', n - start);
        size_t end = comma ? (size_t) (comma - s) : n;

        *i = end;
        while (end > start && is_ows((unsigned char) s[end - 1]))
                end--;
        *ret_start = start;
        *ret_len = end - start;
        return true;
}

static enum lbd_http_error parse_connection(struct lbd_http_parser *p, const char *buf, struct lbd_http_header *h) {
        const char *s = buf + h->value.off;
        size_t n = h->value.len, i = 0, start, len;

        while (list_element(s, n, &i, &start, &len)) {
                for (size_t j = start; j < start + len; j++)
                        if (!tchar[(unsigned char) s[j]])
                                return LBD_HTTP_ERR_CONNECTION;
                if (++p->n_connection_options > LBD_HTTP_MAX_CONNECTION_OPTIONS)
                        return LBD_HTTP_ERR_CONNECTION;

                if (caseeq(s + start, len, "close"))
                        p->msg.flags |= LBD_HTTP_F_CONN_CLOSE;
                else if (caseeq(s + start, len, "keep-alive"))
                        p->msg.flags |= LBD_HTTP_F_CONN_KEEP_ALIVE;
                else if (caseeq(s + start, len, "upgrade"))
                        p->msg.flags |= LBD_HTTP_F_CONN_UPGRADE;
        }
        return LBD_HTTP_OK;
}

/* What one header means for the message, checked as soon as it is read. */
static enum lbd_http_error header_semantics(struct lbd_http_parser *p, const char *buf, struct lbd_http_header *h) {
        struct lbd_http_msg *m = &p->msg;
        bool request = m->kind == LBD_HTTP_REQUEST;

        switch (h->id) {
        case LBD_HTTP_H_HOST:
                if (!request)
                        return LBD_HTTP_OK;
                /* Two Hosts could route differently here and at the backend
                 * (RFC 9112 section 3.2). */
                if (++p->n_host > 1)
                        return LBD_HTTP_ERR_HOST_DUPLICATE;
                if (h->value.len > 0 &&
                    !valid_host_port((const unsigned char *) buf + h->value.off, h->value.len, false))
                        return LBD_HTTP_ERR_HOST_INVALID;
                m->host = h->value;
                m->flags |= LBD_HTTP_F_HOST;
                return LBD_HTTP_OK;

        case LBD_HTTP_H_CONTENT_LENGTH:
                return parse_content_length(p, buf, h);

        case LBD_HTTP_H_TRANSFER_ENCODING:
                return parse_transfer_encoding(p, buf, h);

        case LBD_HTTP_H_CONNECTION:
                h->flags |= LBD_HTTP_HEADER_DROP;
                return parse_connection(p, buf, h);

        case LBD_HTTP_H_KEEP_ALIVE:
        case LBD_HTTP_H_PROXY_CONNECTION:
        case LBD_HTTP_H_TE:
                h->flags |= LBD_HTTP_HEADER_DROP;
                return LBD_HTTP_OK;

        case LBD_HTTP_H_UPGRADE:
                /* Kept or dropped once we know whether this is an upgrade. */
                p->upgrade_seen = true;
                m->upgrade = h->value;
                return LBD_HTTP_OK;

        case LBD_HTTP_H_EXPECT:
                if (!request)
                        return LBD_HTTP_OK;
                if (caseeq(buf + h->value.off, h->value.len, "100-continue"))
                        m->flags |= LBD_HTTP_F_EXPECT_CONTINUE;
                else
                        m->flags |= LBD_HTTP_F_EXPECT_OTHER;
                return LBD_HTTP_OK;

        default:
                return LBD_HTTP_OK;
        }
}

/* field-name ":" OWS field-value OWS (RFC 9112 section 5). */
static enum lbd_http_error parse_header_line(struct lbd_http_parser *p, const char *buf, size_t s, size_t n) {
        const unsigned char *l = (const unsigned char *) buf + s;
        struct lbd_http_msg *m = &p->msg;
        size_t i = 0;

        /* A line starting with whitespace continues the previous one
         * (obs-fold), or after the start line hides a header from parsers
         * that skip it: refused either way (RFC 9112 sections 2.2, 5.2). */
        if (is_ows(l[0]))
                return LBD_HTTP_ERR_OBS_FOLD;

        while (i < n && tchar[l[i]])
                i++;
        if (i < n && is_ows(l[i]))
                return LBD_HTTP_ERR_SPACE_BEFORE_COLON;
        if (i == 0 || i == n || l[i] != ':')
                return LBD_HTTP_ERR_FIELD_NAME;

        size_t v = i + 1, e = n;
        while (v < e && is_ows(l[v]))
                v++;
        while (e > v && is_ows(l[e - 1]))
                e--;
        for (size_t j = v; j < e; j++)
                if (!is_value_char(l[j]))
                        return LBD_HTTP_ERR_FIELD_VALUE;

        if (m->n_headers >= p->limits.fields)
                return LBD_HTTP_ERR_TOO_MANY_FIELDS;

        struct lbd_http_header *h = &m->headers[m->n_headers++];
        *h = (struct lbd_http_header) {
                .name = mkspan(s, i),
                .value = mkspan(s + v, e - v),
                .id = (uint8_t) header_id(buf + s, i),
                .flags = memchr(l, '_', i) ? LBD_HTTP_HEADER_UNDERSCORE : 0,
        };
        return header_semantics(p, buf, h);
}

/* Flags the headers that must not be forwarded: hop-by-hop ones by name
 * (set as they were read), Upgrade unless this is an upgrade, and every
 * header named in Connection, except those that frame or route the
 * message: "Connection: Content-Length" must not change the framing the
 * backend sees. */
static void mark_hop_by_hop(struct lbd_http_parser *p, const char *buf) {
        struct lbd_http_msg *m = &p->msg;
        struct lbd_http_span options[LBD_HTTP_MAX_CONNECTION_OPTIONS];
        size_t n_options = 0;
        uint64_t iter = 0;
        struct lbd_http_span o;

        while (n_options < LBD_HTTP_MAX_CONNECTION_OPTIONS &&
               lbd_http_header_list_next(m, buf, LBD_HTTP_H_CONNECTION, &iter, &o))
                options[n_options++] = o;

        for (uint32_t i = 0; i < m->n_headers; i++) {
                struct lbd_http_header *h = &m->headers[i];

                switch (h->id) {
                case LBD_HTTP_H_HOST:
                case LBD_HTTP_H_TRANSFER_ENCODING:
                        continue;
                case LBD_HTTP_H_CONTENT_LENGTH:
                        if (m->flags & LBD_HTTP_F_CONTENT_LENGTH_REWRITE)
                                h->flags |= LBD_HTTP_HEADER_DROP;
                        continue;
                case LBD_HTTP_H_UPGRADE:
                        if (!(m->flags & LBD_HTTP_F_UPGRADE))
                                h->flags |= LBD_HTTP_HEADER_DROP;
                        continue;
                default:
                        break;
                }

                if (h->flags & LBD_HTTP_HEADER_DROP)
                        continue;
                for (size_t j = 0; j < n_options; j++)
                        if (span_caseeq(buf, h->name, options[j])) {
                                h->flags |= LBD_HTTP_HEADER_DROP;
                                break;
                        }
        }
}

static enum lbd_http_error finish_request(struct lbd_http_parser *p, const char *buf) {
        struct lbd_http_msg *m = &p->msg;

        if (m->version_minor == 1 && p->n_host == 0)
                return LBD_HTTP_ERR_HOST_MISSING;

        /* RFC 9112 section 6.3: the length of a request is Transfer-Encoding
         * (chunked last) or Content-Length or zero; anything else is
         * ambiguous, and an intermediary that guesses is how smuggling
         * works. */
        if (m->flags & LBD_HTTP_F_TRANSFER_ENCODING) {
                if (m->flags & LBD_HTTP_F_CONTENT_LENGTH)
                        return LBD_HTTP_ERR_CL_AND_TE;
                if (m->version_minor == 0)
                        return LBD_HTTP_ERR_TE_HTTP10;
                if (!p->te_chunked_last)
                        return LBD_HTTP_ERR_TE_NOT_CHUNKED_LAST;
                if (p->te_unknown)
                        return LBD_HTTP_ERR_TE_UNKNOWN;
                m->flags |= LBD_HTTP_F_CHUNKED;
                m->body = LBD_HTTP_BODY_CHUNKED;
        } else if (m->flags & LBD_HTTP_F_CONTENT_LENGTH)
                m->body = LBD_HTTP_BODY_LENGTH;
        else
                m->body = LBD_HTTP_BODY_NONE;

        if (!(m->flags & LBD_HTTP_F_CONN_CLOSE) &&
            (m->version_minor == 1 || (m->flags & LBD_HTTP_F_CONN_KEEP_ALIVE)))
                m->flags |= LBD_HTTP_F_KEEP_ALIVE;

        if (m->version_minor == 0)
                /* RFC 9110 sections 10.1.1 and 7.8: both are ignored in
                 * HTTP/1.0 requests. */
                m->flags &= ~(LBD_HTTP_F_EXPECT_CONTINUE | LBD_HTTP_F_EXPECT_OTHER);
        else if (p->upgrade_seen && (m->flags & LBD_HTTP_F_CONN_UPGRADE))
                m->flags |= LBD_HTTP_F_UPGRADE;

        mark_hop_by_hop(p, buf);
        return LBD_HTTP_OK;
}

static enum lbd_http_error finish_response(struct lbd_http_parser *p, const char *buf) {
        struct lbd_http_msg *m = &p->msg;

        /* A backend sending both is broken or hostile; RFC 9112 would let
         * us drop Content-Length, but nginx refuses such a response too
         * and a 502 is the honest answer. */
        if (m->flags & LBD_HTTP_F_TRANSFER_ENCODING) {
                if (m->flags & LBD_HTTP_F_CONTENT_LENGTH)
                        return LBD_HTTP_ERR_CL_AND_TE;
                if (m->version_minor == 0)
                        return LBD_HTTP_ERR_TE_HTTP10;
                if (p->te_chunked_last)
                        m->flags |= LBD_HTTP_F_CHUNKED;
        }

        /* RFC 9112 section 6.3, in its order. */
        if (m->status < 200) {
                if (m->status == 101) {
                        m->body = LBD_HTTP_BODY_TUNNEL;
                        m->flags |= LBD_HTTP_F_UPGRADE;
                } else {
                        m->body = LBD_HTTP_BODY_NONE;
                        m->flags |= LBD_HTTP_F_INTERIM;
                }
        } else if (p->request_method == LBD_HTTP_METHOD_HEAD || m->status == 204 || m->status == 304)
                m->body = LBD_HTTP_BODY_NONE;
        else if (p->request_method == LBD_HTTP_METHOD_CONNECT && m->status < 300)
                m->body = LBD_HTTP_BODY_TUNNEL;
        else if (m->flags & LBD_HTTP_F_TRANSFER_ENCODING)
                m->body = p->te_chunked_last ? LBD_HTTP_BODY_CHUNKED : LBD_HTTP_BODY_CLOSE;
        else if (m->flags & LBD_HTTP_F_CONTENT_LENGTH)
                m->body = LBD_HTTP_BODY_LENGTH;
        else
                m->body = LBD_HTTP_BODY_CLOSE;

        if (m->body != LBD_HTTP_BODY_CLOSE && m->body != LBD_HTTP_BODY_TUNNEL &&
            !(m->flags & LBD_HTTP_F_CONN_CLOSE) &&
            (m->version_minor == 1 || (m->flags & LBD_HTTP_F_CONN_KEEP_ALIVE)))
                m->flags |= LBD_HTTP_F_KEEP_ALIVE;

        mark_hop_by_hop(p, buf);
        return LBD_HTTP_OK;
}

static enum lbd_http_error parser_fail(struct lbd_http_parser *p, enum lbd_http_error e) {
        p->state = PS_ERROR;
        p->error = (uint8_t) e;
        return e;
}

enum lbd_http_error lbd_http_parse(struct lbd_http_parser *p, const char *buf, size_t len) {
        struct lbd_http_msg *m = &p->msg;
        enum lbd_http_error r;

        if (p->state == PS_DONE)
                return LBD_HTTP_OK;
        if (p->state == PS_ERROR)
                return p->error;
        assert(len >= p->scan);

        for (;;) {
                bool start = p->state == PS_START;
                size_t pos = p->pos, n;

                r = find_line(p, buf, len,
                              start ? p->limits.request_line : p->limits.field_size,
                              start ? LBD_HTTP_ERR_REQUEST_LINE_TOO_LONG : LBD_HTTP_ERR_FIELD_TOO_LONG,
                              &n);
                if (r == LBD_HTTP_NEED_MORE)
                        return r;
                if (r != LBD_HTTP_OK)
                        return parser_fail(p, r);

                p->pos = p->scan = (uint32_t) (pos + n + 2);

                if (start) {
                        if (n == 0) {
                                /* RFC 9112 section 2.2: empty lines before a
                                 * request line are skipped (some clients
                                 * send a CRLF after a POST body); they count
                                 * towards the head size. */
                                if (m->kind == LBD_HTTP_REQUEST)
                                        continue;
                                return parser_fail(p, LBD_HTTP_ERR_STATUS_LINE);
                        }
                        m->start = (uint32_t) pos;
                        r = m->kind == LBD_HTTP_REQUEST ?
                                parse_request_line(p, buf, pos, n) :
                                parse_status_line(p, buf, pos, n);
                        if (r != LBD_HTTP_OK)
                                return parser_fail(p, r);
                        p->state = PS_HEADERS;
                        continue;
                }

                if (n > 0) {
                        r = parse_header_line(p, buf, pos, n);
                        if (r != LBD_HTTP_OK)
                                return parser_fail(p, r);
                        continue;
                }

                /* The empty line: the head is complete. */
                r = m->kind == LBD_HTTP_REQUEST ? finish_request(p, buf) : finish_response(p, buf);
                if (r != LBD_HTTP_OK)
                        return parser_fail(p, r);
                m->head_len = p->pos;
                p->state = PS_DONE;
                return LBD_HTTP_OK;
        }
}

bool lbd_http_header_list_next(
                const struct lbd_http_msg *m,
                const char *buf,
                enum lbd_http_header_id id,
                uint64_t *iter,
                struct lbd_http_span *ret) {

        /* The iterator packs the header index (high half) and the offset
         * in its value (low half): no state outside the caller's integer. */
        uint32_t hi = (uint32_t) (*iter >> 32);
        size_t off = (uint32_t) *iter;

        for (; hi < m->n_headers; hi++, off = 0) {
                const struct lbd_http_header *h = &m->headers[hi];
                size_t start, len;

                if (h->id != id)
                        continue;
                if (list_element(buf + h->value.off, h->value.len, &off, &start, &len)) {
                        *ret = mkspan(h->value.off + start, len);
                        *iter = (uint64_t) hi << 32 | off;
                        return true;
                }
        }
        *iter = (uint64_t) hi << 32;
        return false;
}

/* ---- bodies ------------------------------------------------------------ */

enum {
        BS_SIZE_FIRST,          /* first hex digit of a chunk size */
        BS_SIZE,                /* more hex digits, or what ends the size */
        BS_SIZE_WS,             /* whitespace after the size: only before ';' */
        BS_EXT,                 /* chunk extensions, up to CR */
        BS_SIZE_LF,             /* LF ending the chunk-size line */
        BS_DATA,
        BS_DATA_CR,
        BS_DATA_LF,
        BS_TRAILER_START,       /* a trailer field, or the final CRLF */
        BS_TRAILER_NAME,
        BS_TRAILER_VALUE,
        BS_TRAILER_LF,
        BS_FINAL_LF,
        BS_DONE,
        BS_ERROR,
};

void lbd_http_body_init(
                struct lbd_http_body *b,
                enum lbd_http_body_kind kind,
                uint64_t content_length,
                const struct lbd_http_limits *limits) {

        const struct lbd_http_limits l = limits ? *limits : LBD_HTTP_LIMITS_DEFAULT;

        *b = (struct lbd_http_body) {
                .kind = (uint8_t) kind,
                .remaining = kind == LBD_HTTP_BODY_LENGTH ? content_length : 0,
                .max_line = l.chunk_line,
                .max_trailer = l.trailer_size,
                .state = BS_SIZE_FIRST,
        };
}

bool lbd_http_body_done(const struct lbd_http_body *b) {
        switch (b->kind) {
        case LBD_HTTP_BODY_NONE:
                return true;
        case LBD_HTTP_BODY_LENGTH:
                return b->remaining == 0;
        case LBD_HTTP_BODY_CHUNKED:
                return b->state == BS_DONE;
        default:
                return false;
        }
}

/* The chunk-size line, up to its CR: the size in hex, optional BWS, then
 * extensions (forwarded, never interpreted). */
static enum lbd_http_error chunk_size_byte(struct lbd_http_body *b, unsigned char c) {
        int x;
        if (c == '\n')
                return LBD_HTTP_ERR_BARE_LF;
        if (c == '\r') {
                if (b->state == BS_SIZE_FIRST)
                        return LBD_HTTP_ERR_CHUNK_SIZE;
                if (b->state == BS_SIZE_WS)
                        return LBD_HTTP_ERR_CHUNK_SIZE;
                b->state = BS_SIZE_LF;
                return LBD_HTTP_NEED_MORE;
        }
        if (++b->line > b->max_line)
                return LBD_HTTP_ERR_CHUNK_LINE_TOO_LONG;

        if (b->state == BS_EXT) {
                /* Extensions are forwarded, never interpreted: only
                 * bytes that could end the line early for someone
                 * else are refused. */
                if (!is_value_char(c))
                        return LBD_HTTP_ERR_CHUNK_EXT;
                return LBD_HTTP_NEED_MORE;
        }

        x = hex_value(c);
        if (x >= 0 && b->state != BS_SIZE_WS) {
                /* Sizes above INT64_MAX are refused, as for
                 * Content-Length. */
                if (b->remaining > (uint64_t) INT64_MAX >> 4)
                        return LBD_HTTP_ERR_CHUNK_SIZE;
                b->remaining = b->remaining << 4 | (uint64_t) x;
                b->state = BS_SIZE;
                return LBD_HTTP_NEED_MORE;
        }
        if (b->state == BS_SIZE_FIRST)
                /* Signs, whitespace, "0x", an empty size. */
                return LBD_HTTP_ERR_CHUNK_SIZE;
        if (c == ';') {
                b->state = BS_EXT;
                return LBD_HTTP_NEED_MORE;
        }
        if (is_ows(c)) {
                /* BWS before ';' (chunk-ext = *( BWS ";" ... )). */
                b->state = BS_SIZE_WS;
                return LBD_HTTP_NEED_MORE;
        }
        return LBD_HTTP_ERR_CHUNK_SIZE;
}

/* The trailer section: fields like a head's, then CRLF. */
static enum lbd_http_error trailer_byte(struct lbd_http_body *b, unsigned char c) {
        if (++b->trailer > b->max_trailer)
                return LBD_HTTP_ERR_TRAILER_TOO_LARGE;

        switch (b->state) {
        case BS_TRAILER_START:
                if (c == '\r')
                        b->state = BS_FINAL_LF;
                else if (tchar[c])
                        b->state = BS_TRAILER_NAME;
                else
                        return c == '\n' ? LBD_HTTP_ERR_BARE_LF : LBD_HTTP_ERR_TRAILER;
                return LBD_HTTP_NEED_MORE;

        case BS_TRAILER_NAME:
                if (c == ':')
                        b->state = BS_TRAILER_VALUE;
                else if (!tchar[c])
                        return c == '\n' ? LBD_HTTP_ERR_BARE_LF : LBD_HTTP_ERR_TRAILER;
                return LBD_HTTP_NEED_MORE;

        case BS_TRAILER_VALUE:
                if (c == '\r')
                        b->state = BS_TRAILER_LF;
                else if (!is_value_char(c))
                        return c == '\n' ? LBD_HTTP_ERR_BARE_LF : LBD_HTTP_ERR_TRAILER;
                return LBD_HTTP_NEED_MORE;

        case BS_TRAILER_LF:
                if (c != '\n')
                        return LBD_HTTP_ERR_BARE_CR;
                b->state = BS_TRAILER_START;
                return LBD_HTTP_NEED_MORE;

        case BS_FINAL_LF:
                if (c != '\n')
                        return LBD_HTTP_ERR_BARE_CR;
                b->state = BS_DONE;
                return LBD_HTTP_OK;

        default:
                assert(!"unreachable body state");
                return LBD_HTTP_ERR_CHUNK_DATA;
        }
}

/* One step of the chunked grammar (RFC 9112 section 7.1) per byte, except
 * chunk data, which is skipped in one go. Returns NEED_MORE to go on. */
static enum lbd_http_error chunked_byte(struct lbd_http_body *b, unsigned char c) {
        switch (b->state) {
        case BS_SIZE_FIRST:
        case BS_SIZE:
        case BS_SIZE_WS:
        case BS_EXT:
                return chunk_size_byte(b, c);

        case BS_SIZE_LF:
                if (c != '\n')
                        return LBD_HTTP_ERR_BARE_CR;
                b->line = 0;
                b->state = b->remaining > 0 ? BS_DATA : BS_TRAILER_START;
                return LBD_HTTP_NEED_MORE;

        case BS_DATA_CR:
                if (c != '\r')
                        return LBD_HTTP_ERR_CHUNK_DATA;
                b->state = BS_DATA_LF;
                return LBD_HTTP_NEED_MORE;

        case BS_DATA_LF:
                if (c != '\n')
                        return LBD_HTTP_ERR_CHUNK_DATA;
                b->state = BS_SIZE_FIRST;
                return LBD_HTTP_NEED_MORE;

        default:
                return trailer_byte(b, c);
        }
}

/* out NULL: only scan. Else chunk data is also copied to out[*produced..]
 * (out may be buf: data only ever moves towards the front). */
static enum lbd_http_error chunked_feed(struct lbd_http_body *b, const char *buf, size_t len, size_t *consumed, char *out, size_t *produced) {
        size_t i = 0;
        enum lbd_http_error r = LBD_HTTP_NEED_MORE;

        while (i < len) {
                if (b->state == BS_DATA) {
                        uint64_t n = len - i;

                        if (n > b->remaining)
                                n = b->remaining;
                        if (out) {
                                if (out + *produced != buf + i)
                                        memmove(out + *produced, buf + i, (size_t) n);
                                *produced += (size_t) n;
                        }
                        i += (size_t) n;
                        b->remaining -= n;
                        if (b->remaining == 0)
                                b->state = BS_DATA_CR;
                        continue;
                }

                r = chunked_byte(b, (unsigned char) buf[i]);
                if (r == LBD_HTTP_NEED_MORE) {
                        i++;
                        continue;
                }
                if (r == LBD_HTTP_OK)
                        i++;
                else {
                        b->state = BS_ERROR;
                        b->error = (uint8_t) r;
                }
                break;
        }

        *consumed = i;
        return r;
}

enum lbd_http_error lbd_http_body_feed(
                struct lbd_http_body *b,
                const char *buf,
                size_t len,
                size_t *consumed) {

        switch (b->kind) {
        case LBD_HTTP_BODY_NONE:
                *consumed = 0;
                return LBD_HTTP_OK;

        case LBD_HTTP_BODY_LENGTH: {
                uint64_t n = len;

                if (n > b->remaining)
                        n = b->remaining;
                b->remaining -= n;
                *consumed = (size_t) n;
                return b->remaining == 0 ? LBD_HTTP_OK : LBD_HTTP_NEED_MORE;
        }

        case LBD_HTTP_BODY_CHUNKED:
                if (b->state == BS_DONE) {
                        *consumed = 0;
                        return LBD_HTTP_OK;
                }
                if (b->state == BS_ERROR) {
                        *consumed = 0;
                        return b->error;
                }
                return chunked_feed(b, buf, len, consumed, NULL, NULL);

        default:
                /* CLOSE, TUNNEL: everything until the peer's EOF. */
                *consumed = len;
                return LBD_HTTP_NEED_MORE;
        }
}

enum lbd_http_error lbd_http_body_decode(
                struct lbd_http_body *b,
                char *buf,
                size_t len,
                size_t *consumed,
                size_t *data_len) {

        if (b->kind != LBD_HTTP_BODY_CHUNKED) {
                enum lbd_http_error r = lbd_http_body_feed(b, buf, len, consumed);

                *data_len = *consumed;
                return r;
        }
        *data_len = 0;
        if (b->state == BS_DONE || b->state == BS_ERROR) {
                *consumed = 0;
                return b->state == BS_DONE ? LBD_HTTP_OK : b->error;
        }
        return chunked_feed(b, buf, len, consumed, buf, data_len);
}
