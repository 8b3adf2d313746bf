// A reference outside the app, for `bench products`: how fast this host's two cores can stream the
// decode step's one-row weight products when written directly with AVX-512 and two threads, against
// a plain 512 MiB read. Not built by the install and not used by Tessera; scripts/bench/gemv-reference.sh
// compiles and runs it. It answers one question: is the decode's bandwidth fraction capped by the
// machine or by onnxruntime's kernels?
//
// Weights are (N, K) rows, as the decode step's Gemms hold them (transB). Each thread takes a block of
// rows; every product ends at a spin barrier, as a thread pool's parallel-for does. Buffers sit on
// transparent huge pages, as the app's are (runtime/host-env.ts).
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

enum { THREADS = 2, MAX_MATS = 1024 };

typedef struct {
  int n, k;
  float *w;
} Mat;

static Mat mats[MAX_MATS];
static int n_mats;
float x_in[8192], y_out[16384]; // not static: the products' results must stay observable
static float *probe;
static size_t probe_len;
volatile float sink[THREADS];

static atomic_int barrier_gen, barrier_count, job_gen;
static atomic_int job; // 0: products, 1: probe, 2: exit

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *alloc_floats(size_t n) {
  size_t bytes = (n * sizeof(float) + (2u << 20) - 1) & ~(size_t)((2u << 20) - 1);
  void *p = NULL;
  if (posix_memalign(&p, 2u << 20, bytes)) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  madvise(p, bytes, MADV_HUGEPAGE);
  float *f = p;
  for (size_t i = 0; i < n; i++) f[i] = (float)(i % 13) * 0.01f;
  return f;
}

static void barrier(void) {
  int gen = atomic_load(&barrier_gen);
  if (atomic_fetch_add(&barrier_count, 1) == THREADS - 1) {
    atomic_store(&barrier_count, 0);
    atomic_fetch_add(&barrier_gen, 1);
  } else {
    while (atomic_load(&barrier_gen) == gen) _mm_pause();
  }
}

// y[r] = W[r, :] · x for rows r0..r1 (a multiple of 4 apart), four rows at a time.
static void rows(const Mat *m, int r0, int r1) {
  for (int r = r0; r < r1; r += 4) {
    const float *w = m->w + (size_t)r * m->k;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int j = 0; j < m->k; j += 16) {
      __m512 x = _mm512_loadu_ps(x_in + j);
      a0 = _mm512_fmadd_ps(_mm512_load_ps(w + j), x, a0);
      a1 = _mm512_fmadd_ps(_mm512_load_ps(w + m->k + j), x, a1);
      a2 = _mm512_fmadd_ps(_mm512_load_ps(w + 2 * m->k + j), x, a2);
      a3 = _mm512_fmadd_ps(_mm512_load_ps(w + 3 * m->k + j), x, a3);
    }
    y_out[r] = _mm512_reduce_add_ps(a0);
    y_out[r + 1] = _mm512_reduce_add_ps(a1);
    y_out[r + 2] = _mm512_reduce_add_ps(a2);
    y_out[r + 3] = _mm512_reduce_add_ps(a3);
  }
}

static void products(int t) {
  const int len = n_mats; // read once: after the last barrier the main thread may set up the next run
  for (int i = 0; i < len; i++) {
    const Mat *m = &mats[i];
    int per = m->n / THREADS;
    rows(m, t * per, t == THREADS - 1 ? m->n : (t + 1) * per);
    barrier();
  }
}

static void probe_part(int t) {
  size_t per = probe_len / THREADS;
  const float *p = probe + t * per;
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t j = 0; j < per; j += 64) {
    a0 = _mm512_add_ps(a0, _mm512_load_ps(p + j));
    a1 = _mm512_add_ps(a1, _mm512_load_ps(p + j + 16));
    a2 = _mm512_add_ps(a2, _mm512_load_ps(p + j + 32));
    a3 = _mm512_add_ps(a3, _mm512_load_ps(p + j + 48));
  }
  sink[t] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  barrier();
}

