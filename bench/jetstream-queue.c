/* The JetStream side of bench/queue-vs-jetstream.sh: P producer threads publish 100-byte
 * messages with js_Publish (each waits for the stream's ack: stored on a quorum of the R3
 * stream), C consumer threads pull (natsSubscription_Fetch, one shared durable pull
 * consumer, explicit acks) and ack each message with natsMsg_AckSync (the server confirms
 * the ack). Each body starts with its publish time; end-to-end latency runs from the publish
 * call to the confirmed ack. Prints one JSON object like `chorus bench queue --json`.
 * Build: gcc -O2 -o jetstream-queue jetstream-queue.c -lnats -lpthread */
#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static jsCtx *js;
static volatile int stop_flag = 0;
static int64_t t0, measure_from, measure_to;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static double *pub_lat, *e2e_lat;
static long pub_n = 0, e2e_n = 0, cap = 50000000, errors = 0;

static int64_t now_ns(void) {
    struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec - t0;
}

static void *producer(void *arg) {
    long id = (long)arg, n = 0;
    char body[128];
    while (!stop_flag) {
        int64_t sent = now_ns();
        int len = snprintf(body, sizeof body, "%lld p%ld %ld ", (long long)sent, id, n++);
        while (len < 100) body[len++] = 'x';
        jsPubAck *pa = NULL; jsErrCode jerr = 0;
        natsStatus s = js_Publish(&pa, js, "work.q", body, 100, NULL, &jerr);
        int64_t done = now_ns();
        if (pa) jsPubAck_Destroy(pa);
        pthread_mutex_lock(&mu);
        if (s != NATS_OK) errors++;
        else if (sent >= measure_from && done <= measure_to && pub_n < cap) pub_lat[pub_n++] = (done - sent) / 1e6;
        pthread_mutex_unlock(&mu);
    }
    return NULL;
}

static void *consumer(void *arg) {
    natsSubscription *sub = (natsSubscription *)arg;
    while (!stop_flag) {
        natsMsgList list = {0}; jsErrCode jerr = 0;
        natsStatus s = natsSubscription_Fetch(&list, sub, 100, 200, &jerr);
        if (s != NATS_OK) continue;
        for (int i = 0; i < list.Count; i++) {
            natsMsg *m = list.Msgs[i];
            long long sent = atoll(natsMsg_GetData(m));
            natsStatus as = natsMsg_AckSync(m, NULL, &jerr);
            int64_t done = now_ns();
            pthread_mutex_lock(&mu);
            if (as != NATS_OK) errors++;
            else if (done >= measure_from && done <= measure_to && e2e_n < cap) e2e_lat[e2e_n++] = (done - sent) / 1e6;
            pthread_mutex_unlock(&mu);
        }
        natsMsgList_Destroy(&list);
    }
    return NULL;
}

static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
static double pct(double *v, long n, double p) { if (n == 0) return 0; long i = (long)(p * n); if (i >= n) i = n - 1; return v[i]; }

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: %s URLS PRODUCERS CONSUMERS SECONDS\n", argv[0]); return 2; }
    int producers = atoi(argv[2]), consumers = atoi(argv[3]); double seconds = atof(argv[4]);
    pub_lat = malloc(sizeof(double) * cap); e2e_lat = malloc(sizeof(double) * cap);
    natsConnection *nc = NULL; natsSubscription *sub = NULL; jsErrCode jerr = 0;
    natsOptions *opts = NULL; natsOptions_Create(&opts);
    const char *servers[3]; char *urls = strdup(argv[1]); int ns = 0;
    for (char *tok = strtok(urls, ","); tok && ns < 3; tok = strtok(NULL, ",")) servers[ns++] = tok;
    natsOptions_SetServers(opts, servers, ns);
    if (natsConnection_Connect(&nc, opts) != NATS_OK) { fprintf(stderr, "connect failed\n"); return 1; }
    if (natsConnection_JetStream(&js, nc, NULL) != NATS_OK) { fprintf(stderr, "jetstream failed\n"); return 1; }
    jsStreamConfig cfg; jsStreamConfig_Init(&cfg);
    const char *subjects[] = {"work.q"};
    cfg.Name = "WORK"; cfg.Subjects = subjects; cfg.SubjectsLen = 1; cfg.Storage = js_FileStorage; cfg.Replicas = 3;
    cfg.Retention = js_WorkQueuePolicy;
    js_DeleteStream(js, "WORK", NULL, &jerr);
    natsStatus s = js_AddStream(NULL, js, &cfg, NULL, &jerr);
    if (s != NATS_OK) { fprintf(stderr, "add stream failed: %s (%d)\n", natsStatus_GetText(s), jerr); return 1; }
    jsSubOptions so; jsSubOptions_Init(&so);
    so.Config.AckPolicy = js_AckExplicit; so.Config.MaxAckPending = 100000;
    s = js_PullSubscribe(&sub, js, "work.q", "workers", NULL, &so, &jerr);
    if (s != NATS_OK) { fprintf(stderr, "pull subscribe failed: %s (%d)\n", natsStatus_GetText(s), jerr); return 1; }
    t0 = 0; t0 = now_ns();
    measure_from = 1000000000LL; measure_to = measure_from + (int64_t)(seconds * 1e9);
    pthread_t th[600]; int nt = 0;
    for (long i = 0; i < producers; i++) pthread_create(&th[nt++], NULL, producer, (void *)i);
    for (long i = 0; i < consumers; i++) pthread_create(&th[nt++], NULL, consumer, sub);
    struct timespec wait = {(time_t)((measure_to) / 1000000000LL), (long)(measure_to % 1000000000LL) + 200000000L};
    if (wait.tv_nsec >= 1000000000L) { wait.tv_sec++; wait.tv_nsec -= 1000000000L; }
    nanosleep(&wait, NULL);
    stop_flag = 1;
    for (int i = 0; i < nt; i++) pthread_join(th[i], NULL);
    qsort(pub_lat, pub_n, sizeof(double), cmp); qsort(e2e_lat, e2e_n, sizeof(double), cmp);
    printf("{\"system\":\"jetstream\",\"producers\":%d,\"consumers\":%d,\"published_per_s\":%ld,\"consumed_per_s\":%ld,"
           "\"publish_p50_ms\":%.3f,\"publish_p99_ms\":%.3f,\"end_to_end_p50_ms\":%.3f,\"end_to_end_p99_ms\":%.3f,\"errors\":%ld}\n",
           producers, consumers, (long)(pub_n / seconds), (long)(e2e_n / seconds), pct(pub_lat, pub_n, 0.5), pct(pub_lat, pub_n, 0.99),
           pct(e2e_lat, e2e_n, 0.5), pct(e2e_lat, e2e_n, 0.99), errors);
    return 0;
}
