/* SPDX-License-Identifier: MIT */
/* What the bond and team plugins check before NetworkManager sees a link:
 * bond modes and options, team runners and teamd JSON, IPv4 addresses,
 * routes and routing rules; and the daemon's registry of shared objects
 * (one NMClient for every network plugin). Every refusal must say what was
 * wrong and what is allowed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <glib.h>
#include <string.h>

#include "bond-options.h"
#include "net-common.h"
#include "shared.h"
#include "team-config.h"

#define NONE ((const char *const[]){ NULL })
#define LIST(...) ((const char *const[]){ __VA_ARGS__, NULL })

static struct lbd_link_request request(void) {
        return (struct lbd_link_request){
                .struct_size = sizeof(struct lbd_link_request),
                .ifname = "bond0",
                .ports = LIST("eth0", "eth1"),
        };
}

/* r is -EINVAL and *whyp names every needle (a pointer: arguments are
 * evaluated in no fixed order, so *whyp is read after the check ran). */
static void refused(int r, char **whyp, const char *const *needles) {
        char *why = *whyp;
        *whyp = NULL;
        assert_int_equal(r, -EINVAL);
        assert_non_null(why);
        for (const char *const *n = needles; *n; n++)
                if (!strstr(why, *n))
                        fail_msg("'%s' does not say '%s'", why, *n);
        g_free(why);
}

/* ---- bond --------------------------------------------------------------- */

static void test_bond_every_mode(void **state) {
        for (const char *const *mode = bond_modes; *mode; mode++) {
                struct lbd_link_request q = request();
                q.mode = *mode;
                char *why = NULL;
                assert_int_equal(bond_check(&q, NULL, &why), 0);
                assert_null(why);
        }
        assert_int_equal(g_strv_length((char **)bond_modes), 7);
}

static void test_bond_seed_options(void **state) {
        struct lbd_link_request q = request();
        q.mode = "802.3ad";
        q.bond_options = LIST("miimon=100", "lacp_rate=fast", "xmit_hash_policy=layer3+4",
                              "updelay=200", "downdelay=200");
        char *why = NULL;
        assert_int_equal(bond_check(&q, NULL, &why), 0);
        q.mode = "active-backup";
        q.bond_options = LIST("primary=eth0", "arp_interval=100",
                              "arp_ip_target=10.0.0.1,10.0.0.2");
        assert_int_equal(bond_check(&q, NULL, &why), 0);
        /* An empty value removes an option (ModifyLink). */
        q.bond_options = LIST("miimon=");
        assert_int_equal(bond_check(&q, NULL, &why), 0);
}

