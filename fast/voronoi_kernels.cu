// The Voronoi-code kernels of quantmm.fast in CUDA C++, for CuPy (quantmm.fast.cuda_kernels).
//
// One algorithm with the numba kernels (fast/numba_kernels.py): the same floating-point
// operations on the same operands in the same order, one scale block (8 entries) per thread,
// so the results are the vectorized NumPy code's bits. That needs IEEE arithmetic without
// contraction: CuPy compiles this file with --fmad=false (NVRTC would otherwise fuse a*b + c
// into one rounding), and the tests compile it as host C++ with -ffp-contract=off.
//
// The same file is the CPU test vehicle: without QMM_CUDA each kernel is a plain C function
// looping over its blocks, which tests/test_voronoi_kernels_source.py builds with the system
// C++ compiler and checks bit for bit against the vectorized code. With QMM_CUDA (defined by
// quantmm.fast.cuda_kernels) each is a __global__ kernel, one thread per block.
//
// Lattice ids: 0 = Z (d = 1), 1 = A2, 2 = D4 (D_d for any d in closest_point), 3 = E8.
// Sparse matrices are (row starts, columns, entries) row by row, as compiled._sparse builds them.

#ifdef QMM_CUDA
#define QMM_DEVICE __device__ __forceinline__
#define QMM_KERNEL extern "C" __global__ void
#define QMM_FOR_EACH(b, count)                                      \
    long long b = (long long)blockIdx.x * blockDim.x + threadIdx.x; \
    if (b < (count))
#else
#include <math.h>
#define QMM_DEVICE static inline
#define QMM_KERNEL extern "C" void
#define QMM_FOR_EACH(b, count) for (long long b = 0; b < (count); ++b)
#endif

typedef unsigned long long u64;
typedef long long i64;

#define QMM_Z 0
#define QMM_A2 1
#define QMM_D4 2
#define QMM_E8 3

// float(np.sqrt(3.0)), the double nearest √3
#define QMM_SQRT3 1.7320508075688772

// ---- the counter-based generator (counter_random.hash64, numba_kernels._finalize) ----------

QMM_DEVICE u64 qmm_finalize(u64 h) {
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
    return h ^ (h >> 31);
}

// ---- closest points (lattices._round_z, _round_d, _round_e8, _round_a2) ---------------------

QMM_DEVICE bool qmm_is_odd(double s) { return floor(s * 0.5) * 2.0 != s; }

// D_d's parity fix on f[0:d], error[0:d]: the worst index, the step and the squared distance.
QMM_DEVICE void qmm_parity(const double* f, const double* error, int d, int* worst_out,
                           double* step_out, double* total_out) {
    int worst = 0;
    double largest = fabs(error[0]);
    for (int i = 1; i < d; ++i) {
        double magnitude = fabs(error[i]);
        if (magnitude > largest) {
            largest = magnitude;
            worst = i;
        }
    }
    double worst_error = error[worst];
    double total_f = 0.0;
    for (int i = 0; i < d; ++i) total_f += f[i];  // integers far below 2^53: exact
    bool odd = qmm_is_odd(total_f);
    double step = (worst_error >= 0 ? 1.0 : -1.0) * (odd ? 1.0 : 0.0);
    double total = error[0] * error[0];
    for (int i = 1; i < d; ++i) total = total + error[i] * error[i];
    if (odd) total = total + (1.0 - 2.0 * fabs(worst_error));
    *worst_out = worst;
    *step_out = step;
    *total_out = total;
}

// D_d of x[0:d] into out[0:d], computed in double (lattices._round_d): round every entry; where
// the sum is odd, move the worst-rounded entry (the first of the largest errors) the other way.
// Two passes, the rounding recomputed, so no scratch array of length d.
template <typename In, typename Out>
QMM_DEVICE void qmm_closest_d(const In* x, int d, Out* out) {
    int worst = 0;
    double largest = 0.0, worst_error = 0.0, total_f = 0.0;
    for (int i = 0; i < d; ++i) {
        double xi = (double)x[i];
        double f = rint(xi);
        double error = xi - f;
        if (i == 0 || fabs(error) > largest) {
            largest = fabs(error);
            worst = i;
            worst_error = error;
        }
        total_f += f;  // integers far below 2^53: exact
    }
    double step = (worst_error >= 0 ? 1.0 : -1.0) * (qmm_is_odd(total_f) ? 1.0 : 0.0);
    for (int i = 0; i < d; ++i) out[i] = (Out)(rint((double)x[i]) + (i == worst ? 1.0 : 0.0) * step);
}

