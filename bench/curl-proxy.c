/*
 * curl-proxy: the "curl-proxy" target of `make bench` — the ceiling of a proxy hop made
 * with libcurl, measured in the same run as nginx-as-proxy and tollgate.
 *
 * It does the least a proxy built on libcurl's multi interface can do, and nothing a
 * gateway does: no routing, no JSON, no ledger, no log. Each thread owns one epoll set
 * holding its listening socket (SO_REUSEPORT), its client sockets, libcurl's upstream
 * sockets (CURLMOPT_SOCKETFUNCTION) and a timerfd for libcurl's timeouts
 * (CURLMOPT_TIMERFUNCTION); a zero timeout is run once at the end of a batch of events.
 * Each client connection keeps one easy handle for all its requests, and libcurl's
 * connection pool keeps the upstream connections alive.
 *
 * A request's body is forwarded as is to UPSTREAM + the request's path. A JSON answer is
 * sent with Content-Length when complete; an event-stream answer is relayed chunk by chunk
 * (chunked transfer encoding) as libcurl delivers it.
 *
 *   curl-proxy PORT UPSTREAM_BASE_URL [THREADS]
 *
 * Built by bench/run.sh with `cc -O2 bench/curl-proxy.c -lcurl -lpthread`.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

enum { TAG_CONN = 0, TAG_CURL = 1, TAG_LISTEN = 2, TAG_TIMER = 3 };

typedef struct {
    char *data;
    size_t len, cap;
} buf_t;

static void buf_add(buf_t *b, const void *p, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        b->data = realloc(b->data, cap);
        if (!b->data) abort();
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void buf_drop(buf_t *b, size_t n) {
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

struct worker;

struct conn;
typedef struct conn conn_t;

struct conn {
    int fd;
    struct worker *w;
    buf_t in, out, answer;
    CURL *easy;
    struct curl_slist *headers;
    char *body;          /* the request body being forwarded */
    int busy;            /* a transfer is running */
    int streaming;       /* the answer is relayed in chunks */
    int head_sent;
    int closing;
};

typedef struct worker {
    int ep, listen_fd, timer_fd;
    CURLM *multi;
    int timeout_now;
    const char *upstream;
    conn_t *closed[256];  /* freed at the end of the batch: later events may still name them */
    int nclosed;
} worker_t;

static int listen_port;
static const char *upstream_base;

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void watch(worker_t *w, int op, int fd, uint32_t events, uint64_t token) {
    struct epoll_event ev = {.events = events, .data.u64 = token};
    if (epoll_ctl(w->ep, op, fd, &ev) != 0 && op == EPOLL_CTL_MOD && errno == ENOENT)
        epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev);
}

static void flush_out(conn_t *c) {
    while (c->out.len > 0) {
        ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);
        if (n > 0) {
            buf_drop(&c->out, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            watch(c->w, EPOLL_CTL_MOD, c->fd, EPOLLIN | EPOLLOUT, (uint64_t)(uintptr_t)c);
            return;
        }
        c->closing = 1;
        return;
    }
}

static void conn_free(conn_t *c) {
    if (c->fd < 0) return;
    epoll_ctl(c->w->ep, EPOLL_CTL_DEL, c->fd, NULL);
    if (c->busy) curl_multi_remove_handle(c->w->multi, c->easy);
    curl_easy_cleanup(c->easy);
    curl_slist_free_all(c->headers);
    close(c->fd);
    free(c->in.data);
    free(c->out.data);
    free(c->answer.data);
    free(c->body);
    c->fd = -1;
    worker_t *w = c->w;
    if (w->nclosed == 256) return; /* leak rather than free early: cannot happen at bench sizes */
    w->closed[w->nclosed++] = c;
}

