/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "health-state.h"

void lbd_health_state_init(struct lbd_health_state *s) {
        *s = (struct lbd_health_state){ .up = true, .count = 0 };
}

enum lbd_health_transition lbd_health_state_record(struct lbd_health_state *s, bool ok,
                                                   unsigned rise, unsigned fall) {
        if (ok == s->up) {
                /* Agrees with the state: any run of the other sort ends. */
                s->count = 0;
                return LBD_HEALTH_UNCHANGED;
        }
        s->count++;
        if (s->count < (s->up ? MAX(fall, 1u) : MAX(rise, 1u)))
                return LBD_HEALTH_UNCHANGED;
        s->up = ok;
        s->count = 0;
        return ok ? LBD_HEALTH_WENT_UP : LBD_HEALTH_WENT_DOWN;
}

int lbd_health_parse_status_line(const char *buf, size_t len, unsigned *ret_status) {
        const char *nl = memchr(buf, '\n', MIN(len, (size_t)LBD_HEALTH_STATUS_LINE_MAX));
        if (!nl)
                return len >= LBD_HEALTH_STATUS_LINE_MAX ? -EBADMSG : -EAGAIN;
        size_t n = (size_t)(nl - buf);
        /* "HTTP/1.x" SP 3DIGIT, then SP reason or the end of the line. */
        if (n < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || !g_ascii_isdigit(buf[7]) ||
            buf[8] != ' ')
                return -EBADMSG;
        const char *c = buf + 9;
        if (!g_ascii_isdigit(c[0]) || !g_ascii_isdigit(c[1]) || !g_ascii_isdigit(c[2]))
                return -EBADMSG;
        if (n > 12 && c[3] != ' ' && c[3] != '\r')
                return -EBADMSG;
        unsigned status = (unsigned)(c[0] - '0') * 100u + (unsigned)(c[1] - '0') * 10u +
                          (unsigned)(c[2] - '0');
        if (status < 100 || status > 599)
                return -EBADMSG;
        *ret_status = status;
        return 0;
}

char *lbd_health_build_request(const char *path, const char *host) {
        return g_strdup_printf("GET %s HTTP/1.1\r\n"
                               "Host: %s\r\n"
                               "Connection: close\r\n"
                               "User-Agent: lbd-health-check\r\n"
                               "\r\n",
                               path, host ? host : "localhost");
}

char *lbd_health_reason_status(unsigned status, unsigned expect_min, unsigned expect_max) {
        if (status >= expect_min && status <= expect_max)
                return g_strdup_printf("health check: HTTP %u", status);
        return g_strdup_printf("health check: HTTP %u, expected %u-%u", status, expect_min,
                               expect_max);
}

char *lbd_health_reason_errno(int error) {
        if (error < 0)
                error = -error;
        char *reason = g_strdup_printf("health check: %s", g_strerror(error));
        /* "Connection refused" reads as part of the sentence. */
        char *first = reason + strlen("health check: ");
        if (g_ascii_isupper(first[0]) && !g_ascii_isupper(first[1]))
                first[0] = g_ascii_tolower(first[0]);
        return reason;
}

char *lbd_health_reason_timeout(unsigned timeout_s) {
        return g_strdup_printf("health check: timed out after %u s", timeout_s);
}

static uint64_t fnv1a(uint64_t h, const char *s) {
        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= 0x100000001b3ull;
        }
        return h;
}

uint64_t lbd_health_first_delay_ms(const char *service, const char *address,
                                   uint64_t interval_ms) {
        if (interval_ms == 0)
                return 0;
        uint64_t h = fnv1a(0xcbf29ce484222325ull, service);
        h = fnv1a(h ^ '\n', address);
        /* FNV's low bits are weak for similar strings (ports differ in one
         * or two characters): finish with splitmix64's mixer. */
        h ^= h >> 30;
        h *= 0xbf58476d1ce4e5b9ull;
        h ^= h >> 27;
        h *= 0x94d049bb133111ebull;
        h ^= h >> 31;
        return h % interval_ms;
}

uint64_t lbd_health_next_start_ms(uint64_t last_start, uint64_t now, uint64_t interval_ms) {
        if (interval_ms == 0)
                return now;
        uint64_t next = last_start + interval_ms;
        if (next > now)
                return next;
        /* Ran past one or more turns: the next turn of the same phase. */
        return now + (interval_ms - (now - last_start) % interval_ms);
}
