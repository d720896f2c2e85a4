/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 message heads (RFC 9112) and bodies, for the proxy engine.
 *
 * Pure logic: no I/O, no allocation, no GLib, no global mutable state. It
 * runs in worker processes for every request, so everything it finds is a
 * span (offset + length) into the caller's buffer, and the header table is
 * an array the caller owns.
 *
 * Incremental use: init a parser, call lbd_http_parse() with everything
 * received so far (the same bytes as before plus new ones; the buffer may
 * move between calls, since spans are offsets). It returns
 * LBD_HTTP_NEED_MORE until the head is complete, then LBD_HTTP_OK with
 * msg.head_len set: the body (if any) starts there, and after the body the
 * next pipelined message. Each byte is searched for line ends once; each
 * line is validated once, when complete. The verdict never depends on how
 * the input was split: limits are enforced at exactly the byte that breaks
 * them, whether it arrives alone or in one large read.
 *
 * It is strict about every shape that lets two parsers disagree on where a
 * message ends (request smuggling); docs/http-parser.md lists the rules.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every result. Request-side errors map to a status with
 * lbd_http_error_status(); for a response from a backend any error means
 * 502. All errors mean "close the connection after answering". */
enum lbd_http_error {
        LBD_HTTP_OK = 0,                        /* head (or body) complete */
        LBD_HTTP_NEED_MORE,                     /* feed more bytes */

        /* 400 Bad Request */
        LBD_HTTP_ERR_BARE_LF,                   /* LF without CR before it */
        LBD_HTTP_ERR_BARE_CR,                   /* CR not followed by LF */
        LBD_HTTP_ERR_REQUEST_LINE,              /* not exactly METHOD SP TARGET SP VERSION */
        LBD_HTTP_ERR_METHOD,                    /* method not a token */
        LBD_HTTP_ERR_TARGET,                    /* request-target: bad byte or form */
        LBD_HTTP_ERR_VERSION,                   /* not HTTP/DIGIT.DIGIT */
        LBD_HTTP_ERR_STATUS_LINE,               /* response: bad status line */
        LBD_HTTP_ERR_FIELD_NAME,                /* empty or non-token name, or no colon */
        LBD_HTTP_ERR_SPACE_BEFORE_COLON,        /* "Name : value" */
        LBD_HTTP_ERR_OBS_FOLD,                  /* line folding (line starts with SP/HTAB) */
        LBD_HTTP_ERR_FIELD_VALUE,               /* NUL or another control byte in a value */
        LBD_HTTP_ERR_CONTENT_LENGTH,            /* not 1*DIGIT (list), or overflows */
        LBD_HTTP_ERR_CONTENT_LENGTH_MISMATCH,   /* duplicates that differ */
        LBD_HTTP_ERR_CL_AND_TE,                 /* Content-Length and Transfer-Encoding */
        LBD_HTTP_ERR_TRANSFER_ENCODING,         /* malformed Transfer-Encoding list */
        LBD_HTTP_ERR_TE_NOT_CHUNKED_LAST,       /* request: chunked missing, not last, or twice */
        LBD_HTTP_ERR_TE_HTTP10,                 /* Transfer-Encoding in an HTTP/1.0 message */
        LBD_HTTP_ERR_HOST_MISSING,              /* HTTP/1.1 request without Host */
        LBD_HTTP_ERR_HOST_DUPLICATE,            /* more than one Host */
        LBD_HTTP_ERR_HOST_INVALID,              /* Host value is not host[:port] */
        LBD_HTTP_ERR_CONNECTION,                /* malformed or too many Connection options */
        LBD_HTTP_ERR_CHUNK_SIZE,                /* not hex, signed, spaced, or overflows */
        LBD_HTTP_ERR_CHUNK_EXT,                 /* bad byte in a chunk extension */
        LBD_HTTP_ERR_CHUNK_LINE_TOO_LONG,       /* chunk-size line (with extensions) too long */
        LBD_HTTP_ERR_CHUNK_DATA,                /* chunk data not followed by CRLF */
        LBD_HTTP_ERR_TRAILER,                   /* malformed trailer field */
        LBD_HTTP_ERR_TRAILER_TOO_LARGE,         /* trailer section over its limit */

        /* 414 URI Too Long */
        LBD_HTTP_ERR_REQUEST_LINE_TOO_LONG,     /* request (or status) line over limit */

