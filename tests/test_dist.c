/* test_dist.c: dist.h in a process that did not join an MPI job (the
 * default build, or an MPI build before dist_init): rank 0 of 1, sums and
 * broadcasts leave their buffers exactly as they are, dist_any is the flag
 * itself; dist_init then dist_finalize make a one-rank job and leave it.
 * The ranks themselves are tests/t_mpi.sh's. */
#include <string.h>

#include "check.h"
#include "dist.h"

int main(void) {
    check_ok(dist_rank() == 0 && dist_size() == 1, "before dist_init: rank 0 of 1 (got %d of %d)", dist_rank(), dist_size());
    float f[3] = {1.5f, -2.0f, 3e-8f}, f0[3];
    double d[2] = {0.1, -7.0}, d0[2];
    memcpy(f0, f, sizeof f), memcpy(d0, d, sizeof d);
    dist_sum_floats(f, 3);
    dist_sum_doubles(d, 2);
    check_ok(!memcmp(f, f0, sizeof f) && !memcmp(d, d0, sizeof d), "one rank: a sum leaves the block as it is");
    unsigned char b[5] = {1, 2, 3, 4, 5};
    dist_bcast(b, sizeof b);
    check_ok(b[0] == 1 && b[4] == 5, "one rank: a broadcast leaves the bytes as they are");
    check_ok(dist_any(0) == 0 && dist_any(7) == 1, "one rank: dist_any is the flag itself");
    Err e;
    int rc = dist_init(&e);
    check_ok(rc == 0, "dist_init without mpirun: %s", rc ? e.msg : "a one-rank job");
    check_ok(dist_rank() == 0 && dist_size() == 1, "after dist_init: rank 0 of 1 (got %d of %d)", dist_rank(), dist_size());
    dist_sum_floats(f, 3);
    check_ok(!memcmp(f, f0, sizeof f), "after dist_init: a sum over one rank leaves the block as it is");
    dist_finalize();
    check_ok(dist_rank() == 0 && dist_size() == 1, "after dist_finalize: rank 0 of 1");
    return check_done();
}