static size_t on_data(char *p, size_t size, size_t n, void *user) {
    conn_t *c = user;
    size_t len = size * n;
    if (!c->head_sent) {
        char *type = NULL;
        curl_easy_getinfo(c->easy, CURLINFO_CONTENT_TYPE, &type);
        c->streaming = type && strstr(type, "event-stream") != NULL;
        if (c->streaming) {
            static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                       "Transfer-Encoding: chunked\r\n\r\n";
            buf_add(&c->out, head, sizeof head - 1);
        }
        c->head_sent = 1;
    }
    if (c->streaming) {
        char size_line[32];
        int k = snprintf(size_line, sizeof size_line, "%zx\r\n", len);
        buf_add(&c->out, size_line, (size_t)k);
        buf_add(&c->out, p, len);
        buf_add(&c->out, "\r\n", 2);
        flush_out(c);
    } else {
        buf_add(&c->answer, p, len);
    }
    return len;
}

static void finish(conn_t *c, CURLcode code) {
    curl_multi_remove_handle(c->w->multi, c->easy);
    c->busy = 0;
    if (code != CURLE_OK) {
        static const char bad[] = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
        if (!c->head_sent || !c->streaming) buf_add(&c->out, bad, sizeof bad - 1);
        else c->closing = 1;
    } else if (c->streaming) {
        buf_add(&c->out, "0\r\n\r\n", 5);
    } else {
        char head[128];
        int k = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                            "Content-Length: %zu\r\n\r\n", c->answer.len);
        buf_add(&c->out, head, (size_t)k);
        buf_add(&c->out, c->answer.data, c->answer.len);
    }
    c->answer.len = 0;
    flush_out(c);
}

/* Parses one request from c->in if it is complete and starts its transfer. 0: need more. */
static int start_request(conn_t *c) {
    char *end = memmem(c->in.data, c->in.len, "\r\n\r\n", 4);
    if (!end) return 0;
    size_t head_len = (size_t)(end - c->in.data) + 4;
    size_t body_len = 0;
    char path[1024] = "/";
    /* request line: METHOD SP PATH SP VERSION */
    char *sp = memchr(c->in.data, ' ', head_len);
    if (sp) {
        char *sp2 = memchr(sp + 1, ' ', head_len - (size_t)(sp + 1 - c->in.data));
        if (sp2 && (size_t)(sp2 - sp - 1) < sizeof path) {
            memcpy(path, sp + 1, (size_t)(sp2 - sp - 1));
            path[sp2 - sp - 1] = 0;
        }
    }
    for (char *line = memchr(c->in.data, '\n', head_len); line && line < end; line = memchr(line + 1, '\n', (size_t)(end - line))) {
        if (strncasecmp(line + 1, "content-length:", 15) == 0) body_len = strtoul(line + 16, NULL, 10);
    }
    if (c->in.len < head_len + body_len) return 0;
    free(c->body);
    c->body = malloc(body_len + 1);
    memcpy(c->body, c->in.data + head_len, body_len);
    buf_drop(&c->in, head_len + body_len);

    char url[2048];
    snprintf(url, sizeof url, "%s%s", c->w->upstream, path);
    curl_easy_setopt(c->easy, CURLOPT_URL, url);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->body);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    c->busy = 1;
    c->head_sent = 0;
    c->streaming = 0;
    curl_multi_add_handle(c->w->multi, c->easy);
    return 1;
}

static void conn_readable(conn_t *c) {
    char tmp[65536];
    for (;;) {
        ssize_t n = recv(c->fd, tmp, sizeof tmp, 0);
        if (n > 0) {
            buf_add(&c->in, tmp, (size_t)n);
            if ((size_t)n < sizeof tmp) break;
            continue;
        }
        if (n < 0 && errno == EAGAIN) break;
        c->closing = 1;
        return;
    }
    if (!c->busy) start_request(c);
}

static int on_socket(CURL *easy, curl_socket_t s, int what, void *user, void *socketp) {
    (void)easy;
    (void)socketp;
    worker_t *w = user;
    uint64_t token = ((uint64_t)(uint32_t)s << 2) | TAG_CURL;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(w->ep, EPOLL_CTL_DEL, s, NULL);
        return 0;
    }
    uint32_t events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    watch(w, EPOLL_CTL_MOD, s, events, token);
    return 0;
}

