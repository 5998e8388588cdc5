#!/usr/bin/env python3
"""Differential oracle for the StationConfig TOML 1.0 reader.

Generates random TOML documents (about half valid, half broken) and records
the verdict of Python's tomllib for each one, in toml-test style tagged JSON.

    python3 toml_oracle.py --seed 7 --count 3000 OUTDIR

Writes OUTDIR/NNNNN.toml (raw bytes) and OUTDIR/expected.jsonl, one JSON
object per file in file order:
    {"file": "00001.toml", "ok": true,  "value": TAGGED}
    {"file": "00002.toml", "ok": false, "error": "..."}

Verdict: strict UTF-8 decode (failure -> ok:false), then tomllib.loads.
Deliberate divergence from tomllib: any integer outside the signed 64-bit
range makes the document ok:false with error "integer out of 64-bit range".

TAGGED: table -> JSON object of tagged values; array -> JSON array of tagged
values; scalar -> {"type": T, "value": S}:
    string          the string itself
    integer         decimal text ("-17")
    float           repr(float), but "nan" for any NaN, "inf", "-inf"
    bool            "true" / "false"
    datetime        YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM (always 6 digits, Z -> +00:00)
    datetime-local  YYYY-MM-DDTHH:MM:SS.ffffff
    date-local      YYYY-MM-DD
    time-local      HH:MM:SS.ffffff

Standard library only; deterministic for a given seed.
"""

import argparse
import datetime
import json
import math
import os
import random
import re
import sys
import time
import tomllib

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

# --------------------------------------------------------------------------
# Judging and tagging
# --------------------------------------------------------------------------


def _has_big_int(v):
    if isinstance(v, dict):
        return any(_has_big_int(x) for x in v.values())
    if isinstance(v, list):
        return any(_has_big_int(x) for x in v)
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return not (INT64_MIN <= v <= INT64_MAX)
    return False


def _fmt_time(h, m, s, us):
    return "%02d:%02d:%02d.%06d" % (h, m, s, us)


def _fmt_date(d):
    return "%04d-%02d-%02d" % (d.year, d.month, d.day)


