/* SPDX-License-Identifier: MIT */
/*
 * The bonding driver's modes and the options lbd lets through, checked
 * before NetworkManager sees them (pure; cmocka-tested).
 */
#pragma once

#include "lbd-plugin.h"

/* The kernel's mode names, in its numbering order. */
extern const char *const bond_modes[];
/* The options accepted in BondOptions. */
extern const char *const bond_option_names[];

/* Check a request's Mode and BondOptions ("name=value"; an empty value
 * removes the option on ModifyLink), and that no team option was given.
 * current_mode is the mode the options go with when the request has no
 * Mode (the default, or the profile's); NULL: unknown, options are not
 * matched against a mode. 0, or -EINVAL and a sentence in *why (g_free) naming what is
 * allowed. */
int bond_check(const struct lbd_link_request *request, const char *current_mode, char **why);

/* Check how the options of the whole profile fit together, once a request
 * was merged into it (each argument is the option's value, NULL when it is
 * not set): updelay and downdelay count MII polls, so they need MII
 * monitoring (miimon not 0, and no ARP monitoring, which turns it off);
 * arp_interval and arp_ip_target only work together. What NetworkManager
 * would otherwise accept and the driver ignore or refuse later, with a
 * vaguer message. 0, or -EINVAL and a sentence in *why (g_free). */
int bond_check_combination(const char *miimon, const char *updelay, const char *downdelay,
                           const char *arp_interval, const char *arp_ip_target, char **why);