static void test_bond_option_combinations(void **state) {
        struct {
                const char *miimon, *updelay, *downdelay, *arp_interval, *targets;
                const char *says; /* NULL: accepted */
        } cases[] = {
                { "100", "200", "200", NULL, NULL, NULL },
                { NULL, "200", NULL, NULL, NULL, NULL }, /* NetworkManager's miimon=100 */
                { "0", "200", NULL, NULL, NULL, "updelay needs MII monitoring" },
                { "0", NULL, "200", NULL, NULL, "downdelay needs MII monitoring" },
                { "0", "0", "0", NULL, NULL, NULL },
                { NULL, "200", NULL, "100", "10.0.0.1", "updelay needs MII" },
                { NULL, NULL, NULL, "100", "10.0.0.1", NULL },
                { NULL, NULL, NULL, "100", NULL, "arp_interval needs arp_ip_target" },
                { NULL, NULL, NULL, NULL, "10.0.0.1", "arp_ip_target needs arp_interval" },
                { NULL, NULL, NULL, "0", "10.0.0.1", "arp_ip_target needs arp_interval" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                g_autofree char *why = NULL;
                int r = bond_check_combination(cases[i].miimon, cases[i].updelay,
                                               cases[i].downdelay, cases[i].arp_interval,
                                               cases[i].targets, &why);
                if (!cases[i].says) {
                        assert_int_equal(r, 0);
                        assert_null(why);
                } else {
                        assert_int_equal(r, -EINVAL);
                        assert_non_null(why);
                        assert_non_null(strstr(why, cases[i].says));
                }
        }
}

static void test_bond_refusals(void **state) {
        struct {
                const char *mode;
                const char *const *options;
                const char *runner;
                const char *const *says;
        } cases[] = {
                { "round-robin", NULL, NULL, LIST("round-robin", "balance-rr, active-backup",
                                                  "balance-alb") },
                { "4", NULL, NULL, LIST("Unknown bond mode '4'") },
                { NULL, LIST("speed=100"), NULL, LIST("speed", "miimon", "arp_ip_target") },
                { NULL, LIST("miimon=often"), NULL, LIST("miimon=often", "milliseconds") },
                { NULL, LIST("miimon=-1"), NULL, LIST("miimon=-1") },
                { "802.3ad", LIST("lacp_rate=sometimes"), NULL, LIST("slow, fast") },
                { "802.3ad", LIST("xmit_hash_policy=layer9"), NULL, LIST("layer2, layer2+3") },
                { "balance-rr", LIST("lacp_rate=fast"), NULL, LIST("lacp_rate", "802.3ad") },
                { "802.3ad", LIST("primary=eth0"), NULL, LIST("primary", "active-backup") },
                { "802.3ad", LIST("arp_interval=100"), NULL, LIST("arp_interval") },
                { "active-backup", LIST("arp_ip_target=10.0.0.300"), NULL,
                  LIST("10.0.0.300", "IPv4") },
                { "active-backup", LIST("miimon=100", "arp_interval=100"), NULL,
                  LIST("miimon and arp_interval") },
                { NULL, LIST("mode=4"), NULL, LIST("as Mode") },
                { NULL, NULL, "lacp", LIST("bond takes Mode") },
                { NULL, LIST("primary=a/b"), NULL, LIST("interface name") },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                struct lbd_link_request q = request();
                q.mode = cases[i].mode;
                q.bond_options = cases[i].options;
                q.runner = cases[i].runner;
                char *why = NULL;
                refused(bond_check(&q, "balance-rr", &why), &why, cases[i].says);
        }
}

static void test_bond_options_follow_current_mode(void **state) {
        /* ModifyLink without Mode: lacp_rate fits a profile in 802.3ad. */
        struct lbd_link_request q = request();
        q.ports = NULL;
        q.bond_options = LIST("lacp_rate=slow");
        char *why = NULL;
        assert_int_equal(bond_check(&q, "802.3ad", &why), 0);
        refused(bond_check(&q, "active-backup", &why), &why, LIST("lacp_rate"));
}

/* ---- team --------------------------------------------------------------- */

static void test_team_every_runner(void **state) {
        for (const char *const *runner = team_runners; *runner; runner++) {
                struct lbd_link_request q = request();
                q.runner = *runner;
                char *why = NULL;
                assert_int_equal(team_check(&q, NULL, &why), 0);
        }
        assert_int_equal(g_strv_length((char **)team_runners), 6);
}

static void test_team_config(void **state) {
        struct lbd_link_request q = request();
        q.team_config = "{ \"runner\": {\"name\": \"lacp\", \"active\": true, \"fast_rate\": "
                        "true, \"tx_hash\": [\"eth\", \"ipv4\", \"l4\"]}, \"link_watch\": "
                        "[{\"name\": \"ethtool\", \"delay_up\": 2500}, {\"name\": "
                        "\"arp_ping\", \"target_host\": \"10.0.0.1\", \"interval\": 100}], "
                        "\"ports\": {\"eth0\": {\"prio\": -10, \"sticky\": true}}, "
                        "\"notify_peers\": {\"count\": 1e0}, \"device\": \"te\\u0061m0\" }";
        g_autofree char *runner = NULL;
        char *why = NULL;
        assert_int_equal(team_check(&q, &runner, &why), 0);
        assert_string_equal(runner, "lacp");
        /* The same runner twice is fine; two different ones are not. */
        q.runner = "lacp";
        assert_int_equal(team_check(&q, NULL, &why), 0);
        q.runner = "activebackup";
        refused(team_check(&q, NULL, &why), &why, LIST("activebackup", "lacp", "differ"));
}

static void test_team_refusals(void **state) {
        struct {
                const char *runner;
                const char *config;
                const char *mode;
                const char *const *says;
        } cases[] = {
                { "fastest", NULL, NULL,
                  LIST("fastest", "broadcast, roundrobin, random, activebackup, loadbalance, "
                                  "lacp") },
                { NULL, NULL, "802.3ad", LIST("team takes Runner") },
                { NULL, "{\"runner\": {\"name\": }", NULL,
                  LIST("JSON at byte 20", "expected a value") },
                { NULL, "{\"runner\": {\"name\": \"lacp\"}", NULL, LIST("JSON", "'}'") },
                { NULL, "{\"runner\": {\"name\": \"lacp\"}} x", NULL, LIST("after the end") },
                { NULL, "{'runner': 1}", NULL, LIST("member name in quotes") },
                { NULL, "{\"a\": \"\x01\"}", NULL, LIST("control character") },
                { NULL, "{\"a\": \"\\q\"}", NULL, LIST("escape") },
                { NULL, "{\"a\": 01}", NULL, LIST("JSON") },
                { NULL, "[1, 2]", NULL, LIST("must be a JSON object") },
                { NULL, "{\"runnr\": {}}", NULL, LIST("runnr", "runner", "link_watch") },
                { NULL, "{\"runner\": \"lacp\"}", NULL, LIST("must be an object") },
                { NULL, "{\"runner\": {\"name\": \"x\"}}", NULL, LIST("runner.name 'x'",
                                                                       "activebackup") },
                { NULL, "{\"runner\": {\"tx_hash\": [\"eth\", \"l7\"]}}", NULL,
                  LIST("tx_hash", "ipv4") },
                { NULL, "{\"link_watch\": {\"name\": \"mii\"}}", NULL,
                  LIST("link_watch", "ethtool, arp_ping, nsna_ping") },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                struct lbd_link_request q = request();
                q.runner = cases[i].runner;
                q.team_config = cases[i].config;
                q.mode = cases[i].mode;
                char *why = NULL;
                refused(team_check(&q, NULL, &why), &why, cases[i].says);
        }
}

static void test_json_depth_bounded(void **state) {
        g_autoptr(GString) deep = g_string_new(NULL);
        for (int i = 0; i < 100; i++)
                g_string_append_c(deep, '[');
        for (int i = 0; i < 100; i++)
                g_string_append_c(deep, ']');
        char *why = NULL;
        refused(team_json_check(deep->str, &why), &why, LIST("nested too deeply"));
        assert_int_equal(team_json_check("{\"a\": [[[[1]]]], \"b\": null, \"c\": -0.5e-3}", &why),
                         0);
}

/* What json-glib 1.6 takes and RFC 8259 does not, invalid UTF-8, every
 * control character: refused, saying where (byte, line, column). */
static void test_json_strict(void **state) {
        struct {
                const char *text;
                const char *const *says;
        } cases[] = {
                { "{\"a\": 'x'}", LIST("at byte 6 (line 1, column 7)", "expected a value") },
                { "{\"a\": 0x10}", LIST("byte 6", "expected a value") },
                { "{\"a\": 1.}", LIST("byte 6") },
                { "{\"a\": -}", LIST("byte 6") },
                { "{\"a\": tru}", LIST("byte 6") },
                { "{\"a\": NaN}", LIST("byte 6") },
                { "{\"a\": nullx}", LIST("byte 6") },
                { "", LIST("byte 0", "expected a value") },
                { "   ", LIST("byte 3") },
                { "// c\n{}", LIST("byte 0") },
                { "{\"a\": 1,}", LIST("byte 8", "member name in quotes") },
                { "[1,]", LIST("byte 3", "expected a value") },
                { "{\"a\" 1}", LIST("':'") },
                { "{\"a\": \"x\ny\"}", LIST("line 1, column 9", "control character") },
                { "{\"a\": \"\x1f\"}", LIST("control character") },
                /* U+007F is no control character to JSON; the tab is */
                { "{\n  \"a\": \"\x7f\",\n  \"b\": \"\t\"\n}",
                  LIST("byte 22 (line 3, column 9)", "control character") },
                { "{\"é\": \"\xc3\"}", LIST("byte 8 (line 1, column 8)", "not UTF-8") },
                { "{\"a\": \"\xff\xfe\"}", LIST("byte 7", "not UTF-8") },
                { "{\"a\": \"\\u12\"}", LIST("escape") },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                char *why = NULL;
                int r = team_json_check(cases[i].text, &why);
                if (r == 0)
                        fail_msg("'%s' was taken", cases[i].text);
                refused(r, &why, cases[i].says);
        }
        /* and what RFC 8259 allows, json-glib takes too */
        static const char *const good[] = {
                "{\"a\": \"\\u00e9\\ud83d\\ude00 \\\" \\\\ \\/ \\b\\f\\n\\r\\t\"}",
                "{\"é\": \"😀\", \"b\": [true, false, null, 0, -0, 1e5, 2.5E-3, -1.0e+2]}",
                " \t\r\n{} ",
                "\"just a string\"",
        };
        for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
                char *why = NULL;
                if (team_json_check(good[i], &why) != 0)
                        fail_msg("'%s' refused: %s", good[i], why);
        }
        /* deep: 33 brackets (32 levels below the top) pass, 34 do not,
         * and 100,000 do not crash */
        static const int depths[] = { 33, 34, 100000 };
        for (size_t d = 0; d < G_N_ELEMENTS(depths); d++) {
                g_autoptr(GString) deep = g_string_new(NULL);
                for (int k = 0; k < depths[d]; k++)
                        g_string_append_c(deep, '[');
                for (int k = 0; k < depths[d]; k++)
                        g_string_append_c(deep, ']');
                char *why = NULL;
                int r = team_json_check(deep->str, &why);
                if (d == 0)
                        assert_int_equal(r, 0);
                else
                        refused(r, &why, LIST("nested too deeply"));
        }
}