        /* 431 Request Header Fields Too Large */
        LBD_HTTP_ERR_TOO_MANY_FIELDS,
        LBD_HTTP_ERR_FIELD_TOO_LONG,
        LBD_HTTP_ERR_HEAD_TOO_LARGE,

        /* 501 Not Implemented */
        LBD_HTTP_ERR_TE_UNKNOWN,                /* request: a transfer coding we do not know */

        /* 505 HTTP Version Not Supported */
        LBD_HTTP_ERR_VERSION_UNSUPPORTED,       /* well-formed, but not 1.0 or 1.1 */

        _LBD_HTTP_ERROR_MAX,
};

/* The status to answer a client's request with: 400, 414, 431, 501 or 505
 * (0 for OK and NEED_MORE). */
int lbd_http_error_status(enum lbd_http_error e);
/* A short constant phrase for the log ("bare LF in head"). Never NULL. */
const char *lbd_http_error_reason(enum lbd_http_error e);

/* Limits, as Gunicorn's settings of the same names. Line lengths exclude
 * the line's CRLF; a line of exactly the limit passes, one byte more fails.
 * Every limit applies (there is no "0 means unlimited"). */
struct lbd_http_limits {
        uint32_t request_line;          /* limit_request_line: request or status line */
        uint32_t fields;                /* limit_request_fields: header fields */
        uint32_t field_size;            /* limit_request_field_size: one "name: value" line */
        uint32_t head_size;             /* the whole head, CRLFs included */
        uint32_t chunk_line;            /* chunk-size line with its extensions */
        uint32_t trailer_size;          /* trailer section, CRLFs included */
};

#define LBD_HTTP_LIMITS_DEFAULT                 \
        ((struct lbd_http_limits) {             \
                .request_line = 4094,           \
                .fields = 100,                  \
                .field_size = 8190,             \
                .head_size = 65536,             \
                .chunk_line = 4096,             \
                .trailer_size = 8192,           \
        })

/* At most this many Connection options per message: each is compared with
 * every header name, so the count bounds that work. */
#define LBD_HTTP_MAX_CONNECTION_OPTIONS 32

/* A range of the caller's buffer. */
struct lbd_http_span {
        uint32_t off;
        uint32_t len;
};

static inline const char *lbd_http_span_ptr(const char *buf, struct lbd_http_span s) {
        return buf + s.off;
}

/* Header fields the parser recognises (others are LBD_HTTP_H_OTHER). */
enum lbd_http_header_id {
        LBD_HTTP_H_OTHER = 0,
        LBD_HTTP_H_HOST,
        LBD_HTTP_H_CONTENT_LENGTH,
        LBD_HTTP_H_TRANSFER_ENCODING,
        LBD_HTTP_H_CONNECTION,
        LBD_HTTP_H_KEEP_ALIVE,
        LBD_HTTP_H_PROXY_CONNECTION,
        LBD_HTTP_H_TE,
        LBD_HTTP_H_TRAILER,
        LBD_HTTP_H_UPGRADE,
        LBD_HTTP_H_EXPECT,
        LBD_HTTP_H_X_FORWARDED_FOR,
        LBD_HTTP_H_X_FORWARDED_PROTO,
        LBD_HTTP_H_FORWARDED,
};

/* Per-header flags. */
enum {
        /* Hop-by-hop for this message: do not forward it. The engine writes
         * its own Connection (and, after a rewrite, Content-Length). */
        LBD_HTTP_HEADER_DROP = 1 << 0,
        /* The name has a '_'. WSGI and CGI servers (Gunicorn before 22
         * included) map '-' and '_' to the same environ key, so
         * "X_Forwarded_For" can pose as a header the proxy sets. nginx
         * drops such headers by default (underscores_in_headers off); the
         * engine decides, the parser only says so. */
        LBD_HTTP_HEADER_UNDERSCORE = 1 << 1,
};

struct lbd_http_header {
        struct lbd_http_span name;
        struct lbd_http_span value;     /* without surrounding whitespace */
        uint8_t id;                     /* enum lbd_http_header_id */
        uint8_t flags;                  /* LBD_HTTP_HEADER_* */
};

enum lbd_http_kind {
        LBD_HTTP_REQUEST,
        LBD_HTTP_RESPONSE,
};

enum lbd_http_method {
        LBD_HTTP_METHOD_OTHER = 0,      /* any other token: forwarded as is */
        LBD_HTTP_METHOD_GET,
        LBD_HTTP_METHOD_HEAD,
        LBD_HTTP_METHOD_POST,
        LBD_HTTP_METHOD_PUT,
        LBD_HTTP_METHOD_DELETE,
        LBD_HTTP_METHOD_CONNECT,
        LBD_HTTP_METHOD_OPTIONS,
        LBD_HTTP_METHOD_TRACE,
        LBD_HTTP_METHOD_PATCH,
};

