/* SPDX-License-Identifier: MIT */
/*
 * One listening socket as a worker sees it: what the master bound
 * (listeners.h) for a service of its configuration.
 */
#pragma once

#include "address.h"
#include "config.h"

struct lbd_listener {
        int fd;                                   /* non-blocking, listening */
        struct lbd_address address;
        const struct lbd_service_config *service; /* in the generation's config */
};