/* ---- IPv4 --------------------------------------------------------------- */

static void test_ipv4_seed(void **state) {
        struct lbd_link_request q = request();
        q.ipv4_method = "manual";
        q.ipv4_addresses = LIST("192.168.1.100/24");
        q.ipv4_gateway = "192.168.1.1";
        q.ipv4_routes = LIST("192.168.1.0/24 10.0.0.1 100", "0.0.0.0/0 10.0.0.1 1",
                             "10.9.0.0/16", "10.8.0.0/16 5");
        q.ipv4_route_metric = 100;
        q.has_ipv4_route_metric = true;
        q.ipv4_routing_rules = LIST("priority 100 from 192.168.1.100 table 100",
                                    "priority 200 to 10.0.0.0/8 table 200");
        char *why = NULL;
        assert_int_equal(net_check_ipv4(&q, &why), 0);
        assert_null(why);
}

static void test_ipv4_route_parts(void **state) {
        char dest[16], hop[16];
        unsigned prefix;
        int64_t metric;
        char *why = NULL;
        assert_int_equal(net_parse_ipv4_route("192.168.1.0/24 10.0.0.1 100", dest, sizeof(dest),
                                              &prefix, hop, sizeof(hop), &metric, &why),
                         0);
        assert_string_equal(dest, "192.168.1.0");
        assert_int_equal(prefix, 24);
        assert_string_equal(hop, "10.0.0.1");
        assert_int_equal(metric, 100);
        assert_int_equal(net_parse_ipv4_route("10.1.2.3", dest, sizeof(dest), &prefix, hop,
                                              sizeof(hop), &metric, &why),
                         0);
        assert_int_equal(prefix, 32);
        assert_string_equal(hop, "");
        assert_int_equal(metric, -1);
}

