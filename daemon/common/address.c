/* SPDX-License-Identifier: MIT */
#include "address.h"
#include "quote.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#define EXPECTED_FORMS "expected HOST:PORT, [IPV6]:PORT or unix:/ABSOLUTE/PATH"

/* Sets *ret_reason to a malloc()ed sentence (the header promises malloc,
 * so the caller may free() it) and returns -EINVAL, or -ENOMEM when even
 * the sentence cannot be allocated. */
static int address_error(char **ret_reason, const char *format, ...)
        __attribute__((format(printf, 2, 3)));
static int address_error(char **ret_reason, const char *format, ...) {
        if (!ret_reason)
                return -EINVAL;

        va_list ap;
        va_start(ap, format);
        int r = vasprintf(ret_reason, format, ap);
        va_end(ap);
        if (r < 0) {
                *ret_reason = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

/* Strictly decimal (no sign, no space, no 0x), 1..65535. Leading zeros are
 * harmless and accepted; the canonical text drops them. */
static int parse_port(const char *s, uint16_t *ret, char **ret_reason) {
        if (*s == '\0')
                return address_error(ret_reason, "port is empty; expected a decimal number 1-65535");

        unsigned long v = 0;
        bool too_big = false;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return address_error(ret_reason,
                                             "port %s is not a decimal number; expected 1-65535",
                                             LBD_QUOTE(s));
                v = v * 10 + (unsigned long)(*p - '0');
                /* Stop growing once out of range: the digits after
                 * still have to be digits, but must not overflow. */
                if (v > 65535) {
                        too_big = true;
                        v = 65536;
                }
        }
        if (too_big || v == 0)
                return address_error(ret_reason, "port %s is out of range 1-65535", LBD_QUOTE(s));

        *ret = (uint16_t)v;
        return 0;
}

/* Collapses runs of '/', so that "unix:/run//a.sock" and "unix:/run/a.sock"
 * have one canonical text and compare equal. */
static void collapse_slashes(char *path) {
        char *w = path;
        for (const char *r = path; *r; r++)
                if (!(*r == '/' && w > path && w[-1] == '/'))
                        *w++ = *r;
        *w = '\0';
}

static int parse_unix(const char *path, struct lbd_address *a, char **ret_reason) {
        struct sockaddr_un *un = (struct sockaddr_un *)&a->sa;

        if (*path == '\0')
                return address_error(ret_reason, "unix socket path is empty; expected unix:/ABSOLUTE/PATH");
        if (*path != '/')
                return address_error(ret_reason,
                                     "unix socket path must be absolute; expected unix:/ABSOLUTE/PATH");
        for (const char *p = path; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        return address_error(ret_reason,
                                             "unix socket path contains a control character");

        size_t n = strlen(path);
        if (n > sizeof(un->sun_path) - 1)
                return address_error(ret_reason, "unix socket path is longer than %zu bytes",
                                     sizeof(un->sun_path) - 1);

        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, path, n + 1);
        collapse_slashes(un->sun_path);
        n = strlen(un->sun_path);
        if (n > 1 && un->sun_path[n - 1] == '/')
                return address_error(ret_reason,
                                     "unix socket path %s ends in '/'; expected the path of a "
                                     "socket, not a directory", LBD_QUOTE(path));

        a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
        snprintf(a->text, sizeof(a->text), "unix:%s", un->sun_path);
        return 0;
}

static int parse_inet(const char *host, bool bracketed, const char *port_text,
                      struct lbd_address *a, char **ret_reason) {
        uint16_t port = 0;
        int r = parse_port(port_text, &port, ret_reason);
        if (r < 0)
                return r;

        if (*host == '\0')
                return address_error(ret_reason,
                                     "host is empty; expected a numeric address such as 0.0.0.0, "
                                     "127.0.0.1 or [::]");

        char buf[INET6_ADDRSTRLEN];
        if (bracketed) {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->sa;
                if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1) {
                        if (strchr(host, '%'))
                                return address_error(ret_reason,
                                                     "%s is not a numeric IPv6 address (zone "
                                                     "indices such as %%eth0 are not supported)",
                                                     LBD_QUOTE(host));
                        return address_error(ret_reason, "%s is not a numeric IPv6 address",
                                             LBD_QUOTE(host));
                }
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons(port);
                a->len = sizeof(*in6);
                inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf));
                snprintf(a->text, sizeof(a->text), "[%s]:%u", buf, (unsigned)port);
                return 0;
        }

        struct sockaddr_in *in = (struct sockaddr_in *)&a->sa;
        /* The one name we know without asking anyone. */
        if (strcasecmp(host, "localhost") == 0)
                host = "127.0.0.1";
        if (inet_pton(AF_INET, host, &in->sin_addr) != 1) {
                struct in6_addr probe;
                if (inet_pton(AF_INET6, host, &probe) == 1)
                        return address_error(ret_reason,
                                             "IPv6 address %s must be written in brackets, "
                                             "e.g. [%s]:%s", LBD_QUOTE(host), host, port_text);
                return address_error(ret_reason,
                                     "%s is not a numeric IPv4/IPv6 address (names are not "
                                     "resolved)", LBD_QUOTE(host));
        }
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        a->len = sizeof(*in);
        inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf));
        snprintf(a->text, sizeof(a->text), "%s:%u", buf, (unsigned)port);
        return 0;
}

