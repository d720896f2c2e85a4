/* SPDX-License-Identifier: MIT */
/*
 * A text polkit agent for lbclient's own process, as systemctl does it: when
 * the caller is on a terminal and may be asked for a password, start
 * pkttyagent for our PID with --fallback (so an agent the session already
 * has, e.g. a desktop one, keeps answering) and wait until it says it is
 * registered by closing --notify-fd. It is stopped when lbclient exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lbclient.h"

#define PKTTYAGENT "/usr/bin/pkttyagent"
#define AGENT_REGISTER_TIMEOUT_MS 10000

void polkit_agent_open(struct lbc *c) {
        if (c->agent_pid > 0 || !isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
                return;
        if (access(PKTTYAGENT, X_OK) < 0)
                return; /* no agent to start: polkit answers without asking */
        int notify[2];
        if (pipe2(notify, O_CLOEXEC) < 0)
                return;
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0) {
                close(notify[0]);
                close(notify[1]);
                return;
        }
        if (pid == 0) {
                /* The child: dies with us; the write end stays open across exec. */
                prctl(PR_SET_PDEATHSIG, SIGTERM);
                if (getppid() != parent)
                        _exit(EXIT_FAILED);
                int fd = dup(notify[1]); /* dup() clears O_CLOEXEC */
                if (fd < 0)
                        _exit(EXIT_FAILED);
                char pid_arg[32], fd_arg[32];
                snprintf(pid_arg, sizeof pid_arg, "%d", (int)parent);
                snprintf(fd_arg, sizeof fd_arg, "%d", fd);
                execl(PKTTYAGENT, PKTTYAGENT, "--process", pid_arg, "--notify-fd", fd_arg,
                      "--fallback", (char *)NULL);
                _exit(EXIT_FAILED);
        }
        close(notify[1]);
        c->agent_pid = pid;
        /* EOF on the pipe: registered (or pkttyagent exited). */
        struct pollfd p = { .fd = notify[0], .events = POLLIN };
        while (poll(&p, 1, AGENT_REGISTER_TIMEOUT_MS) < 0 && errno == EINTR)
                ;
        close(notify[0]);
}

void polkit_agent_close(struct lbc *c) {
        if (c->agent_pid <= 0)
                return;
        kill(c->agent_pid, SIGTERM);
        while (waitpid(c->agent_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        c->agent_pid = 0;
}
