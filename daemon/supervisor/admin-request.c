/* SPDX-License-Identifier: MIT */
#include "admin-request.h"

#include <string.h>

static int answer(struct lbd_admin_request *r, unsigned status, const char *reason) {
        r->status = status;
        r->reason = reason;
        return 1;
}

static bool token_char(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int lbd_admin_request_parse(const char *buf, size_t len, struct lbd_admin_request *ret) {
        *ret = (struct lbd_admin_request){ 0 };
        const char *end = memmem(buf, len, "\r\n\r\n", 4);
        const char *lf = memmem(buf, len, "\n\n", 2); /* bare LFs, as nginx takes them */
        if (lf && (!end || lf < end))
                end = lf;
        if (!end) {
                if (len >= LBD_ADMIN_HEAD_MAX)
                        return answer(ret, 431, "The request head is longer than 8 KiB.");
                return 0;
        }
        const char *line_end = memchr(buf, '\n', len); /* found: end has one */
        size_t line_len = (size_t)(line_end - buf);
        if (line_len && buf[line_len - 1] == '\r')
                line_len--;
        /* METHOD SP TARGET SP HTTP/1.x */
        const char *sp1 = memchr(buf, ' ', line_len);
        if (!sp1 || sp1 == buf)
                return answer(ret, 400, "The request line is not METHOD TARGET HTTP/1.x.");
        for (const char *p = buf; p < sp1; p++)
                if (!token_char(*p))
                        return answer(ret, 400, "The method is not a token.");
        const char *target = sp1 + 1;
        const char *sp2 = memchr(target, ' ', line_len - (size_t)(target - buf));
        if (!sp2 || sp2 == target)
                return answer(ret, 400, "The request line is not METHOD TARGET HTTP/1.x.");
        size_t version_len = line_len - (size_t)(sp2 + 1 - buf);
        if (version_len != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
            (sp2[8] != '0' && sp2[8] != '1'))
                return answer(ret, 505, "Only HTTP/1.0 and HTTP/1.1 are served here.");
        size_t method_len = (size_t)(sp1 - buf);
        bool get = method_len == 3 && memcmp(buf, "GET", 3) == 0;
        bool head = method_len == 4 && memcmp(buf, "HEAD", 4) == 0;
        if (!get && !head)
                return answer(ret, 405,
                              "Only GET and HEAD: the admin listener is read-only (changes go "
                              "through D-Bus).");
        ret->head = head;
        size_t path_len = (size_t)(sp2 - target);
        const char *q = memchr(target, '?', path_len);
        if (q)
                path_len = (size_t)(q - target);
        if ((path_len == 1 && target[0] == '/') ||
            (path_len == 11 && memcmp(target, "/index.html", 11) == 0)) {
                ret->page = LBD_ADMIN_STATUS_PAGE;
                return 1;
        }
        if (path_len == 8 && memcmp(target, "/metrics", 8) == 0) {
                ret->page = LBD_ADMIN_METRICS;
                return 1;
        }
        return answer(ret, 404, "Not found: the admin listener serves / and /metrics.");
}