int lbd_address_parse(const char *s, struct lbd_address *ret, char **ret_reason) {
        /* Fill a local copy and hand it over only on success: *ret is left
         * untouched on failure. */
        struct lbd_address a = {};
        int r;

        if (!s || *s == '\0')
                return address_error(ret_reason, "address is empty; " EXPECTED_FORMS);

        for (const char *p = s; *p; p++)
                if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
                        return address_error(ret_reason, "address contains whitespace; " EXPECTED_FORMS);

        if (strncmp(s, "unix:", 5) == 0) {
                r = parse_unix(s + 5, &a, ret_reason);
        } else if (s[0] == '[') {
                const char *close = strchr(s, ']');
                if (!close)
                        return address_error(ret_reason, "address lacks the closing ']'; " EXPECTED_FORMS);
                if (close[1] != ':')
                        return address_error(ret_reason, "address has no port after ']'; " EXPECTED_FORMS);
                size_t n = (size_t)(close - (s + 1));
                char host[INET6_ADDRSTRLEN + 32];
                if (n >= sizeof(host))
                        return address_error(ret_reason, "%s is not a numeric IPv6 address",
                                             LBD_QUOTE_N(s + 1, n));
                memcpy(host, s + 1, n);
                host[n] = '\0';
                r = parse_inet(host, true, close + 2, &a, ret_reason);
        } else {
                const char *colon = strrchr(s, ':');
                if (!colon)
                        return address_error(ret_reason, "address has no port; " EXPECTED_FORMS);
                if (memchr(s, ':', (size_t)(colon - s))) {
                        /* Without brackets "::1:80" is ambiguous. Say what
                         * was probably meant. */
                        return address_error(ret_reason,
                                             "IPv6 addresses must be written in brackets, "
                                             "e.g. [::1]:80; " EXPECTED_FORMS);
                }
                size_t n = (size_t)(colon - s);
                char host[INET6_ADDRSTRLEN + 32];
                if (n >= sizeof(host))
                        return address_error(ret_reason,
                                             "%s is not a numeric IPv4/IPv6 address (names "
                                             "are not resolved)", LBD_QUOTE_N(s, n));
                memcpy(host, s, n);
                host[n] = '\0';
                r = parse_inet(host, false, colon + 1, &a, ret_reason);
        }
        if (r < 0)
                return r;

        *ret = a;
        return 0;
}

bool lbd_address_equal(const struct lbd_address *a, const struct lbd_address *b) {
        if (!a || !b)
                return a == b;
        if (a->sa.ss_family != b->sa.ss_family)
                return false;

        switch (a->sa.ss_family) {
        case AF_INET: {
                const struct sockaddr_in *x = (const struct sockaddr_in *)&a->sa;
                const struct sockaddr_in *y = (const struct sockaddr_in *)&b->sa;
                return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
        }
        case AF_INET6: {
                const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->sa;
                const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)&b->sa;
                return x->sin6_port == y->sin6_port &&
                       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0 &&
                       x->sin6_scope_id == y->sin6_scope_id;
        }
        case AF_UNIX: {
                const struct sockaddr_un *x = (const struct sockaddr_un *)&a->sa;
                const struct sockaddr_un *y = (const struct sockaddr_un *)&b->sa;
                /* sun_path may not be NUL-terminated when the length says
                 * so (addresses from accept()/getsockname()). */
                size_t off = offsetof(struct sockaddr_un, sun_path);
                size_t nx = a->len > off ? strnlen(x->sun_path, a->len - off) : 0;
                size_t ny = b->len > off ? strnlen(y->sun_path, b->len - off) : 0;
                return nx == ny && memcmp(x->sun_path, y->sun_path, nx) == 0;
        }
        default:
                return a->len == b->len && memcmp(&a->sa, &b->sa, a->len) == 0;
        }
}

size_t lbd_address_ip_text(int family, const uint8_t *addr, char out[LBD_ADDRESS_IP_TEXT_MAX]) {
        if (family == AF_INET && addr) {
                char *p = out;
                for (int i = 0; i < 4; i++) {
                        unsigned v = addr[i];
                        if (v >= 100)
                                *p++ = (char)('0' + v / 100);
                        if (v >= 10)
                                *p++ = (char)('0' + v / 10 % 10);
                        *p++ = (char)('0' + v % 10);
                        *p++ = '.';
                }
                p[-1] = '\0';
                return (size_t)(p - 1 - out);
        }
        if (family == AF_INET6 && addr && inet_ntop(AF_INET6, addr, out, LBD_ADDRESS_IP_TEXT_MAX))
                return strlen(out);
        memcpy(out, "unix:", 6);
        return 5;
}