static void *worker(void *arg) {
  int t = (int)(long)arg, seen = 0;
  for (;;) {
    while (atomic_load(&job_gen) == seen) _mm_pause();
    seen = atomic_load(&job_gen);
    int j = atomic_load(&job);
    if (j == 2) return NULL;
    if (j == 1) probe_part(t);
    else products(t);
  }
}

// Seconds for one pass of the job over both threads.
static double pass(int j) {
  atomic_store(&job, j);
  double t0 = now();
  atomic_fetch_add(&job_gen, 1);
  if (j == 1) probe_part(0);
  else products(0);
  return now() - t0;
}

static double best_gbs(int j, double bytes, int runs) {
  double best = 1e30;
  pass(j);
  for (int i = 0; i < runs; i++) {
    double s = pass(j);
    if (s < best) best = s;
  }
  return bytes / best / 1e9;
}

// The decode step of bench engine's LM (d 384, 8 layers, SwiGLU 1024, vocab 4096): per layer q/k/v,
// o, gate/up and down, then the tied head.
enum { SHAPES = 5, LAYERS = 8, SET_BYTES = 160000000 };
static const int SHAPE[SHAPES][2] = {{1152, 384}, {384, 384}, {2048, 384}, {384, 1024}, {4096, 384}};
static const char *NAMES[SHAPES] = {"q/k/v", "o", "gate/up", "down", "head"};
static Mat sets[SHAPES][MAX_MATS], token_mats[LAYERS * 4 + 1];
static int set_len[SHAPES];

static double use(const Mat *list, int len) {
  double bytes = 0;
  n_mats = len;
  for (int i = 0; i < len; i++) {
    mats[i] = list[i];
    bytes += (double)list[i].n * list[i].k * 4;
  }
  return bytes;
}

int main(void) {
  probe_len = (512u << 20) / sizeof(float);
  probe = alloc_floats(probe_len);
  for (int j = 0; j < 8192; j++) x_in[j] = 1.0f / (float)(j + 1);
  // Per shape, 160 MB of copies, so that no run fits in the 32 MiB L3; and one token's 33 products.
  for (int s = 0; s < SHAPES; s++) {
    int n = SHAPE[s][0], k = SHAPE[s][1];
    set_len[s] = (int)(SET_BYTES / (n * k * 4.0)) + 1;
    for (int i = 0; i < set_len[s]; i++) sets[s][i] = (Mat){n, k, alloc_floats((size_t)n * k)};
  }
  for (int l = 0; l < LAYERS; l++)
    for (int s = 0; s < 4; s++) token_mats[l * 4 + s] = (Mat){SHAPE[s][0], SHAPE[s][1], alloc_floats((size_t)SHAPE[s][0] * SHAPE[s][1])};
  token_mats[LAYERS * 4] = (Mat){4096, 384, alloc_floats(4096 * 384)};
  pthread_t th;
  pthread_create(&th, NULL, worker, (void *)1L);

  // Five rounds, each: the read probe, every shape, one token's products (best of 5 passes each).
  printf("{\"threads\":%d,\"rounds\":[", THREADS);
  for (int round = 0; round < 5; round++) {
    printf("%s{\"probe_gbs\":%.1f", round ? "," : "", best_gbs(1, probe_len * 4.0, 3));
    for (int s = 0; s < SHAPES; s++) printf(",\"%s_gbs\":%.1f", NAMES[s], best_gbs(0, use(sets[s], set_len[s]), 5));
    double bytes = use(token_mats, LAYERS * 4 + 1);
    double gbs = best_gbs(0, bytes, 50);
    printf(",\"token_gbs\":%.1f,\"token_products_per_s\":%.0f}", gbs, gbs * 1e9 / bytes);
    fflush(stdout);
  }
  printf("]}\n");
  atomic_store(&job, 2);
  atomic_fetch_add(&job_gen, 1);
  pthread_join(th, NULL);
  return 0;
}