static void test_ipv4_refusals(void **state) {
        struct {
                const char *method;
                const char *const *addresses;
                const char *gateway;
                const char *const *routes;
                const char *const *rules;
                int64_t metric;
                const char *const *says;
        } cases[] = {
                { "dhcp", NULL, NULL, NULL, NULL, 0, LIST("dhcp", "auto, manual, disabled") },
                { NULL, LIST("10.0.0.300/24"), NULL, NULL, NULL, 0, LIST("10.0.0.300/24",
                                                                         "a.b.c.d/PREFIX") },
                { NULL, LIST("10.0.0.1/33"), NULL, NULL, NULL, 0, LIST("10.0.0.1/33") },
                { NULL, LIST("10.0.0.1/"), NULL, NULL, NULL, 0, LIST("10.0.0.1/") },
                { "manual", NONE, NULL, NULL, NULL, 0, LIST("at least one address") },
                { "disabled", LIST("10.0.0.1/24"), NULL, NULL, NULL, 0, LIST("disabled") },
                { NULL, NULL, "10.0.0", NULL, NULL, 0, LIST("IPv4Gateway '10.0.0'") },
                { NULL, NULL, NULL, LIST("192.168.1.0/33 10.0.0.1"), NULL, 0,
                  LIST("192.168.1.0/33", "DEST/PREFIX [NEXT-HOP] [METRIC]") },
                { NULL, NULL, NULL, LIST("192.168.1.0/24 via 10.0.0.1"), NULL, 0,
                  LIST("'via'", "next hop nor a metric") },
                { NULL, NULL, NULL, LIST("192.168.1.0/24 10.0.0.1 100 7"), NULL, 0,
                  LIST("DEST/PREFIX") },
                { NULL, NULL, NULL, LIST("192.168.1.0/24 10.0.0.1 4294967296"), NULL, 0,
                  LIST("4294967296") },
                { NULL, NULL, NULL, LIST(""), NULL, 0, LIST("DEST/PREFIX") },
                { NULL, NULL, NULL, NULL, LIST("priority x from 192.168.1.100 table 100"), 0,
                  LIST("routing rule", "priority 100 from 192.168.1.100 table 100") },
                { NULL, NULL, NULL, NULL, LIST("from 2001:db8::1 table 5"), 0,
                  LIST("2001:db8::1") },
                { NULL, NULL, NULL, NULL, NULL, -2, LIST("IPv4RouteMetric -2", "4294967295") },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                struct lbd_link_request q = request();
                q.ipv4_method = cases[i].method;
                q.ipv4_addresses = cases[i].addresses;
                q.ipv4_gateway = cases[i].gateway;
                q.ipv4_routes = cases[i].routes;
                q.ipv4_routing_rules = cases[i].rules;
                q.ipv4_route_metric = cases[i].metric;
                q.has_ipv4_route_metric = cases[i].metric != 0;
                char *why = NULL;
                refused(net_check_ipv4(&q, &why), &why, cases[i].says);
        }
}

