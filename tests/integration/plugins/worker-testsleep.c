/* SPDX-License-Identifier: MIT */
/*
 * testsleep: a worker plugin for the arbiter's tests, not installed.
 *
 * It serves nothing: every 100 ms it heartbeats, checks whether it should
 * stop, and accepts and closes whatever waits on its listeners (so a test
 * sees which addresses are listened on). The environment shapes it:
 *
 *   LBD_TESTSLEEP_STARTS=FILE       append the worker's PID to FILE at start
 *                                   (the file must exist and be writable by
 *                                   the worker's user)
 *   LBD_TESTSLEEP_FAIL=1            return -ENOSYS at once (a crash loop)
 *   LBD_TESTSLEEP_IGNORE_STOP=1     ignore a graceful stop (TERM); stop only
 *                                   when told to stop now (QUIT/INT)
 *   LBD_TESTSLEEP_HANG_FILE=FILE    when FILE holds this worker's PID, stop
 *                                   heartbeating and hang until killed
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lbd-plugin.h"

static bool env_set(const char *name) {
        const char *v = getenv(name);
        return v && *v && *v != '0';
}

static void record_start(void) {
        const char *path = getenv("LBD_TESTSLEEP_STARTS");
        if (!path)
                return;
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0)
                return;
        char line[32];
        int n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
        if (write(fd, line, (size_t)n) != n)
                (void)0; /* the test sees the missing line */
        close(fd);
}

static bool hang_requested(void) {
        const char *path = getenv("LBD_TESTSLEEP_HANG_FILE");
        if (!path)
                return false;
        FILE *f = fopen(path, "re");
        if (!f)
                return false;
        long pid = 0;
        bool mine = fscanf(f, "%ld", &pid) == 1 && pid == (long)getpid();
        fclose(f);
        return mine;
}

static int testsleep_run(void *data, const struct lbd_worker_host *host,
                         struct lbd_worker *worker) {
        record_start();
        if (env_set("LBD_TESTSLEEP_FAIL"))
                return -ENOSYS;
        bool ignore_stop = env_set("LBD_TESTSLEEP_IGNORE_STOP");
        const int *fds;
        size_t n = host->listeners(worker, &fds);

        for (;;) {
                if (hang_requested())
                        for (;;)
                                pause(); /* signal handlers return here; SIGKILL ends it */
                host->heartbeat(worker);
                enum lbd_worker_state state = host->state(worker);
                if (state == LBD_WORKER_STOP_NOW ||
                    (state == LBD_WORKER_STOPPING && !ignore_stop))
                        return 0;
                for (size_t i = 0; i < n; i++) {
                        int c;
                        while ((c = accept4(fds[i], NULL, NULL, SOCK_CLOEXEC)) >= 0)
                                close(c);
                }
                struct timespec ts = { .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
}

static const struct lbd_worker_ops ops = {
        .struct_size = sizeof(struct lbd_worker_ops),
        .run = testsleep_run,
};

LBD_WORKER_PLUGIN("testsleep", "Test worker: heartbeats, accepts and closes, sleeps (tests only)",
                  ops, NULL, NULL);
