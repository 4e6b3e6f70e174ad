/*
 * fs_time.h — simulated time: integer nanoseconds, one resolution everywhere.
 *
 * fs_time is signed so that differences are plain subtraction; simulated instants are >= 0.
 * Floating point appears only at the edges: parsing a scenario (seconds or milliseconds) and
 * printing a result. Never compare times with an epsilon.
 */
#ifndef FS_TIME_H
#define FS_TIME_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

typedef int64_t fs_time;

#define FS_NS_PER_US INT64_C(1000)
#define FS_NS_PER_MS INT64_C(1000000)
#define FS_NS_PER_S INT64_C(1000000000)
#define FS_TIME_MAX INT64_MAX

/* Largest span accepted from user input: 100 years, far inside int64 nanoseconds (292 years),
 * so sums of a few such spans cannot overflow. */
#define FS_TIME_INPUT_MAX_S (100.0 * 365.25 * 86400.0)

/* Round seconds (or milliseconds) to nanoseconds. Callers validate the range first. */
static inline fs_time fs_time_from_s(double s) { return (fs_time)llround(s * 1e9); }
static inline fs_time fs_time_from_ms(double ms) { return (fs_time)llround(ms * 1e6); }
static inline double fs_time_to_s(fs_time t) { return (double)t / 1e9; }
static inline double fs_time_to_ms(fs_time t) { return (double)t / 1e6; }

#endif