enum lbd_http_target_form {
        LBD_HTTP_TARGET_ORIGIN,         /* /path?query */
        LBD_HTTP_TARGET_ABSOLUTE,       /* scheme://authority/path (authority set) */
        LBD_HTTP_TARGET_AUTHORITY,      /* host:port, CONNECT only (authority set) */
        LBD_HTTP_TARGET_ASTERISK,       /* *, OPTIONS only */
};

/* How the body that follows the head is delimited (RFC 9112 section 6.3). */
enum lbd_http_body_kind {
        LBD_HTTP_BODY_NONE,             /* no body: the next message follows the head */
        LBD_HTTP_BODY_LENGTH,           /* content_length bytes */
        LBD_HTTP_BODY_CHUNKED,          /* chunked: use the body scanner */
        LBD_HTTP_BODY_CLOSE,            /* response: until the backend closes */
        LBD_HTTP_BODY_TUNNEL,           /* 101 or 2xx to CONNECT: a byte relay from here */
};

/* Message flags (struct lbd_http_msg.flags). */
enum {
        LBD_HTTP_F_KEEP_ALIVE        = 1 << 0,  /* the connection may carry another message */
        LBD_HTTP_F_CONTENT_LENGTH    = 1 << 1,  /* Content-Length present (content_length) */
        LBD_HTTP_F_TRANSFER_ENCODING = 1 << 2,  /* Transfer-Encoding present */
        LBD_HTTP_F_CHUNKED           = 1 << 3,  /* ...and its final coding is chunked */
        /* Content-Length came as duplicates or a list ("5, 5") or with
         * leading zeros: all its headers are flagged DROP; the engine sends
         * "Content-Length: <content_length>" instead, so that the backend
         * never has to merge them itself. */
        LBD_HTTP_F_CONTENT_LENGTH_REWRITE = 1 << 4,
        LBD_HTTP_F_CONN_CLOSE        = 1 << 5,  /* Connection: close */
        LBD_HTTP_F_CONN_KEEP_ALIVE   = 1 << 6,  /* Connection: keep-alive */
        LBD_HTTP_F_CONN_UPGRADE      = 1 << 7,  /* Connection: upgrade */
        /* Request: HTTP/1.1 with Upgrade and Connection: upgrade (the
         * Upgrade header is then kept). Response: 101 Switching Protocols. */
        LBD_HTTP_F_UPGRADE           = 1 << 8,
        LBD_HTTP_F_EXPECT_CONTINUE   = 1 << 9,  /* HTTP/1.1 request, Expect: 100-continue */
        LBD_HTTP_F_EXPECT_OTHER      = 1 << 10, /* HTTP/1.1 request, another Expect (417) */
        LBD_HTTP_F_HOST              = 1 << 11, /* Host present (host) */
        LBD_HTTP_F_INTERIM           = 1 << 12, /* 1xx other than 101: another head follows */
};

/* What the parser found. Spans are relative to the buffer given to
 * lbd_http_parse(); all fields are valid once it returned LBD_HTTP_OK. */
struct lbd_http_msg {
        enum lbd_http_kind kind;
        uint32_t head_len;              /* bytes of the head, final CRLF included */
        uint32_t start;                 /* the start line (after empty lines skipped) */
        uint32_t flags;                 /* LBD_HTTP_F_* */
        uint8_t version_minor;          /* HTTP/1.<this>: 0 or 1 */

        /* request */
        enum lbd_http_method method;
        enum lbd_http_target_form target_form;
        struct lbd_http_span method_name;
        struct lbd_http_span target;
        struct lbd_http_span authority; /* absolute- and authority-form */

        /* response */
        uint16_t status;
        struct lbd_http_span reason;

        /* derived from the headers */
        enum lbd_http_body_kind body;
        uint64_t content_length;        /* with LBD_HTTP_F_CONTENT_LENGTH */
        struct lbd_http_span host;      /* with LBD_HTTP_F_HOST */
        struct lbd_http_span upgrade;   /* the last Upgrade value, if any */

        struct lbd_http_header *headers; /* the caller's array */
        uint32_t n_headers;
};

/* The parser's state. Embed it; it holds no pointers into the buffer. */
struct lbd_http_parser {
        struct lbd_http_msg msg;        /* the result */

