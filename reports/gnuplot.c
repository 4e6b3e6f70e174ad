/* Running gnuplot as a child process: fork/exec with three pipes, poll, then the SVG made fit
 * for an HTML page. */
#define _POSIX_C_SOURCE 200809L
#include "gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char install_hint[] = "the HTML report draws its plots with gnuplot (Debian: apt-get install gnuplot-nox)";

int gnuplot_find(fs_error *err)
{
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/bin:/bin"; /* what execvp searches without PATH */
    for (const char *p = path;;) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        char file[4096];
        /* an empty PATH entry is the current directory, as for execvp */
        int w = snprintf(file, sizeof file, "%.*s%sgnuplot", (int)n, n ? p : ".", "/");
        struct stat st;
        if (w > 0 && (size_t)w < sizeof file && stat(file, &st) == 0 && S_ISREG(st.st_mode) && access(file, X_OK) == 0)
            return 0;
        if (!colon) break;
        p = colon + 1;
    }
    return fs_error_set(err, "", 0, 0, "gnuplot not found on PATH (%s): %s", path, install_hint);
}

/* ---- a growing byte buffer ---- */

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static void buf_add(buf *b, const char *s, size_t n)
{
    b->p = fs_xgrow(b->p, &b->cap, b->n + n + 1, 1);
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static bool starts(const char *s, const char *end, const char *prefix)
{
    size_t n = strlen(prefix);
    return (size_t)(end - s) >= n && memcmp(s, prefix, n) == 0;
}

/* From <svg on, without xmlns attributes or the "Gnuplot" title, ids prefixed (see gnuplot.h).
 * Only tags are rewritten: gnuplot escapes '<' in text, so a '<' always opens a tag. */
static char *svg_for_html(const char *s, const char *end, const char *prefix, size_t *len)
{
    static const char *const refs[] = {"id='", "id=\"", "href='#", "href=\"#", "url(#"};
    buf b = {0};
    bool in_tag = false;
    while (s < end) {
        if (!in_tag && starts(s, end, "<title>Gnuplot</title>")) {
            s += strlen("<title>Gnuplot</title>");
            continue;
        }
        char c = *s;
        if (c == '<') in_tag = true;
        else if (c == '>') in_tag = false;
        if (in_tag && (c == ' ' || c == '\n' || c == '\t') && starts(s + 1, end, "xmlns")) {
            const char *q = memchr(s, '"', (size_t)(end - s));
            const char *close = q ? memchr(q + 1, '"', (size_t)(end - q - 1)) : NULL;
            if (close) {
                s = close + 1;
                continue;
            }
        }
        bool done = false;
        for (size_t i = 0; in_tag && i < sizeof refs / sizeof *refs && !done; i++) {
            if (!starts(s, end, refs[i])) continue;
            size_t n = strlen(refs[i]);
            buf_add(&b, s, n);
            buf_add(&b, prefix, strlen(prefix));
            s += n;
            done = true;
        }
        if (done) continue;
        buf_add(&b, s, 1);
        s++;
    }
    *len = b.n;
    return b.p;
}

/* ---- the child process ---- */

static void close_fd(int *fd)
{
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

/* Read what is there from *fd into b (at most `limit` bytes kept); close it at end of file. */
static void drain(int *fd, buf *b, size_t limit)
{
    char tmp[65536];
    ssize_t r = read(*fd, tmp, sizeof tmp);
    if (r > 0) {
        size_t keep = b->n < limit ? limit - b->n : 0;
        buf_add(b, tmp, (size_t)r < keep ? (size_t)r : keep);
    } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        close_fd(fd);
    }
}

/* The first lines of gnuplot's stderr on one line, for an error message. */
static void squash(const buf *e, char *out, size_t size)
{
    size_t n = 0;
    bool space = false;
    for (size_t i = 0; i < e->n && n + 1 < size; i++) {
        char c = e->p[i];
        if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
            space = n > 0;
            continue;
        }
        if (space && n + 2 < size) out[n++] = ' ';
        space = false;
        out[n++] = c;
    }
    out[n] = '\0';
    if (n == 0) snprintf(out, size, "(nothing on stderr)");
}