// E8 of x[0:8] into out[0:8]: D8 and D8 + 1/2, the nearer (D8 on ties).
QMM_DEVICE void qmm_closest_e8(const double* x, double* out) {
    double f1[8], e1[8], f2[8], e2[8];
    for (int i = 0; i < 8; ++i) {
        f1[i] = rint(x[i]);
        e1[i] = x[i] - f1[i];
        double rounded = floor(x[i]);
        double err = (x[i] - rounded) - 0.5;
        if (err == -0.5 && qmm_is_odd(rounded)) {  // lattices._rounded_minus_half's tie
            rounded = rounded - 1.0;
            err = 0.5;
        }
        f2[i] = rounded;
        e2[i] = err;
    }
    int worst1, worst2;
    double step1, step2, distance1, distance2;
    qmm_parity(f1, e1, 8, &worst1, &step1, &distance1);
    qmm_parity(f2, e2, 8, &worst2, &step2, &distance2);
    bool second = distance2 < distance1;
    int worst = second ? worst2 : worst1;
    double step = second ? step2 : step1;
    for (int i = 0; i < 8; ++i) {
        double base = second ? f2[i] + 0.5 : f1[i];
        out[i] = base + (i == worst ? 1.0 : 0.0) * step;
    }
}

// A2 of x[0:2]: the point into p[0:2] and its integer coordinates into c[0:2].
QMM_DEVICE void qmm_a2(const double* x, double* p, i64* c) {
    double x0 = x[0], x1 = x[1];
    double v = x1 / QMM_SQRT3;
    double m1 = rint(x0), k1 = rint(v);
    double m2 = rint(x0 - 0.5), k2 = rint(v - 0.5);
    double p0 = m1, p1 = QMM_SQRT3 * k1;
    double s0 = m2 + 0.5, s1 = QMM_SQRT3 * (k2 + 0.5);
    double d_first = (x0 - p0) * (x0 - p0) + (x1 - p1) * (x1 - p1);
    double d_second = (x0 - s0) * (x0 - s0) + (x1 - s1) * (x1 - s1);
    if (d_second < d_first) {
        i64 m = (i64)m2, k = (i64)k2;
        p[0] = s0;
        p[1] = s1;
        c[0] = m - k;
        c[1] = 2 * k + 1;
    } else {
        i64 m = (i64)m1, k = (i64)k1;
        p[0] = p0;
        p[1] = p1;
        c[0] = m - k;
        c[1] = 2 * k;
    }
}

// The closest point of each sub-block of the 8-block x, into out (numba_kernels._closest).
QMM_DEVICE void qmm_closest(int lattice, const double* x, double* out) {
    if (lattice == QMM_E8) {
        qmm_closest_e8(x, out);
    } else if (lattice == QMM_D4) {
        qmm_closest_d(x, 4, out);
        qmm_closest_d(x + 4, 4, out + 4);
    } else if (lattice == QMM_A2) {
        i64 c[2];
        for (int first = 0; first < 8; first += 2) qmm_a2(x + first, out + first, c);
    } else {
        for (int i = 0; i < 8; ++i) out[i] = rint(x[i]);
    }
}

QMM_DEVICE i64 qmm_floor_divide(i64 a, i64 b) {  // Python's a // b for b > 0
    i64 quotient = a / b;
    return (a % b != 0 && a < 0) ? quotient - 1 : quotient;
}

QMM_DEVICE i64 qmm_modulo(i64 a, i64 b) {  // Python's a % b for b > 0
    i64 r = a % b;
    return r < 0 ? r + b : r;
}