static int on_timer(CURLM *multi, long ms, void *user) {
    (void)multi;
    worker_t *w = user;
    struct itimerspec spec = {0};
    if (ms == 0) {
        w->timeout_now = 1;
    } else if (ms > 0) {
        spec.it_value.tv_sec = ms / 1000;
        spec.it_value.tv_nsec = (ms % 1000) * 1000000L;
    }
    timerfd_settime(w->timer_fd, 0, &spec, NULL);
    return 0;
}

static void collect(worker_t *w) {
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(w->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        conn_t *c = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        finish(c, msg->data.result);
        if (c->closing) conn_free(c);
        else if (c->in.len > 0) start_request(c);
    }
}

static void accept_all(worker_t *w) {
    for (;;) {
        int fd = accept4(w->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn_t *c = calloc(1, sizeof *c);
        c->fd = fd;
        c->w = w;
        c->easy = curl_easy_init();
        c->headers = curl_slist_append(NULL, "Content-Type: application/json");
        c->headers = curl_slist_append(c->headers, "Expect:");
        curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
        curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
        curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
        curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
        watch(w, EPOLL_CTL_ADD, fd, EPOLLIN, (uint64_t)(uintptr_t)c);
    }
}

static void *run(void *arg) {
    worker_t *w = arg;
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    w->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    w->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(w->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(w->listen_fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)listen_port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(w->listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0) die("bind");
    if (listen(w->listen_fd, 1024) != 0) die("listen");
    w->multi = curl_multi_init();
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
    watch(w, EPOLL_CTL_ADD, w->listen_fd, EPOLLIN, TAG_LISTEN);
    watch(w, EPOLL_CTL_ADD, w->timer_fd, EPOLLIN, TAG_TIMER);

    struct epoll_event events[128];
    int running;
    for (;;) {
        int n = epoll_wait(w->ep, events, 128, -1);
        for (int i = 0; i < n; i++) {
            uint64_t token = events[i].data.u64;
            uint32_t mask = events[i].events;
            switch (token & 3) {
            case TAG_CONN: {
                conn_t *c = (conn_t *)(uintptr_t)token;
                if (c->fd < 0) break;
                if (mask & (EPOLLERR | EPOLLHUP)) c->closing = 1;
                if (!c->closing && (mask & EPOLLOUT)) {
                    flush_out(c);
                    if (!c->closing && c->out.len == 0)
                        watch(w, EPOLL_CTL_MOD, c->fd, EPOLLIN, token);
                }
                if (!c->closing && (mask & EPOLLIN)) conn_readable(c);
                if (c->closing) conn_free(c);
                break;
            }
            case TAG_CURL: {
                int action = (mask & EPOLLIN ? CURL_CSELECT_IN : 0) | (mask & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                             (mask & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
                curl_multi_socket_action(w->multi, (curl_socket_t)(token >> 2), action, &running);
                collect(w);
                break;
            }
            case TAG_LISTEN:
                accept_all(w);
                break;
            case TAG_TIMER: {
                uint64_t ticks;
                if (read(w->timer_fd, &ticks, sizeof ticks) < 0) { /* nothing to drain */ }
                w->timeout_now = 1;
                break;
            }
            }
        }
        while (w->timeout_now) {
            w->timeout_now = 0;
            curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
            collect(w);
        }
        for (int i = 0; i < w->nclosed; i++) free(w->closed[i]);
        w->nclosed = 0;
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s PORT UPSTREAM_BASE_URL [THREADS]\n", argv[0]);
        return 2;
    }
    listen_port = atoi(argv[1]);
    upstream_base = argv[2];
    int threads = argc > 3 ? atoi(argv[3]) : 1;
    if (threads < 1) threads = 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    worker_t *workers = calloc((size_t)threads, sizeof *workers);
    pthread_t *ids = calloc((size_t)threads, sizeof *ids);
    for (int i = 0; i < threads; i++) {
        workers[i].upstream = upstream_base;
        if (pthread_create(&ids[i], NULL, run, &workers[i]) != 0) die("pthread_create");
    }
    for (int i = 0; i < threads; i++) pthread_join(ids[i], NULL);
    return 0;
}