def tag(v):
    if isinstance(v, dict):
        return {k: tag(x) for k, x in v.items()}
    if isinstance(v, list):
        return [tag(x) for x in v]
    if isinstance(v, bool):
        return {"type": "bool", "value": "true" if v else "false"}
    if isinstance(v, int):
        return {"type": "integer", "value": str(v)}
    if isinstance(v, float):
        if math.isnan(v):
            s = "nan"
        elif math.isinf(v):
            s = "inf" if v > 0 else "-inf"
        else:
            s = repr(v)
        return {"type": "float", "value": s}
    if isinstance(v, str):
        return {"type": "string", "value": v}
    if isinstance(v, datetime.datetime):  # before date: datetime is a date
        base = _fmt_date(v) + "T" + _fmt_time(v.hour, v.minute, v.second, v.microsecond)
        off = v.utcoffset()
        if off is None:
            return {"type": "datetime-local", "value": base}
        secs = int(off.total_seconds())
        sign = "-" if secs < 0 else "+"
        secs = abs(secs)
        return {"type": "datetime",
                "value": base + "%s%02d:%02d" % (sign, secs // 3600, (secs % 3600) // 60)}
    if isinstance(v, datetime.date):
        return {"type": "date-local", "value": _fmt_date(v)}
    if isinstance(v, datetime.time):
        return {"type": "time-local", "value": _fmt_time(v.hour, v.minute, v.second, v.microsecond)}
    raise TypeError("unexpected value type %r" % type(v))


def judge(data):
    """Return (ok, tagged_value_or_error_message)."""
    try:
        s = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        return False, "invalid UTF-8: %s" % e
    try:
        v = tomllib.loads(s)
    except tomllib.TOMLDecodeError as e:
        return False, str(e)
    except Exception as e:  # should not happen; recorded so it is visible
        return False, "python exception %s: %s" % (type(e).__name__, e)
    if _has_big_int(v):
        return False, "integer out of 64-bit range"
    return True, tag(v)


# --------------------------------------------------------------------------
# Document model used by the valid generator (keeps keys/tables consistent)
# --------------------------------------------------------------------------


class Tab:
    """A table. kind: root | hdr (explicit [x]) | implicit | dotted."""
    __slots__ = ("kids", "kind")

    def __init__(self, kind):
        self.kids = {}   # decoded key -> Tab | Aot | "V"
        self.kind = kind


class Aot:
    """An array of tables created by [[x]]."""
    __slots__ = ("elems",)

    def __init__(self):
        self.elems = []


BARE_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
BARE_SET = frozenset(BARE_CHARS)
BARE_WEIGHTED = "abcdefghijklmnopqrstuvwxyz" * 3 + "ABCXYZ" + "0123456789" + "__--"
BARE_POOL = ["a", "b", "c", "key", "bare_key", "bare-key", "x1", "1234", "0", "1",
             "2", "-", "_", "-_-", "true", "false", "inf", "nan", "A", "Z9", "3e5",
             "0x10", "-1", "1979-05-27", "name", "port", "server", "title", "owner"]
QUOTED_POOL = ["", " ", "a b", "é", "中文", "😀", "a.b", "[x]", "#", "=", "'", '"',
               "\\", "\t", "\n", "key with \"quotes\"", "inf", "1.2", "true",
               "ʎǝʞ", "\u0000", "\x7f", "tab\there", "[[a]", "a]", "=b", "#c",
               "\U0001F600x", "\u00e9t\u00e9"]

PLAIN_ATOMS = list("abcxyzABC019 _-.,:;!?/+*()@$%&~`^|<>") + [
    "é", "ü", "ß", "Ω", "中", "文", "😀", "🎉", "\u00a0", "\u2028", "\ufeff", "ñ"]
SPECIAL_ATOMS = ['"', '"', "\\", "'", "'", "#", "=", "[", "]", "{", "}", "\t",
                 "\n", "\r", "\b", "\f", "\x00", "\x1f", "\x7f", "\x1b", '""', "''"]
SNIPPETS = ["[a.]", "[[a]", "[", "[ ", "[[", "[]", "[[]]", "[a]]", "[.a]",
            "# not a comment", 'k = "v"', '"""', "'''", "\\n", "\\u00e9",
            "${x}", "C:\\path\\to", "a = 1", "\\", "1979-05-27T07:32:00Z"]
COMMENT_ATOMS = list("abc xyz ABC 0123 _-.,:;!?/=+") + [
    "é", "中", "😀", "\t", "#", '"', "'", '"""', "'''", "[a.]", "[[a]", "[",
    "[]", "[[]]", "[a]]", "[.a]", "{", "}", "a = 1", "\\", "\\u12", "\u2028"]

CRASH_SHAPES = ["[", "[ ", "[[", "[.a]", "[a.]", "[]", "[[]]", "[a]]", "[[a]"]

SHORT_ESC = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r",
             '"': '\\"', "\\": "\\\\"}


def _is_ctrl(ch):
    o = ord(ch)
    return o < 0x20 or o == 0x7F


class Gen:
    def __init__(self, rng):
        self.r = rng
        self.uniq = 0

    # ---- small helpers ---------------------------------------------------
    def ws(self, p=0.5):
        if self.r.random() >= p:
            return ""
        return self.r.choice([" ", " ", "  ", "\t", " \t", "\t ", "    "])

    def comment(self):
        r = self.r
        return "#" + "".join(r.choice(COMMENT_ATOMS) for _ in range(r.randint(0, 10)))

    def trail(self):
        """Trailing whitespace and/or comment at the end of a line."""
        s = self.ws(0.3)
        if self.r.random() < 0.25:
            s += self.ws(0.7) + self.comment()
        if self.r.random() < 0.1:
            s += self.r.choice([" ", "\t", "  \t"])   # trailing ws after comment
        return s

    def deco(self):
        """Blank lines / comment-only lines."""
        out = []
        r = self.r
        for _ in range(r.choice([0, 0, 0, 1, 1, 2])):
            c = r.random()
            if c < 0.4:
                out.append("")
            elif c < 0.55:
                out.append(self.ws(1.0))
            else:
                out.append(self.ws(0.3) + self.comment())
        return out

    def hexcase(self, s):
        c = self.r.random()
        if c < 0.4:
            return s.upper()
        if c < 0.8:
            return s.lower()
        return "".join(self.r.choice((ch.upper(), ch.lower())) for ch in s)

    def uesc(self, o):
        if o > 0xFFFF or self.r.random() < 0.3:
            return "\\U" + self.hexcase("%08X" % o)
        return "\\u" + self.hexcase("%04X" % o)

    def underscores(self, digits):
        if len(digits) < 2 or self.r.random() < 0.65:
            return digits
        p = self.r.choice([0.15, 0.3, 0.6])
        out = [digits[0]]
        for d in digits[1:]:
            if self.r.random() < p:
                out.append("_")
            out.append(d)
        return "".join(out)

    # ---- text / strings --------------------------------------------------
    def rand_text(self, lo=0, hi=12):
        r = self.r
        parts = []
        for _ in range(r.randint(lo, hi)):
            c = r.random()
            if c < 0.62:
                parts.append(r.choice(PLAIN_ATOMS))
            elif c < 0.88:
                parts.append(r.choice(SPECIAL_ATOMS))
            else:
                parts.append(r.choice(SNIPPETS))
        return "".join(parts)

    def enc_basic(self, s):
        r = self.r
        out = []
        for ch in s:
            o = ord(ch)
            if r.random() < 0.06:
                out.append(self.uesc(o))
            elif ch == "\t":
                out.append("\t" if r.random() < 0.5 else "\\t")
            elif ch in SHORT_ESC:
                out.append(SHORT_ESC[ch])
            elif _is_ctrl(ch):
                out.append(self.uesc(o))
            else:
                out.append(ch)
        return '"' + "".join(out) + '"'

    @staticmethod
    def enc_literal(s):
        for ch in s:
            if ch == "'" or (_is_ctrl(ch) and ch != "\t"):
                return None
        return "'" + s + "'"

    def line_continuation(self):
        r = self.r
        s = "\\" + self.ws(0.3) + "\n"
        for _ in range(r.choice([0, 0, 1, 2])):
            s += self.ws(0.6) + "\n"
        return s + self.ws(0.6)

    def enc_ml_basic(self, s):
        r = self.r
        out = ['"""']
        if r.random() < 0.5:
            out.append("\n")          # trimmed newline right after the opener
        run = 0
        for ch in s:
            if ch == '"':
                if run < 2 and r.random() < 0.7:
                    out.append('"')
                    run += 1
                else:
                    out.append('\\"')
                    run = 0
                continue
            run = 0
            o = ord(ch)
            if r.random() < 0.05:
                out.append(self.uesc(o))
            elif ch == "\n":
                out.append("\n" if r.random() < 0.8 else "\\n")
            elif ch == "\t":
                out.append("\t" if r.random() < 0.5 else "\\t")
            elif ch in SHORT_ESC:
                out.append(SHORT_ESC[ch])
            elif _is_ctrl(ch):
                out.append(self.uesc(o))
            else:
                out.append(ch)
            if r.random() < 0.06:
                out.append(self.line_continuation())
        if run == 0 and r.random() < 0.3:
            out.append(r.choice(['"', '""']))     # """" and """"" endings
        elif run == 1 and r.random() < 0.3:
            out.append('"')
        out.append('"""')
        return "".join(out)

    def enc_ml_literal(self, s):
        r = self.r
        run = 0
        for ch in s:
            if ch == "'":
                run += 1
                if run > 2:
                    return None
            else:
                run = 0
                if _is_ctrl(ch) and ch not in "\t\n":
                    return None
        lead = "\n" if r.random() < 0.5 else ""
        tail = ""
        if run == 0 and r.random() < 0.3:
            tail = r.choice(["'", "''"])
        elif run == 1 and r.random() < 0.3:
            tail = "'"
        return "'''" + lead + s + tail + "'''"

    def gen_string(self):
        r = self.r
        s = self.rand_text(0, 12)
        c = r.random()
        enc = None
        if c < 0.2:
            enc = self.enc_literal(s)
            if enc is None:
                enc = self.enc_literal(re.sub(r"[\x00-\x08\x0a-\x1f\x7f']", "x", s))
        elif c < 0.45:
            enc = self.enc_ml_basic(s)
        elif c < 0.6:
            enc = self.enc_ml_literal(s)
            if enc is None:
                enc = self.enc_ml_literal(re.sub(r"[\x00-\x08\x0b-\x1f\x7f']", "y", s))
        return enc if enc is not None else self.enc_basic(s)

    # ---- keys ------------------------------------------------------------
    def rand_name(self):
        r = self.r
        c = r.random()
        if c < 0.45:
            return "".join(r.choice(BARE_WEIGHTED) for _ in range(r.randint(1, 8)))
        if c < 0.7:
            return r.choice(BARE_POOL)
        if c < 0.9:
            return r.choice(QUOTED_POOL)
        return self.rand_text(0, 6)

    def new_key(self, tab):
        for _ in range(8):
            k = self.rand_name()
            if k not in tab.kids:
                return k
        while True:
            self.uniq += 1
            k = "k%d" % self.uniq
            if k not in tab.kids:
                return k

    def key_text(self, name):
        r = self.r
        if name and all(c in BARE_SET for c in name) and r.random() < 0.8:
            return name
        if r.random() < 0.4:
            lit = self.enc_literal(name)
            if lit is not None:
                return lit
        return self.enc_basic(name)

    def dot(self):
        return self.ws(0.25) + "." + self.ws(0.25)

    # ---- scalar values ---------------------------------------------------
    def gen_int(self):
        r = self.r
        c = r.random()
        if c < 0.35:
            n = r.choice([r.randint(0, 9), r.randint(0, 1000), r.randint(0, 10**9),
                          r.randint(0, INT64_MAX)])
            return r.choice(["", "", "-", "+"]) + self.underscores(str(n))
        if c < 0.43:
            return r.choice(["0", "+0", "-0"])
        if c < 0.53:
            return r.choice(["9223372036854775807", "-9223372036854775808",
                             "+9223372036854775807", "9_223_372_036_854_775_807",
                             "-9_223_372_036_854_775_808", "9223372036854775806",
                             "-9223372036854775807", "0x7FFFFFFFFFFFFFFF",
                             "0x7fff_ffff_ffff_ffff", "0o777777777777777777777",
                             "0b" + "1" * 63])
        if c < 0.55:   # just outside int64: ok:false by the divergence rule
            return r.choice(["9223372036854775808", "-9223372036854775809",
                             "0x8000000000000000", "0xffffffffffffffff",
                             "0o1000000000000000000000", "0b1" + "0" * 63,
                             "18446744073709551616", "-99999999999999999999",
                             "+9_223_372_036_854_775_808"])
        n = r.choice([r.randint(0, 255), r.randint(0, 1 << 32), r.randint(0, INT64_MAX)])
        lead = "0" * r.choice([0, 0, 0, 1, 3])
        if c < 0.75:
            return "0x" + self.underscores(lead + self.hexcase("%x" % n))
        if c < 0.88:
            return "0o" + self.underscores(lead + "%o" % n)
        return "0b" + self.underscores(lead + format(n, "b"))

    def gen_float(self):
        r = self.r
        if r.random() < 0.15:
            return r.choice(["inf", "+inf", "-inf", "nan", "+nan", "-nan", "-0.0",
                             "+0.0", "0.0", "-0e0", "0e0", "0E-0", "1e308",
                             "1.7976931348623157e308", "1e309", "-1e309", "5e-324",
                             "1e-400", "2.2250738585072014e-308", "3.14159",
                             "6.626e-34", "1e06", "1E+0_1"])
        sign = r.choice(["", "", "+", "-"])
        ip = "0" if r.random() < 0.3 else str(r.randint(1, 10 ** r.randint(1, 20)))
        ip = self.underscores(ip)
        kind = r.random()
        s = sign + ip
        if kind < 0.75:
            s += "." + self.underscores("".join(r.choice("0123456789")
                                                for _ in range(r.randint(1, 20))))
        if kind > 0.5:
            e = str(r.randint(0, 350))
            if r.random() < 0.2:
                e = "0" + e
            s += r.choice("eE") + r.choice(["", "+", "-"]) + self.underscores(e)
        return s

    def gen_date(self):
        r = self.r
        y = r.choice([r.randint(1, 9999), 1979, 2000, 2024, 1, 9999, 1900])
        m = r.randint(1, 12)
        if m == 2:
            leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
            dmax = 29 if leap else 28
        elif m in (4, 6, 9, 11):
            dmax = 30
        else:
            dmax = 31
        d = r.choice([r.randint(1, dmax), dmax, 1])
        return "%04d-%02d-%02d" % (y, m, d)

    def gen_time(self):
        r = self.r
        s = "%02d:%02d:%02d" % (r.randint(0, 23), r.randint(0, 59),
                                r.choice([r.randint(0, 59), 59, 0]))
        if r.random() < 0.5:
            s += "." + "".join(r.choice("0123456789") for _ in range(r.randint(1, 9)))
        return s

    def gen_offset(self):
        r = self.r
        c = r.random()
        if c < 0.3:
            return r.choice("Zz")
        if c < 0.4:
            return r.choice(["-00:00", "+00:00", "+23:59", "-23:59"])
        return "%s%02d:%02d" % (r.choice("+-"), r.randint(0, 23), r.choice([0, 30, 45, r.randint(0, 59)]))

    def gen_datetime(self):
        r = self.r
        c = r.random()
        sep = r.choice(["T", "T", "t", " "])
        if c < 0.35:
            return self.gen_date() + sep + self.gen_time() + self.gen_offset()
        if c < 0.6:
            return self.gen_date() + sep + self.gen_time()
        if c < 0.8:
            return self.gen_date()
        return self.gen_time()

    # ---- compound values -------------------------------------------------
    def agap(self):
        """Whitespace / newlines / comments allowed inside arrays."""
        r = self.r
        s = self.ws(0.4)
        for _ in range(r.choice([0, 0, 0, 1, 1, 2])):
            if r.random() < 0.35:
                s += self.ws(0.5) + self.comment()
            s += "\n" + self.ws(0.5)
        return s

    def gen_array(self, depth, only_tables=False):
        r = self.r
        n = r.choice([0, 1, 1, 2, 2, 3, 4, 6])
        if only_tables:
            n = max(n, 1)
        s = "["
        for i in range(n):
            v = self.gen_inline(depth + 1) if only_tables else self.gen_value(depth + 1)
            s += self.agap() + v + self.agap()
            if i < n - 1 or r.random() < 0.3:
                s += ","
        return s + self.agap() + "]"

    def gen_inline(self, depth):
        r = self.r
        t = Tab("root")
        dotted = set()
        n = r.choice([0, 1, 1, 2, 3, 4])
        if n == 0:
            return "{" + self.ws(0.5) + "}"
        kvs = [self.gen_keyval(t, dotted, depth + 1) for _ in range(n)]
        sep = [self.ws(0.3) + "," + self.ws(0.7) for _ in range(n - 1)]
        body = kvs[0]
        for a, b in zip(sep, kvs[1:]):
            body += a + b
        return "{" + self.ws(0.6) + body + self.ws(0.6) + "}"

    def gen_value(self, depth=0):
        r = self.r
        c = r.random()
        if depth >= 3:
            c *= 0.75      # scalars only
        if c < 0.25:
            return self.gen_string()
        if c < 0.43:
            return self.gen_int()
        if c < 0.55:
            return self.gen_float()
        if c < 0.61:
            return r.choice(["true", "false"])
        if c < 0.75:
            return self.gen_datetime()
        if c < 0.87:
            return self.gen_array(depth)
        if c < 0.95:
            return self.gen_inline(depth)
        return self.gen_array(depth, only_tables=True)

    def gen_keyval(self, tab, dotted_here, depth=0):
        r = self.r
        n = r.choice([1, 1, 1, 1, 1, 2, 2, 3])
        parts = []
        t = tab
        for _ in range(n - 1):
            cands = [k for k, v in t.kids.items() if isinstance(v, Tab) and id(v) in dotted_here]
            if cands and r.random() < 0.6:
                k = r.choice(cands)
                t = t.kids[k]
            else:
                k = self.new_key(t)
                nt = Tab("dotted")
                t.kids[k] = nt
                dotted_here.add(id(nt))
                t = nt
            parts.append(self.key_text(k))
        k = self.new_key(t)
        t.kids[k] = "V"
        parts.append(self.key_text(k))
        key = parts[0]
        for p in parts[1:]:
            key += self.dot() + p
        return key + self.ws(0.8) + "=" + self.ws(0.8) + self.gen_value(depth)

    # ---- headers and documents -------------------------------------------
    def gen_header(self, root):
        r = self.r
        aot = r.random() < 0.3
        depth = r.choice([1, 1, 2, 2, 3])
        t = root
        parts = []
        for _ in range(depth - 1):
            cands = [k for k, v in t.kids.items()
                     if (isinstance(v, Tab) and v.kind in ("hdr", "implicit", "dotted"))
                     or isinstance(v, Aot)]
            if cands and r.random() < 0.6:
                k = r.choice(cands)
                v = t.kids[k]
                t = v.elems[-1] if isinstance(v, Aot) else v
            else:
                k = self.new_key(t)
                nt = Tab("implicit")
                t.kids[k] = nt
                t = nt
            parts.append(k)
        if aot:
            cands = [k for k, v in t.kids.items() if isinstance(v, Aot)]
            if cands and r.random() < 0.6:
                k = r.choice(cands)
                a = t.kids[k]
            else:
                k = self.new_key(t)
                a = Aot()
                t.kids[k] = a
            target = Tab("hdr")
            a.elems.append(target)
        else:
            cands = [k for k, v in t.kids.items() if isinstance(v, Tab) and v.kind == "implicit"]
            if cands and r.random() < 0.6:     # super-table defined after sub-table
                k = r.choice(cands)
                target = t.kids[k]
                target.kind = "hdr"
            else:
                k = self.new_key(t)
                target = Tab("hdr")
                t.kids[k] = target
        parts.append(k)
        inner = self.key_text(parts[0])
        for p in parts[1:]:
            inner += self.dot() + self.key_text(p)
        inner = self.ws(0.3) + inner + self.ws(0.3)
        text = "[[" + inner + "]]" if aot else "[" + inner + "]"
        return text, target

    def indent(self):
        return self.ws(0.15)

    def gen_doc_text(self, big=True):
        r = self.r
        root = Tab("root")
        lines = []
        lines.extend(self.deco())
        dotted = set()
        for _ in range(r.choice([0, 1, 1, 2, 3, 4, 5] if big else [0, 1, 2])):
            lines.extend(self.deco())
            lines.append(self.indent() + self.gen_keyval(root, dotted) + self.trail())
        for _ in range(r.choice([0, 1, 2, 3, 4, 5, 6] if big else [0, 1, 2])):
            lines.extend(self.deco())
            hdr, tab = self.gen_header(root)
            lines.append(self.indent() + hdr + self.trail())
            dotted = set()
            for _ in range(r.choice([0, 1, 1, 2, 3, 4])):
                lines.extend(self.deco())
                lines.append(self.indent() + self.gen_keyval(tab, dotted) + self.trail())
        lines.extend(self.deco())
        text = "\n".join(lines)
        if r.random() < 0.85 and text:
            text += "\n"
        return text

    def newlines(self, text):
        """Convert LF to CRLF for the whole document or for a random subset."""
        r = self.r
        c = r.random()
        if c < 0.45 or "\n" not in text:
            return text
        if c < 0.7:
            return text.replace("\n", "\r\n")
        pieces = text.split("\n")
        out = [pieces[0]]
        for p in pieces[1:]:
            out.append("\r\n" if r.random() < 0.5 else "\n")
            out.append(p)
        return "".join(out)

    def valid_doc(self, big=True):
        return self.newlines(self.gen_doc_text(big)).encode("utf-8")

    # ---- broken documents ------------------------------------------------
    MUT_ALPHABET = list(b"[]{}=,.\"'#\n\r\t\\ ") + [0x00, 0x7F, 0x1B, 0x08, 0x0B] + list(b"0aZ_-+:eExob")
    BAD_UTF8 = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\xe4\xb8", b"\xf4\x90\x80\x80",
                b"\x80", b"\xfe", b"\xf0\x9f\x98", b"\xc3\x28", b"\xe0\x80\xaf"]

    def mutate(self, data):
        r = self.r
        b = bytearray(data)
        for _ in range(r.choice([1, 1, 1, 2, 3])):
            n = len(b)
            op = r.random()
            pos = r.randint(0, n)
            if op < 0.12 and n:
                del b[min(pos, n - 1)]
            elif op < 0.2 and n:
                ln = r.randint(1, 8)
                del b[pos:pos + ln]
            elif op < 0.38:
                b[pos:pos] = bytes([r.choice(self.MUT_ALPHABET)])
            elif op < 0.52 and n:
                b[min(pos, n - 1)] = r.choice(self.MUT_ALPHABET)
            elif op < 0.6 and n:
                ln = r.randint(1, 12)
                b[pos:pos] = b[pos:pos + ln]
            elif op < 0.68 and n:
                lines = bytes(b).split(b"\n")
                i = r.randrange(len(lines))
                lines.insert(r.randrange(len(lines) + 1), lines[i])
                b = bytearray(b"\n".join(lines))
            elif op < 0.74 and n:
                del b[r.randint(0, n - 1):]
            elif op < 0.84:
                b[pos:pos] = r.choice(self.BAD_UTF8)
            elif op < 0.92:
                lines = bytes(b).split(b"\n")
                lines.insert(r.randrange(len(lines) + 1), r.choice(CRASH_SHAPES).encode())
                b = bytearray(b"\n".join(lines))
            elif op < 0.95:
                b[0:0] = b"\xef\xbb\xbf"          # UTF-8 BOM
            else:
                i = bytes(b).find(b"\r\n", pos)
                if i < 0:
                    i = bytes(b).find(b"\n")
                    if i >= 0:
                        b[i] = 0x0D                # LF -> lone CR
                else:
                    del b[i + 1]                   # CRLF -> lone CR
        return bytes(b)

    STRUCT_ERRORS = [
        "a = 1\na = 2", "a = 1\n\"a\" = 2", "'a' = 1\n\"\\u0061\" = 2", "a.b = 1\na.b = 2",
        "a.b = 1\na = 2", "a = 1\na.b = 2", "[t]\n[t]", "[t]\nx = 1\n[\"t\"]",
        "[t.u]\n[t]\n[t.u]", "a.b = 1\n[a]", "[a]\nb.c = 1\n[a.b]", "x = [1]\n[[x]]",
        "[[x]]\n[x]", "[x]\n[[x]]", "t = {a = 1}\n[t]", "t = {a = 1}\nt.b = 2",
        "t = {a = 1}\n[t.c]", "t = {a = {b = 1}}\n[t.a.c]", "t = {a = 1}\n[[t]]",
        "t = {a = 1, a = 2}", "t = {a.b = 1, a = 2}", "t = {a = 1,}", "t = {a = 1\n}",
        "t = {\na = 1}", "t = {a = 1 b = 2}", "t = {,}", "t = {a}", "a = [1 2]",
        "a = [1,,2]", "a = [,]", "a = [1", "a = [1,\n", "a = 1 b = 2", "a = 1 # ok\nb",
        "a =", "a = # c", "a", "= 1", "\"\" \"\" = 1", "a b = 1", "a. = 1", ".a = 1",
        "a..b = 1", "[a..b]", "a = 1\n[a.b]", "a = 1\n[a]", "[a]\n[a.b]\n[a]",
        "[[a]]\n[a.b]\n[[a.b]]", "[ [a]]", "[[a] ]", "[a b]", "[a]x", "[a] = 1",
        "[a\n]", "[\"a]", "['a]", "ключ = 1", "é = 1", "a = 1\r\nb = 2\rc = 3",
        "# comment\r", "a = \"x\r\"", "a = \"\"\"x\ry\"\"\"", "a = 1\r", "\r",
        "# bad \x7f char", "# nul \x00", "# esc \x1b", "a = 'x\x7f'", "a = \"\x00\"",
        "a = \"\"\"\x1b\"\"\"", "a = '''\x08'''", "a = \"\\x41\"", "a = \"\\u12\"",
        "a = \"\\uD800\"", "a = \"\\uDFFF\"", "a = \"\\U00110000\"", "a = \"\\UFFFFFFFF\"",
        "a = \"\\ \"", "a = \"\\a\"", "a = \"\\e\"", "a = \"\\\"", "a = \"\\U0001F60\"",
        "a = \"\"\"\\x\"\"\"", "a = \"\"\"a\\ b\"\"\"", "\"\\x61\" = 1", "a = \"unterminated",
        "a = 'unterminated", "a = \"line\nbreak\"", "a = 'line\nbreak'", "a = '''x''''''",
        "a = \"\"\"x\"\"\"\"\"\"", "a = \"\"\"abc", "a = '''abc", "a = \"\"\"\"\"\"\"\"",
        "a = '''a'''b", "a = \"a\"b", "a = \"\"\"a\"\"\" \"b\"", "a = true false",
    ]
    BAD_VALUES = [
        "012", "+012", "-012", "00", "0_0", "1.", ".5", "+.5", "-.5", "1e", "1e+", "_1",
        "1_", "1__2", "1_.0", "1._0", "1.0_", "0x", "0x_1", "0x1_", "0X1F", "0B1", "0O7",
        "+0x1", "-0x1", "0b2", "0o8", "0xG", "1e_5", "1.e5", "Inf", "NaN", "INF",
        "+-1", "--1", "++1", "1.2.3", "0.1e", "infinity", "nan1", "1_000_", "0b",
        "1e1.5", "1.5e", "- 1", "1 2", "0x-1", "01.5", "00.5", "-01", "True", "FALSE",
        "tru", "yes", "2021-02-30", "2021-13-01", "2021-00-10", "2021-01-00",
        "2021-02-29", "1900-02-29", "0000-01-01", "25:00:00", "24:00:00", "12:60:00",
        "12:00:60", "23:59:60", "1979-05-27T23:59:60Z", "12:00:61", "1979-05-27T07:32",
        "07:32", "1979-05-27T07:32:00.", "1979-05-27T07:32:00+24:00",
        "1979-05-27T07:32:00+05:60", "1979-05-27T07:32:00+5:00", "1979-05-27T07:32:00Zz",
        "1979-5-27", "79-05-27", "1979-05-27T", "1979-05-27X07:32:00", "1979-05-27T7:32:00",
        "1979-05-27 07:32:00 Z", "1979-05-27T07:32:00-00", "1979-05-27  07:32:00",
        "1979-05-27T07:32:00+0000", "1979-05-27T07:32:00+05:30:00", "7:32:00",
        "1979-05-27T07:32:00.123Zx", "1979/05/27", "12:00:00Z", "12:00:00+01:00",
        "'a' 'b'", "\"a\" \"b\"", "{a = 1", "[1, 2", "=", "", "#", "[1}", "{a = 1]",
    ]

    def targeted(self):
        r = self.r
        if r.random() < 0.6:
            snippet = r.choice(self.STRUCT_ERRORS)
        else:
            bad = r.choice(self.BAD_VALUES)
            form = r.random()
            k = r.choice(["v", "bad", "\"q k\"", "x.y"])
            if form < 0.55:
                snippet = "%s = %s" % (k, bad)
            elif form < 0.75:
                snippet = "%s = [1, %s]" % (k, bad)
            elif form < 0.9:
                snippet = "%s = { a = %s }" % (k, bad)
            else:
                snippet = "%s = [%s,]" % (k, bad)
        where = r.random()
        if where < 0.3:
            text = snippet + ("\n" if r.random() < 0.7 else "")
            return self.newlines(text).encode("utf-8", "surrogatepass")
        base = self.gen_doc_text(big=False)
        if where < 0.6:
            text = snippet + "\n" + base
        else:
            if base and not base.endswith("\n"):
                base += "\n"
            text = base + snippet + ("\n" if r.random() < 0.7 else "")
        return self.newlines(text).encode("utf-8")

    def broken_doc(self):
        r = self.r
        if r.random() < 0.6:
            base = self.valid_doc(big=r.random() < 0.5)
            if not base:
                base = b"a = 1\n"
            return self.mutate(base)
        return self.targeted()


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