// Integer coordinates of the closest point of each sub-block (numba_kernels._coordinates);
// the point itself into point (except for A2).
QMM_DEVICE void qmm_coordinates(int lattice, const double* x, const i64* inv_starts,
                                const i64* inv_columns, const i64* inv_entries, int d,
                                i64* coordinates, double* point) {
    if (lattice == QMM_A2) {
        double p[2];
        for (int first = 0; first < 8; first += 2) qmm_a2(x + first, p, coordinates + first);
        return;
    }
    qmm_closest(lattice, x, point);
    for (int first = 0; first < 8; first += d) {
        for (int i = 0; i < d; ++i) {
            i64 total = 0;  // integers: exact in any order
            for (i64 n = inv_starts[i]; n < inv_starts[i + 1]; ++n)
                total += (i64)rint(2 * point[first + inv_columns[n]]) * inv_entries[n];
            coordinates[first + i] = qmm_floor_divide(total, 4);
        }
    }
}

// G·c on each sub-block, the non-zero terms summed left to right (VoronoiCode._generate).
QMM_DEVICE void qmm_generate(const i64* starts, const i64* columns, const double* entries, int d,
                             const double* c, double* out) {
    for (int first = 0; first < 8; first += d) {
        for (int i = 0; i < d; ++i) {
            double total = c[first + columns[starts[i]]] * entries[starts[i]];
            for (i64 n = starts[i] + 1; n < starts[i + 1]; ++n)
                total = total + c[first + columns[n]] * entries[n];
            out[first + i] = total;
        }
    }
}

// The dither of one scale block: z = v − Q(v), v = G·u, u from 8 hashes of the block index.
QMM_DEVICE void qmm_dither(int lattice, const i64* starts, const i64* columns,
                           const double* entries, int d, u64 base, i64 block, double* z) {
    double u[8], v[8];
    u64 h0 = qmm_finalize((u64)block ^ base);
    for (int i = 0; i < 8; ++i) {
        u64 h = qmm_finalize((h0 + 0x9E3779B97F4A7C15ULL) ^ (u64)i);
        u[i] = (double)(h >> 11) * 1.1102230246251565e-16;  // 2^-53
    }
    qmm_generate(starts, columns, entries, d, u, v);
    qmm_closest(lattice, v, z);
    for (int i = 0; i < 8; ++i) z[i] = v[i] - z[i];
}

QMM_DEVICE bool qmm_has_zero(const double* z) {
    for (int i = 0; i < 8; ++i)
        if (z[i] == 0.0) return true;
    return false;
}

// The decoder on coordinates (numba_kernels._decode_block): t̂'s coordinates into coordinates
// and t̂ − z into value.
QMM_DEVICE void qmm_decode_block(int lattice, const i64* starts, const i64* columns,
                                 const double* entries, const i64* inv_starts,
                                 const i64* inv_columns, const i64* inv_entries, int d, i64 q,
                                 const i64* codes, const double* z, i64* coordinates,
                                 double* value) {
    double c[8], y[8], wrapped_point[8];
    i64 wrapped[8];
    for (int i = 0; i < 8; ++i) c[i] = (double)codes[i];
    qmm_generate(starts, columns, entries, d, c, y);
    for (int i = 0; i < 8; ++i) y[i] = (y[i] - z[i]) / q;
    qmm_coordinates(lattice, y, inv_starts, inv_columns, inv_entries, d, wrapped, wrapped_point);
    for (int i = 0; i < 8; ++i) {
        coordinates[i] = codes[i] - q * wrapped[i];
        c[i] = (double)coordinates[i];
    }
    qmm_generate(starts, columns, entries, d, c, value);
    for (int i = 0; i < 8; ++i) value[i] = value[i] - z[i];
}