/* ---- the shared registry -------------------------------------------------- */

static int destroyed;
static void count_destroy(void *object) { destroyed += GPOINTER_TO_INT(object); }

static void test_shared_registry(void **state) {
        struct lbd_shared *s = lbd_shared_new();
        assert_null(lbd_shared_get(s, "network.nm-client"));
        assert_int_equal(lbd_shared_set(s, "network.nm-client", GINT_TO_POINTER(1),
                                        count_destroy),
                         0);
        assert_int_equal(lbd_shared_set(s, "network.nm-client", GINT_TO_POINTER(10),
                                        count_destroy),
                         -EEXIST);
        assert_int_equal(lbd_shared_set(s, "other", GINT_TO_POINTER(100), count_destroy), 0);
        assert_ptr_equal(lbd_shared_get(s, "network.nm-client"), GINT_TO_POINTER(1));
        destroyed = 0;
        assert_null(lbd_shared_free(s));
        assert_int_equal(destroyed, 101); /* each once; the refused one never */
        assert_null(lbd_shared_free(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bond_every_mode),
                cmocka_unit_test(test_bond_seed_options),
                cmocka_unit_test(test_bond_refusals),
                cmocka_unit_test(test_bond_option_combinations),
                cmocka_unit_test(test_bond_options_follow_current_mode),
                cmocka_unit_test(test_team_every_runner),
                cmocka_unit_test(test_team_config),
                cmocka_unit_test(test_team_refusals),
                cmocka_unit_test(test_json_depth_bounded),
                cmocka_unit_test(test_json_strict),
                cmocka_unit_test(test_ipv4_seed),
                cmocka_unit_test(test_ipv4_route_parts),
                cmocka_unit_test(test_ipv4_refusals),
                cmocka_unit_test(test_shared_registry),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
