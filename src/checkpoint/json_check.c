/*
 * json_check.c: whether a text is JSON that cJSON reads, without allocating.
 *
 * cJSON returns NULL both for a syntax error and for a failed allocation, and says
 * which only through global state. When a parse fails, this check tells the two
 * apart: a text it accepts can only have failed for want of memory. It is at least as
 * strict as cJSON 1.7 (the grammar of RFC 8259, plus cJSON's limits: nesting depth,
 * numbers of at most 63 characters, \u escapes that form valid code points), so
 * a malformed header is never reported as out of memory.
 */
#include "checkpoint.h"

#include <string.h>

/* cJSON's CJSON_NESTING_LIMIT and the buffer it copies a number into. */
#define MAX_DEPTH 1000
#define MAX_NUMBER 63

typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_space(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int eat(cursor *c, char ch)
{
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static int digits(cursor *c)
{
    const char *start = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
    return c->p > start;
}

static int number(cursor *c)
{
    const char *start = c->p;
    eat(c, '-');
    if (eat(c, '0')) {
        if (c->p < c->end && *c->p >= '0' && *c->p <= '9') return 0;
    } else if (!digits(c)) {
        return 0;
    }
    if (eat(c, '.') && !digits(c)) return 0;
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (!eat(c, '+')) eat(c, '-');
        if (!digits(c)) return 0;
    }
    return c->p - start <= MAX_NUMBER;
}

/* Four hex digits of a \u escape into *v. */
static int hex4(cursor *c, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++, c->p++) {
        if (c->p >= c->end) return 0;
        char h = *c->p;
        unsigned d = h >= '0' && h <= '9' ? (unsigned)(h - '0')
                     : h >= 'a' && h <= 'f' ? (unsigned)(h - 'a' + 10)
                     : h >= 'A' && h <= 'F' ? (unsigned)(h - 'A' + 10)
                                            : 16u;
        if (d == 16) return 0;
        *v = *v << 4 | d;
    }
    return 1;
}

static int string(cursor *c)
{
    if (!eat(c, '"')) return 0;
    while (c->p < c->end && *c->p != '"') {
        if ((unsigned char)*c->p < 0x20) return 0;
        if (*c->p++ != '\\') continue;
        if (c->p >= c->end) return 0;
        char e = *c->p++;
        if (strchr("\"\\/bfnrt", e) && e) continue;
        unsigned u, low;
        if (e != 'u' || !hex4(c, &u)) return 0;
        if (u >= 0xdc00 && u <= 0xdfff) return 0; /* a low surrogate alone */
        if (u >= 0xd800 && u <= 0xdbff &&
            !(eat(c, '\\') && eat(c, 'u') && hex4(c, &low) && low >= 0xdc00 && low <= 0xdfff))
            return 0;
    }
    return eat(c, '"');
}

static int literal(cursor *c, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n)) return 0;
    c->p += n;
    return 1;
}

static int value(cursor *c, int depth);

/* The members of an object or the elements of an array, after its opening bracket. */
static int members(cursor *c, int depth, char close, int keyed)
{
    if (depth > MAX_DEPTH) return 0;
    skip_space(c);
    if (eat(c, close)) return 1;
    do {
        skip_space(c);
        if (keyed) {
            if (!string(c)) return 0;
            skip_space(c);
            if (!eat(c, ':')) return 0;
        }
        if (!value(c, depth)) return 0;
        skip_space(c);
    } while (eat(c, ','));
    return eat(c, close);
}

static int value(cursor *c, int depth)
{
    skip_space(c);
    if (c->p >= c->end) return 0;
    switch (*c->p) {
    case '{': c->p++; return members(c, depth + 1, '}', 1);
    case '[': c->p++; return members(c, depth + 1, ']', 0);
    case '"': return string(c);
    case 't': return literal(c, "true");
    case 'f': return literal(c, "false");
    case 'n': return literal(c, "null");
    default: return number(c);
    }
}

int dsc__json_valid(const char *text, size_t n)
{
    cursor c = {text, text + n};
    if (!value(&c, 0)) return 0;
    skip_space(&c);
    return c.p == c.end;
}