// The decoder on points (numba_kernels._decode_point, E8/D4/Z and a dither with no zero
// entry): t̂ = G·c − q·Q((G·c − z)/q) into point. Exact, so the same point as qmm_decode_block.
QMM_DEVICE void qmm_decode_point(int lattice, const i64* starts, const i64* columns,
                                 const double* entries, int d, i64 q, const i64* codes,
                                 const double* z, double* point) {
    double y[8], wrapped_point[8];
    for (int i = 0; i < 8; ++i) y[i] = (double)codes[i];
    qmm_generate(starts, columns, entries, d, y, point);
    for (int i = 0; i < 8; ++i) y[i] = (point[i] - z[i]) / q;
    qmm_closest(lattice, y, wrapped_point);
    for (int i = 0; i < 8; ++i) point[i] = point[i] - q * wrapped_point[i];
}

// VoronoiCode.encode_at_scale of one block (numba_kernels._encode_block): codes and t − z into
// codes and value; whether it decodes to t (no overload).
QMM_DEVICE bool qmm_encode_block(int lattice, const i64* starts, const i64* columns,
                                 const double* entries, const i64* inv_starts,
                                 const i64* inv_columns, const i64* inv_entries, int d, i64 q,
                                 double bound, const double* x, double beta, const double* z,
                                 i64* codes, double* value) {
    double v[8], point[8], decoded_point[8];
    i64 coordinates[8], decoded[8];
    bool outside = false;
    for (int i = 0; i < 8; ++i) {
        v[i] = x[i] / beta + z[i];
        if (fabs(v[i]) > bound) outside = true;
    }
    if (outside)
        for (int i = 0; i < 8; ++i) v[i] = 0.0;
    qmm_coordinates(lattice, v, inv_starts, inv_columns, inv_entries, d, coordinates, point);
    for (int i = 0; i < 8; ++i) codes[i] = qmm_modulo(coordinates[i], q);
    if (lattice != QMM_A2 && !qmm_has_zero(z)) {  // the overload check on points
        if (outside) return false;
        qmm_decode_point(lattice, starts, columns, entries, d, q, codes, z, decoded_point);
        for (int i = 0; i < 8; ++i)
            if (decoded_point[i] != point[i]) return false;
        for (int i = 0; i < 8; ++i) value[i] = point[i] - z[i];
        return true;
    }
    qmm_decode_block(lattice, starts, columns, entries, inv_starts, inv_columns, inv_entries, d,
                     q, codes, z, decoded, value);
    if (outside) return false;
    for (int i = 0; i < 8; ++i)
        if (decoded[i] != coordinates[i]) return false;
    return true;
}

// ---- kernels: one scale block (or one row) each -----------------------------------------------

#define QMM_CLOSEST_POINT(NAME, T)                                                            \
    QMM_KERNEL NAME(int lattice, const T* x, T* out, int d, i64 count) {                      \
        QMM_FOR_EACH(b, count) {                                                             \
            const T* row = x + b * d;                                                        \
            T* target = out + b * d;                                                         \
            if (lattice == QMM_E8) {                                                         \
                double r[8], p[8];                                                           \
                for (int i = 0; i < 8; ++i) r[i] = (double)row[i];                           \
                qmm_closest_e8(r, p);                                                        \
                for (int i = 0; i < 8; ++i) target[i] = (T)p[i];                             \
            } else if (lattice == QMM_A2) {                                                  \
                double r[2] = {(double)row[0], (double)row[1]}, p[2];                        \
                i64 c[2];                                                                    \
                qmm_a2(r, p, c);                                                             \
                target[0] = (T)p[0];                                                         \
                target[1] = (T)p[1];                                                         \
            } else if (lattice == QMM_D4) { /* D_d, any d */                               \
                qmm_closest_d(row, d, target);                                               \
            } else {                                                                         \
                for (int i = 0; i < d; ++i) target[i] = (T)rint((double)row[i]);             \
            }                                                                                \
        }                                                                                    \
    }

QMM_CLOSEST_POINT(closest_point_float32, float)
QMM_CLOSEST_POINT(closest_point_float64, double)

// VoronoiCode.dither (N, 8) of the blocks block_index.
QMM_KERNEL dither(int lattice, const i64* starts, const i64* columns, const double* entries,
                  int d, u64 base, const i64* block_index, double* z, i64 count) {
    QMM_FOR_EACH(b, count) {
        qmm_dither(lattice, starts, columns, entries, d, base, block_index[b], z + 8 * b);
    }
}