_OWN_FILE = re.compile(r"^\d{5,}\.toml$")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Generate TOML test documents with tomllib verdicts.")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("outdir")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    os.makedirs(args.outdir, exist_ok=True)
    for name in os.listdir(args.outdir):           # drop stale files from older runs
        if _OWN_FILE.match(name):
            os.remove(os.path.join(args.outdir, name))

    gen = Gen(random.Random(args.seed))
    width = max(5, len(str(args.count)))
    n_ok = n_fail = 0
    n_intended_valid = n_intended_valid_ok = 0
    with open(os.path.join(args.outdir, "expected.jsonl"), "w", encoding="ascii", newline="\n") as out:
        for i in range(1, args.count + 1):
            if gen.r.random() < 0.5:
                data = gen.valid_doc()
                intended_valid = True
            else:
                data = gen.broken_doc()
                intended_valid = False
            name = "%0*d.toml" % (width, i)
            with open(os.path.join(args.outdir, name), "wb") as f:
                f.write(data)
            ok, res = judge(data)
            rec = {"file": name, "ok": ok}
            rec["value" if ok else "error"] = res
            out.write(json.dumps(rec, ensure_ascii=True) + "\n")
            n_ok += ok
            n_fail += not ok
            if intended_valid:
                n_intended_valid += 1
                n_intended_valid_ok += ok
    dt = time.perf_counter() - t0
    sys.stderr.write("toml_oracle: %d files, %d ok, %d fail (generated-valid: %d/%d ok) in %.2fs\n"
                     % (args.count, n_ok, n_fail, n_intended_valid_ok, n_intended_valid, dt))
    return 0


if __name__ == "__main__":
    sys.exit(main())