        struct lbd_http_limits limits;  /* .fields lowered to the array's size */
        enum lbd_http_method request_method; /* response: what it answers */

        uint32_t pos;                   /* start of the first line not parsed */
        uint32_t scan;                  /* bytes before this were searched for CR/LF */
        uint8_t state;
        uint8_t error;                  /* sticky enum lbd_http_error */
        uint8_t n_host;
        uint8_t n_connection_options;
        uint8_t n_content_length;
        bool te_chunked_seen;
        bool te_chunked_last;
        bool te_unknown;                /* request: a coding we do not know */
        bool upgrade_seen;
};

/* Start parsing a request head. headers has room for n_headers fields;
 * the fields limit is lowered to n_headers if it is larger. limits may be
 * NULL for LBD_HTTP_LIMITS_DEFAULT. */
void lbd_http_parser_init_request(
                struct lbd_http_parser *p,
                const struct lbd_http_limits *limits,
                struct lbd_http_header *headers,
                size_t n_headers);

/* Start parsing the head of a response to a request with this method:
 * HEAD and CONNECT change whether a body follows. */
void lbd_http_parser_init_response(
                struct lbd_http_parser *p,
                const struct lbd_http_limits *limits,
                struct lbd_http_header *headers,
                size_t n_headers,
                enum lbd_http_method request_method);

/* Parse buf[0..len): everything received so far for this message, the
 * message starting at buf[0]. Returns LBD_HTTP_NEED_MORE, LBD_HTTP_OK
 * (p->msg is complete; later calls return OK again), or an error (sticky:
 * later calls return it again). len must not shrink between calls. */
enum lbd_http_error lbd_http_parse(struct lbd_http_parser *p, const char *buf, size_t len);

/* Iterate over the comma-separated elements of every header with this id,
 * in order ("Connection: a, b" "Connection: c" gives a, b, c; empty
 * elements are skipped, whitespace around elements is not part of them).
 * Start with *iter = 0; returns false at the end. Use it for the
 * Connection options list. */
bool lbd_http_header_list_next(
                const struct lbd_http_msg *m,
                const char *buf,
                enum lbd_http_header_id id,
                uint64_t *iter,
                struct lbd_http_span *ret);

/* Body scanner: the engine passes body bytes through unchanged and asks
 * this only how many of them belong to the message. One struct per body,
 * fed successive buffers: each call consumes a prefix of buf and returns
 * LBD_HTTP_OK once the body is complete (*consumed is then where the next
 * message starts in buf), LBD_HTTP_NEED_MORE when all of buf belonged to
 * the body and more is to come, or an error (sticky; *consumed is the valid
 * prefix). BODY_NONE is complete at once; LENGTH counts down; CHUNKED
 * validates chunk sizes, extensions, CRLFs and the trailer section; CLOSE
 * and TUNNEL consume everything and never complete (the peer's EOF ends
 * them). */
struct lbd_http_body {
        uint64_t remaining;             /* LENGTH: body bytes left; CHUNKED: in this chunk */
        uint32_t line;                  /* bytes of the current chunk-size line */
        uint32_t trailer;               /* bytes of the trailer section so far */
        uint32_t max_line;
        uint32_t max_trailer;
        uint8_t kind;                   /* enum lbd_http_body_kind */
        uint8_t state;
        uint8_t error;                  /* sticky enum lbd_http_error */
};

/* limits may be NULL for the defaults; content_length is used by
 * LBD_HTTP_BODY_LENGTH only. */
void lbd_http_body_init(
                struct lbd_http_body *b,
                enum lbd_http_body_kind kind,
                uint64_t content_length,
                const struct lbd_http_limits *limits);

enum lbd_http_error lbd_http_body_feed(
                struct lbd_http_body *b,
                const char *buf,
                size_t len,
                size_t *consumed);

bool lbd_http_body_done(const struct lbd_http_body *b);

/* As lbd_http_body_feed(), removing the chunked framing on the way (for a
 * client that cannot take chunked: HTTP/1.0). Of the prefix consumed, only
 * the chunk data is kept: it is moved to the front of buf (the first
 * *data_len bytes; chunk-size lines, extensions, CRLFs and the trailer
 * section are dropped). Other kinds consume as feed does, and all of what
 * they consume is data. */
enum lbd_http_error lbd_http_body_decode(
                struct lbd_http_body *b,
                char *buf,
                size_t len,
                size_t *consumed,
                size_t *data_len);