// VoronoiCode.encode (numba_kernels.encode): first fit when has_chosen is 0, else each block at
// scale chosen[b]; codes (uint16), scale_index (uint8; k = overloaded) and values (t − z; 0
// where overloaded).
QMM_KERNEL encode(int lattice, const i64* starts, const i64* columns, const double* entries,
                  const i64* inv_starts, const i64* inv_columns, const i64* inv_entries, int d,
                  i64 q, double bound, u64 base, const double* betas, int k, const double* x,
                  const i64* block_index, const i64* chosen, int has_chosen,
                  unsigned short* codes, unsigned char* scale_index, double* values, i64 count) {
    QMM_FOR_EACH(b, count) {
        double z[8];
        i64 block_codes[8];
        double* value = values + 8 * b;
        qmm_dither(lattice, starts, columns, entries, d, base, block_index[b], z);
        int index = k;
        int first = has_chosen ? (int)chosen[b] : 0;
        int last = has_chosen ? first + 1 : k;
        for (int j = first; j < last; ++j) {
            if (qmm_encode_block(lattice, starts, columns, entries, inv_starts, inv_columns,
                                 inv_entries, d, q, bound, x + 8 * b, betas[j], z, block_codes,
                                 value)) {
                index = j;
                break;
            }
        }
        if (index == k) {
            for (int i = 0; i < 8; ++i) {
                value[i] = 0.0;
                if (!has_chosen) block_codes[i] = 0;
            }
        }
        for (int i = 0; i < 8; ++i) codes[8 * b + i] = (unsigned short)block_codes[i];
        scale_index[b] = (unsigned char)index;
    }
}

// VoronoiCode.decode_at_scale with the dither of block_index: β·(t̂ − z) into out.
QMM_KERNEL decode(int lattice, const i64* starts, const i64* columns, const double* entries,
                  const i64* inv_starts, const i64* inv_columns, const i64* inv_entries, int d,
                  i64 q, u64 base, const unsigned short* codes, const double* beta,
                  const i64* block_index, double* out, i64 count) {
    QMM_FOR_EACH(b, count) {
        double z[8], point[8];
        i64 block_codes[8], coordinates[8];
        double* value = out + 8 * b;
        qmm_dither(lattice, starts, columns, entries, d, base, block_index[b], z);
        for (int i = 0; i < 8; ++i) block_codes[i] = (i64)codes[8 * b + i];
        if (lattice != QMM_A2 && !qmm_has_zero(z)) {
            qmm_decode_point(lattice, starts, columns, entries, d, q, block_codes, z, point);
            for (int i = 0; i < 8; ++i) value[i] = (point[i] - z[i]) * beta[b];
        } else {
            qmm_decode_block(lattice, starts, columns, entries, inv_starts, inv_columns,
                             inv_entries, d, q, block_codes, z, coordinates, value);
            for (int i = 0; i < 8; ++i) value[i] = value[i] * beta[b];
        }
    }
}

// VoronoiCode.safe_scale_index: the first j at which Q(x/(β_j(q − 1))) = 0 on every sub-block
// with no entry beyond bound; k if none.
QMM_KERNEL safe_scale_index(int lattice, i64 q, double bound, const double* betas, int k,
                            const double* x, unsigned char* out, i64 count) {
    QMM_FOR_EACH(b, count) {
        double scaled[8], point[8];
        int index = k;
        for (int j = 0; j < k; ++j) {
            double divisor = betas[j] * (double)(q - 1);
            bool outside = false;
            for (int i = 0; i < 8; ++i) {
                scaled[i] = x[8 * b + i] / divisor;
                if (fabs(scaled[i]) > bound) outside = true;
            }
            if (outside) continue;
            qmm_closest(lattice, scaled, point);
            bool inside = true;
            for (int i = 0; i < 8; ++i)
                if (point[i] != 0) inside = false;
            if (inside) {
                index = j;
                break;
            }
        }
        out[b] = (unsigned char)index;
    }
}
