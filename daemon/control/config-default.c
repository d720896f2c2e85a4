/* SPDX-License-Identifier: MIT */
/*
 * The embedded default configuration: what lbd runs when there is no
 * configuration file, and what `lbd --dump-default-config` prints as a
 * starting point. It sets every [daemon] key to its default explicitly, so
 * the dump doubles as a reference of the keys; tests/unit/test-config.c
 * checks that it parses to exactly these values.
 */
#include "config-files.h"

const char lbd_config_builtin_default[] =
        "# lbd configuration: the embedded default.\n"
        "#\n"
        "# lbd uses this when " LBD_CONFIG_DEFAULT_PATH " does not exist. Copy it there\n"
        "# to start your own; files in " LBD_CONFIG_DEFAULT_DROPIN_DIR "/*.conf are merged over\n"
        "# it in lexical order, key by key. A '#' at the start of a value or after\n"
        "# whitespace starts a comment. Lists are separated by ';'.\n"
        "\n"
        "[daemon]\n"
        "workers=auto              # auto (2 * online CPUs + 1) | 1-1024\n"
        "worker-model=event        # sync | thread | event (a worker plugin)\n"
        "worker-connections=1000   # most simultaneous clients per worker\n"
        "threads=4                 # threads per worker (thread)\n"
        "timeout=30                # seconds a silent worker lives before it is killed\n"
        "graceful-timeout=30       # seconds workers get to finish on stop or reload\n"
        "keepalive=5               # seconds an idle client connection stays open; 0 = off\n"
        "max-requests=0            # requests before a worker is recycled; 0 = never\n"
        "max-requests-jitter=0     # random 0..N added to max-requests per worker\n"
        "user=lbd                  # workers drop privileges to this user\n"
        "group=                    # ...and this group; empty: the user's own\n"
        "extra-groups=             # supplementary groups, e.g. www-data (a -m 007 socket)\n"
        "access-log=access.log     # a file (in --logs-dir without a /) | journal | off\n"
        "access-log-buffer=65536   # a file log: bytes per write; 0 = a write per line\n"
        "access-log-flush=1        # a file log: seconds a line may wait, 1-60\n"
        "access-log-format=combined # combined (nginx's, with upstream fields) | json\n"
        "error-log=journal         # journal | a file (as access-log)\n"
        "statsd-host=off           # HOST:PORT of a StatsD server (UDP) | off\n"
        "statsd-prefix=lbd         # metric names start PREFIX. (empty: no prefix)\n"
        "statsd-interval=1         # seconds between sends, 1-3600\n"
        "dogstatsd-tags=           # tags sent with every metric: k:v,k2:v2\n"
        "\n"
        "# One group per service: [service NAME], NAME of A-Z a-z 0-9 _ -.\n"
        "[service default]\n"
        "listen=127.0.0.1:8080     # HOST:PORT | [IPV6]:PORT | unix:/PATH; ';'-separated\n"
        "mode=http                 # http | tcp\n"
        "policy=round_robin        # round_robin | least_conn | ip_hash (a policy plugin)\n"
        "proxy-connect-timeout=5   # seconds\n"
        "proxy-read-timeout=90     # seconds\n"
        "# proxy-host=app.example  # Host for requests that have none (HTTP/1.0);\n"
        "#                         # unset: the backend's address\n"
        "# Each backend: ADDRESS [weight=1-1000] [max-fails=N] [fail-timeout=SECONDS]\n"
        "#               [max-conns=N] [slow-start=SECONDS] [backup] [down]\n"
        "backends=127.0.0.1:8001;127.0.0.1:8002;127.0.0.1:8003\n"
        "# off | tcp [OPTIONS] | http /PATH [expect=200-399] [OPTIONS],\n"
        "# OPTIONS: interval=2 rise=2 fall=3 timeout=1\n"
        "health-check=off\n";
