/* SPDX-License-Identifier: MIT */
/*
 * The names of lbd's D-Bus API, for the daemon and its clients (lbclient):
 * one copy of the contract's names, next to the contract itself
 * (org.example.LoadBalancer.xml) and the polkit actions
 * (polkit/org.example.LoadBalancer.policy).
 */
#pragma once

#define LBD_BUS_NAME "org.example.LoadBalancer"
#define LBD_BUS_PATH "/org/example/LoadBalancer"
#define LBD_BUS_INTERFACE "org.example.LoadBalancer"

/* One object per service, per backend of it, and per link. */
#define LBD_BUS_SERVICE_PREFIX LBD_BUS_PATH "/service"
#define LBD_BUS_SERVICE_INTERFACE LBD_BUS_INTERFACE ".Service"
#define LBD_BUS_BACKEND_INTERFACE LBD_BUS_INTERFACE ".Backend"
#define LBD_BUS_LINK_PREFIX LBD_BUS_PATH "/link"
#define LBD_BUS_LINK_INTERFACE LBD_BUS_INTERFACE ".Link"

/* Errors of the methods; the message says what was wrong. */
#define LBD_BUS_ERROR_INVALID_ARGUMENT LBD_BUS_INTERFACE ".Error.InvalidArgument"
#define LBD_BUS_ERROR_NOT_FOUND LBD_BUS_INTERFACE ".Error.NotFound"
#define LBD_BUS_ERROR_EXISTS LBD_BUS_INTERFACE ".Error.Exists"
#define LBD_BUS_ERROR_FAILED LBD_BUS_INTERFACE ".Error.Failed"
/* Links: NetworkManager is not running or went away during the call; the
 * running NetworkManager or the kernel cannot do it. */
#define LBD_BUS_ERROR_NETWORK_MANAGER_UNAVAILABLE \
        LBD_BUS_INTERFACE ".Error.NetworkManagerUnavailable"
#define LBD_BUS_ERROR_NOT_SUPPORTED LBD_BUS_INTERFACE ".Error.NotSupported"

/* The polkit actions. */
#define LBD_POLKIT_ACTION_MANAGE_SERVICES LBD_BUS_INTERFACE ".manage-services"
#define LBD_POLKIT_ACTION_CONFIGURE_WORKERS LBD_BUS_INTERFACE ".configure-workers"
#define LBD_POLKIT_ACTION_MANAGE_LINKS LBD_BUS_INTERFACE ".manage-links"
#define LBD_POLKIT_ACTION_RELOAD LBD_BUS_INTERFACE ".reload"
#define LBD_POLKIT_ACTION_REPORT_FAILOVER LBD_BUS_INTERFACE ".report-failover"

/* A backend's limits (AddBackend's options; the configuration's backends=
 * the same), for lbd and for clients that check before they call. */
#define LBD_BACKEND_WEIGHT_MAX 1000u        /* Weight is 1..this */
#define LBD_BACKEND_MAX_FAILS_MAX 1000u     /* 0..this */
#define LBD_BACKEND_FAIL_TIMEOUT_MAX 86400u /* 1..this seconds */
#define LBD_BACKEND_MAX_CONNS_MAX 1000000u  /* 0..this */
#define LBD_BACKEND_SLOW_START_MAX 3600u    /* 0..this seconds */
/* Origin: 1..this bytes of [A-Za-z0-9._:/@-]. */
#define LBD_BACKEND_ORIGIN_MAX 64

/* lbd-etcd-sync's status object (lbd-etcd-sync(8)): read-only properties
 * Connected b, Endpoint s, Revision x, Members u, Applied u, LastError s. */
#define LBD_SYNC_BUS_NAME LBD_BUS_NAME ".EtcdSync"
#define LBD_SYNC_BUS_PATH LBD_BUS_PATH "/EtcdSync"
#define LBD_SYNC_BUS_INTERFACE LBD_BUS_INTERFACE ".EtcdSync"
