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
