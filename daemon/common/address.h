/* SPDX-License-Identifier: MIT */
/*
 * Socket addresses as administrators write them: "host:port", "[v6]:port",
 * "unix:/path". Used for listeners and backends alike.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct lbd_address {
        struct sockaddr_storage sa;
        socklen_t len;
        /* Canonical text form ("127.0.0.1:8001", "[::1]:80", "unix:/run/a.sock"),
         * the key under which the address is shown and looked up. */
        char text[128];
};

/* Parse s. Hosts are numeric IPv4 or IPv6 addresses, or "localhost"
 * (127.0.0.1); names are not resolved, because a load balancer that waits on
 * DNS at startup or reload is a load balancer that does not start. The port is
 * 1..65535; a unix path is absolute and fits sun_path.
 * Returns 0, or -EINVAL with *ret_reason set to a malloc()ed sentence saying
 * what is wrong with s (the caller adds where s came from).
 *
 * Details: IPv6 needs brackets ("[::1]:80"); zone indices ("%eth0") are not
 * supported. The port is decimal digits only. Runs of '/' in a unix path are
 * collapsed; abstract sockets ("unix:@x") are not supported. ret_reason
 * may be NULL; -ENOMEM (with *ret_reason NULL) when the sentence cannot be allocated.
 * *ret is untouched on failure. */
int lbd_address_parse(const char *s, struct lbd_address *ret, char **ret_reason);

bool lbd_address_equal(const struct lbd_address *a, const struct lbd_address *b);

/* A client's address as text, as inet_ntop() writes it ("unix:" for any
 * other family): out has LBD_ADDRESS_IP_TEXT_MAX bytes. IPv4 is written by
 * hand: glibc's inet_ntop() formats it with sprintf(), which was a visible
 * part of a proxied request's cost (X-Forwarded-For and the access log
 * each ask). Returns the length. */
#define LBD_ADDRESS_IP_TEXT_MAX 46u /* INET6_ADDRSTRLEN */
size_t lbd_address_ip_text(int family, const uint8_t *addr, char out[LBD_ADDRESS_IP_TEXT_MAX]);
