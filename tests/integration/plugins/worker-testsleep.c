/* SPDX-License-Identifier: MIT */
/*
 * testsleep: a worker plugin for the arbiter's tests, not installed.
 *
 * It serves nothing: every 100 ms it heartbeats, checks whether it should
 * stop, and accepts and closes whatever waits on its listeners (so a test
 * sees which addresses are listened on). The environment shapes it:
 *
 *   LBD_TESTSLEEP_STARTS=FILE       append the worker's PID to FILE at start
 *   LBD_TESTSLEEP_FAIL=1            return -ENOSYS at once (a crash loop)
 *   LBD_TESTSLEEP_IGNORE_STOP=1     ignore a graceful stop (TERM); stop only
 *                                   when told to stop now (QUIT/INT)
 *   LBD_TESTSLEEP_HANG_FILE=FILE    when FILE holds this worker's PID, stop
 *                                   heartbeating and hang until killed
 *   LBD_TESTSLEEP_MISBEHAVE=WHAT    at start, try what a compromised worker
 *                                   would (test-confinement): execve,
 *                                   truncate=FILE (open for writing with
 *                                   O_TRUNC), append=FILE (open for
 *                                   appending, the flags a worker may use),
 *                                   signal-master (SIGTERM to the parent),
 *                                   signal-self (SIGURG, ignored, to itself:
 *                                   allowed);
 *                                   what got through or was refused is
 *                                   written to stderr as "testsleep: ..."
 *
 * A worker is confined (Landlock, seccomp) and may open no file, so FILEs
 * of STARTS and HANG_FILE are opened by init() in the master, like a real
 * plugin's resources, and the workers inherit the descriptors.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lbd-plugin.h"

static bool env_set(const char *name) {
        const char *v = getenv(name);
        return v && *v && *v != '0';
}

/* Opened by init() in the master; -1 when not asked for. */
struct files {
        int starts;
        int hang;
};

static int open_env_file(const char *name, int flags) {
        const char *path = getenv(name);
        if (!path)
                return -1;
        return open(path, flags | O_CLOEXEC);
}

static int testsleep_init(const struct lbd_host *host, void **data) {
        struct files *f = malloc(sizeof *f);
        if (!f)
                return -ENOMEM;
        f->starts = open_env_file("LBD_TESTSLEEP_STARTS", O_WRONLY | O_APPEND);
        f->hang = open_env_file("LBD_TESTSLEEP_HANG_FILE", O_RDONLY);
        *data = f;
        return 0;
}

static void testsleep_fini(void *data) {
        struct files *f = data;
        if (f->starts >= 0)
                close(f->starts);
        if (f->hang >= 0)
                close(f->hang);
        free(f);
}

static void record_start(const struct files *f) {
        if (f->starts < 0)
                return;
        char line[32];
        int n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
        if (write(f->starts, line, (size_t)n) != n)
                (void)0; /* the test sees the missing line */
}

/* The test replaces the file's content in place (truncate and write), so
 * the descriptor opened at init sees it. */
static bool hang_requested(const struct files *f) {
        if (f->hang < 0 || lseek(f->hang, 0, SEEK_SET) < 0)
                return false;
        char buf[32];
        ssize_t n = read(f->hang, buf, sizeof buf - 1);
        if (n <= 0)
                return false;
        buf[n] = '\0';
        return strtol(buf, NULL, 10) == (long)getpid();
}

static void say(const char *what, int err) {
        fprintf(stderr, "testsleep: worker %d: %s: %s\n", (int)getpid(), what,
                err ? strerror(err) : "done");
}

/* What a compromised worker would try. Whatever the filter does not kill
 * is reported on stderr; the worker then serves as usual. */
static void misbehave(void) {
        const char *what = getenv("LBD_TESTSLEEP_MISBEHAVE");
        if (!what)
                return;
        if (strcmp(what, "execve") == 0) {
                char *argv[] = { (char *)"/bin/true", NULL };
                execve(argv[0], argv, environ);
                say("execve /bin/true", errno);
        } else if (strncmp(what, "truncate=", 9) == 0) {
                int fd = open(what + 9, O_WRONLY | O_TRUNC | O_CLOEXEC);
                say("open for writing with O_TRUNC", fd < 0 ? errno : 0);
        } else if (strncmp(what, "append=", 7) == 0) {
                int fd = open(what + 7, O_WRONLY | O_APPEND | O_CLOEXEC);
                if (fd >= 0 && write(fd, "owned\n", 6) != 6)
                        (void)0;
                say("open for appending", fd < 0 ? errno : 0);
        } else if (strcmp(what, "signal-self") == 0) {
                int r = kill(getpid(), SIGURG);
                say("SIGURG to itself", r < 0 ? errno : 0);
        } else if (strcmp(what, "signal-master") == 0) {
                int r = kill(getppid(), SIGTERM);
                say("SIGTERM to the master", r < 0 ? errno : 0);
        } else {
                say(what, EINVAL);
        }
}

static int testsleep_run(void *data, const struct lbd_worker_host *host,
                         struct lbd_worker *worker) {
        const struct files *f = data;
        record_start(f);
        misbehave();
        if (env_set("LBD_TESTSLEEP_FAIL"))
                return -ENOSYS;
        bool ignore_stop = env_set("LBD_TESTSLEEP_IGNORE_STOP");
        const int *fds;
        size_t n = host->listeners(worker, &fds);

        for (;;) {
                if (hang_requested(f))
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
                  ops, testsleep_init, testsleep_fini);
