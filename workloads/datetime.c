/* Timestamps as traces write them, to integer nanoseconds since the Unix epoch (UTC). */
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>

#include "wl.h"

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, size_t len, size_t *i, int n, int *out)
{
    int v = 0;
    for (int k = 0; k < n; k++) {
        if (*i >= len || !isdigit((unsigned char)s[*i])) return -1;
        v = v * 10 + (s[(*i)++] - '0');
    }
    *out = v;
    return 0;
}

static int expect(const char *s, size_t len, size_t *i, char c)
{
    if (*i >= len || s[*i] != c) return -1;
    (*i)++;
    return 0;
}

int wl_parse_datetime(const char *s, size_t len, int64_t *ns)
{
    size_t i = 0;
    int y, mo, d, h, mi, se;
    if (digits(s, len, &i, 4, &y) || expect(s, len, &i, '-') || digits(s, len, &i, 2, &mo) ||
        expect(s, len, &i, '-') || digits(s, len, &i, 2, &d))
        return -1;
    if (i >= len || (s[i] != ' ' && s[i] != 'T')) return -1;
    i++;
    if (digits(s, len, &i, 2, &h) || expect(s, len, &i, ':') || digits(s, len, &i, 2, &mi) ||
        expect(s, len, &i, ':') || digits(s, len, &i, 2, &se))
        return -1;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 ||
        se > 60)
        return -1;
    /* nanoseconds since 1970 fit in 64 bits for years 1678 to 2261 only */
    if (y < 1678 || y > 2261) return -1;
    int64_t frac = 0;
    if (i < len && s[i] == '.') {
        i++;
        int nd = 0;
        while (i < len && isdigit((unsigned char)s[i])) {
            if (nd < 9) frac = frac * 10 + (s[i] - '0');
            nd++;
            i++;
        }
        if (nd == 0) return -1;
        for (; nd < 9; nd++) frac *= 10;
    }
    int64_t offset_s = 0;
    if (i < len && s[i] == 'Z') {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i++] == '-' ? -1 : 1, oh, om;
        if (digits(s, len, &i, 2, &oh)) return -1;
        if (i < len && s[i] == ':') i++;
        if (digits(s, len, &i, 2, &om) || oh > 23 || om > 59) return -1;
        offset_s = sign * (oh * 3600 + om * 60);
    }
    if (i != len) return -1;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset_s;
    *ns = secs * INT64_C(1000000000) + frac;
    return 0;
}