char *gnuplot_svg(const char *script, size_t len, const char *id_prefix, size_t *svg_len, fs_error *err)
{
    int fds[8] = {-1, -1, -1, -1, -1, -1, -1, -1}; /* stdin, stdout, stderr, exec status: read, write ends */
    for (int i = 0; i < 8; i += 2) {
        if (pipe(fds + i) != 0) {
            int e = errno;
            for (int k = 0; k < 8; k++) close_fd(&fds[k]);
            fs_error_set(err, "", 0, 0, "cannot make a pipe for gnuplot: %s", strerror(e));
            return NULL;
        }
    }
    for (int i = 0; i < 8; i++) fcntl(fds[i], F_SETFD, FD_CLOEXEC); /* dup2 clears it on 0, 1, 2 */
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[0], 0);
        dup2(fds[3], 1);
        dup2(fds[5], 2);
        execlp("gnuplot", "gnuplot", (char *)NULL);
        int e = errno;
        ssize_t w = write(fds[7], &e, sizeof e); /* the exec-status pipe closes on a good exec */
        (void)w;
        _exit(127);
    }
    int e = errno;
    int in = fds[1], out = fds[2], errfd = fds[4], status_fd = fds[6];
    close_fd(&fds[0]);
    close_fd(&fds[3]);
    close_fd(&fds[5]);
    close_fd(&fds[7]);
    if (pid < 0) {
        close_fd(&in);
        close_fd(&out);
        close_fd(&errfd);
        close_fd(&status_fd);
        fs_error_set(err, "", 0, 0, "cannot start gnuplot: fork: %s", strerror(e));
        return NULL;
    }
    int exec_errno = 0;
    ssize_t r;
    do r = read(status_fd, &exec_errno, sizeof exec_errno);
    while (r < 0 && errno == EINTR);
    close_fd(&status_fd);
    if (r != (ssize_t)sizeof exec_errno) exec_errno = 0;

    struct sigaction ign = {0}, old_pipe;
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old_pipe);
    fcntl(in, F_SETFL, O_NONBLOCK);
    buf so = {0}, se = {0};
    size_t sent = 0;
    int write_errno = 0, poll_errno = 0;
    if (exec_errno || len == 0) close_fd(&in);
    while (out >= 0 || errfd >= 0) {
        struct pollfd p[3];
        nfds_t n = 0;
        if (in >= 0) p[n++] = (struct pollfd){.fd = in, .events = POLLOUT};
        if (out >= 0) p[n++] = (struct pollfd){.fd = out, .events = POLLIN};
        if (errfd >= 0) p[n++] = (struct pollfd){.fd = errfd, .events = POLLIN};
        if (poll(p, n, -1) < 0) {
            if (errno == EINTR) continue;
            poll_errno = errno;
            break;
        }
        for (nfds_t i = 0; i < n; i++) {
            if (!p[i].revents) continue;
            if (p[i].fd == in) {
                size_t chunk = len - sent < 65536 ? len - sent : 65536;
                ssize_t w = write(in, script + sent, chunk);
                if (w > 0) sent += (size_t)w;
                else if (w < 0 && errno != EINTR && errno != EAGAIN) write_errno = errno;
                if (sent == len || write_errno) close_fd(&in);
            } else if (p[i].fd == out) {
                drain(&out, &so, (size_t)-1);
            } else {
                drain(&errfd, &se, 2048);
            }
        }
    }
    close_fd(&in);
    close_fd(&out);
    close_fd(&errfd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    sigaction(SIGPIPE, &old_pipe, NULL);

    char msg[400];
    squash(&se, msg, sizeof msg);
    char *svg = NULL;
    const char *start = so.p ? strstr(so.p, "<svg") : NULL;
    if (exec_errno)
        fs_error_set(err, "", 0, 0, "cannot run gnuplot: %s; %s", strerror(exec_errno), install_hint);
    else if (poll_errno)
        fs_error_set(err, "", 0, 0, "waiting for gnuplot: poll: %s", strerror(poll_errno));
    else if (WIFSIGNALED(status))
        fs_error_set(err, "", 0, 0, "gnuplot was killed by signal %d: %s", WTERMSIG(status), msg);
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fs_error_set(err, "", 0, 0, "gnuplot failed (exit status %d): %s", WEXITSTATUS(status), msg);
    else if (write_errno)
        fs_error_set(err, "", 0, 0, "gnuplot stopped reading its script after %zu of %zu bytes: %s", sent, len,
                     strerror(write_errno));
    else if (!start)
        fs_error_set(err, "", 0, 0, "gnuplot printed no <svg> element (%zu bytes on stdout): %s", so.n, msg);
    else
        svg = svg_for_html(start, so.p + so.n, id_prefix, svg_len);
    free(so.p);
    free(se.p);
    return svg;
}
