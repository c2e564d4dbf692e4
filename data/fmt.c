/* fmt.c: times and durations for people (fmt.h). */
#include "fmt.h"

#include <stdio.h>
#include <time.h>

const char *fmt_time(double t, char *buf, size_t cap) {
    if (!(t > -1e12 && t < 1e12)) return "-"; /* NaN, or a damaged value no time_t can hold */
    time_t tt = (time_t)t;
    struct tm tm;
    if (!localtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M", &tm)) return "-";
    return buf;
}

const char *fmt_dur(double s, char *buf, size_t cap) {
    if (!(s >= 0)) return "-";
    if (s >= 1e12) { /* too long for whole seconds in a long long: say it as it is */
        snprintf(buf, cap, "%.3gs", s);
        return buf;
    }
    long long n = (long long)(s + 0.5);
    if (n >= 3600) snprintf(buf, cap, "%lldh%02lldm", n / 3600, n / 60 % 60);
    else if (n >= 60) snprintf(buf, cap, "%lldm%02llds", n / 60, n % 60);
    else snprintf(buf, cap, "%.1fs", s);
    return buf;
}
