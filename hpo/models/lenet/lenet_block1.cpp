// LeNet's first block on CPU, fused: conv 5x5 (one 28x28 channel in, six out, padding 2), sigmoid,
// 2x2 average pooling. Compiled on the user's machine by hpo/models/native.py (-O3 -march=native).
//
// Why: oneDNN runs this one-channel convolution far below the CPU's peak, and the sigmoid-pool
// after it reads and writes the 28x28 activations several times. Here each image is one task:
// the forward pass keeps a row of activations in registers and writes only the pooled 14x14
// maps; the backward pass recomputes the convolution (cheaper than storing it) and accumulates
// the 156 weight and bias gradients per image, summed afterwards in image order, so the bytes
// do not depend on the thread count. Rows are 28 columns computed as 32 (vectors of 16 floats
// with AVX-512, of 8 otherwise); the last 4 columns are junk and never read.
#include <cstdint>
#include <cstring>

#if defined(__AVX512F__)
constexpr int W = 16;
#else
constexpr int W = 8;
#endif
typedef float vf __attribute__((vector_size(W * 4)));
typedef int32_t vi __attribute__((vector_size(W * 4)));
constexpr int H = 28, K = 5, P = 2, HP = 14, OC = 6, NV = 32 / W, PW = 40, TAPS = K * K;

static inline vf loadu(const float* p) { vf v; std::memcpy(&v, p, sizeof(v)); return v; }
static inline void storeu(float* p, vf v) { std::memcpy(p, &v, sizeof(v)); }
static inline vf splat(float s) { vf v = {}; return v + s; }

// exp by Cephes' expf polynomial; NaN stays NaN (comparisons with NaN are false)
static inline vf vexp(vf x) {
    x = x > splat(88.0f) ? splat(88.0f) : x;
    x = x < splat(-87.0f) ? splat(-87.0f) : x;
    vf fx = x * 1.44269504088896341f + 0.5f;
    vf n = __builtin_convertvector(__builtin_convertvector(fx, vi), vf);
    n = n > fx ? n - 1.0f : n;  // floor
    vf r = x - n * 0.693359375f + n * 2.12194440e-4f;
    vf y = splat(1.9875691500e-4f);
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    y = y * r * r + r + 1.0f;
    vi e = (__builtin_convertvector(n, vi) + 127) << 23;
    return y * (vf)e;
}

static inline vf vsigmoid(vf z) { return 1.0f / (1.0f + vexp(-z)); }

static void pad_image(const float* x, float* pad) {
    std::memset(pad, 0, (H + 2 * P) * PW * sizeof(float));
    for (int r = 0; r < H; ++r) std::memcpy(pad + (r + P) * PW + P, x + r * H, H * sizeof(float));
}

// z[o][j] for output row r of all six channels; columns 28..31 are junk
static inline void conv_row(const float* pad, const float* w, const float* b, int r, vf (*z)[NV]) {
    for (int o = 0; o < OC; ++o)
        for (int j = 0; j < NV; ++j) z[o][j] = splat(b[o]);
    for (int ky = 0; ky < K; ++ky) {
        const float* row = pad + (r + ky) * PW;
        for (int kx = 0; kx < K; ++kx) {
            for (int j = 0; j < NV; ++j) {
                const vf p = loadu(row + kx + j * W);
                for (int o = 0; o < OC; ++o) z[o][j] += w[o * TAPS + ky * K + kx] * p;
            }
        }
    }
}

extern "C" void lenet_block1_forward(const float* x, const float* w, const float* b, float* h, int64_t n,
                                     int threads) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t i = 0; i < n; ++i) {
        alignas(64) float pad[(H + 2 * P) * PW];
        alignas(64) float s[OC][2][32];
        pad_image(x + i * H * H, pad);
        float* hi = h + i * OC * HP * HP;
        for (int r = 0; r < H; ++r) {
            vf z[OC][NV];
            conv_row(pad, w, b, r, z);
            for (int o = 0; o < OC; ++o)
                for (int j = 0; j < NV; ++j) storeu(&s[o][r & 1][j * W], vsigmoid(z[o][j]));
            if (r & 1) {
                for (int o = 0; o < OC; ++o)
                    for (int c = 0; c < HP; ++c)
                        hi[(o * HP + r / 2) * HP + c] =
                            0.25f * ((s[o][0][2 * c] + s[o][0][2 * c + 1]) + (s[o][1][2 * c] + s[o][1][2 * c + 1]));
            }
        }
    }
}

// d(sum(h * gh))/d(w, b) as OC x 26 (25 weights, then the bias), recomputing z. Each image's
// gradient goes to `partial`; they are summed in image order, whatever the thread count.
extern "C" void lenet_block1_backward(const float* x, const float* w, const float* b, const float* gh,
                                      float* partial, float* grad, int64_t n, int threads) {
    constexpr int NW = OC * (TAPS + 1);
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t i = 0; i < n; ++i) {
        alignas(64) float pad[(H + 2 * P) * PW];
        alignas(64) float dz[OC][H][32];
        alignas(64) float g[32 + W];
        pad_image(x + i * H * H, pad);
        const float* gi = gh + i * OC * HP * HP;
        vi dup;
        for (int l = 0; l < W; ++l) dup[l] = l / 2;
        std::memset(g, 0, sizeof(g));
        vf bias[OC];
        for (int o = 0; o < OC; ++o) bias[o] = vf{};
        for (int r = 0; r < H; ++r) {
            vf z[OC][NV];
            conv_row(pad, w, b, r, z);
            for (int o = 0; o < OC; ++o) {
                for (int c = 0; c < HP; ++c) g[c] = 0.25f * gi[(o * HP + r / 2) * HP + c];
                for (int j = 0; j < NV; ++j) {
                    const vf up = __builtin_shuffle(loadu(g + j * W / 2), dup);  // g[c / 2]
                    const vf s = vsigmoid(z[o][j]);
                    const vf d = s * (1.0f - s) * up;
                    bias[o] += d;
                    storeu(&dz[o][r][j * W], d);
                }
            }
        }
        float* out = partial + i * NW;
        for (int og = 0; og < OC; og += 3) {
            for (int ky = 0; ky < K; ++ky) {
                vf acc[3][K];
                for (int oo = 0; oo < 3; ++oo)
                    for (int kx = 0; kx < K; ++kx) acc[oo][kx] = vf{};
                for (int r = 0; r < H; ++r) {
                    const float* row = pad + (r + ky) * PW;
                    for (int j = 0; j < NV; ++j) {
                        vf p[K];
                        for (int kx = 0; kx < K; ++kx) p[kx] = loadu(row + kx + j * W);
                        for (int oo = 0; oo < 3; ++oo) {
                            const vf d = loadu(&dz[og + oo][r][j * W]);
                            for (int kx = 0; kx < K; ++kx) acc[oo][kx] += d * p[kx];
                        }
                    }
                }
                for (int oo = 0; oo < 3; ++oo)
                    for (int kx = 0; kx < K; ++kx) {
                        float t = 0.0f;
                        for (int l = 0; l < W; ++l) t += acc[oo][kx][l];
                        out[(og + oo) * (TAPS + 1) + ky * K + kx] = t;
                    }
            }
        }
        for (int o = 0; o < OC; ++o) {
            float t = 0.0f;
            for (int l = 0; l < W; ++l) t += bias[o][l];
            out[o * (TAPS + 1) + TAPS] = t;
        }
    }
    for (int k = 0; k < NW; ++k) grad[k] = 0.0f;
    for (int64_t i = 0; i < n; ++i)
        for (int k = 0; k < NW; ++k) grad[k] += partial[i * NW + k];
}
