"""The cffi declarations of pfring.h, made from pfring.h itself.

pfring.h is the one statement of libpfring's API; the binding reads it at
build time instead of keeping a second copy.  The steps, on the text:

- comments, line continuations and preprocessor lines go, except object-like
  ``#define NAME VALUE``: an integer literal stays (so array sizes are
  known to cffi), a name of such a define is resolved, anything else
  becomes ``#define NAME ...`` (the compiler's value), strings are left out;
- ``__attribute__((...))`` goes, and so does the ``extern "C"`` block;
- array sizes that name a known define get its value;
- every top-level struct and union body, and every tagged one (a packed
  struct nested in another has a tag in pfring.h for this: cffi cannot
  make an anonymous one partial), gets ``...;`` before its end, so
  cffi takes every layout, packed ones included, from the compiler.

The system types pfring.h uses come from decl/system.h; what only the
binding has (helpers.c, the Python callbacks) from decl/helpers.h.
"""
import re


def _strip_attributes(text):
    out, i = [], 0
    while True:
        j = text.find("__attribute__", i)
        if j < 0:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i:j])
        k = text.index("(", j)
        depth = 0
        for m in range(k, len(text)):
            if text[m] == "(":
                depth += 1
            elif text[m] == ")":
                depth -= 1
                if depth == 0:
                    break
        i = m + 1

INT = re.compile(r"^-?(0x[0-9a-fA-F]+|\d+)[uUlL]*$")

def header_cdef(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"\\\n", " ", text)
    lines, values, out = text.split("\n"), {}, []
    for line in lines:
        s = line.strip()
        m = re.match(r"#\s*define\s+(\w+)\s+(.+)$", s)
        if m:
            name, value = m.group(1), m.group(2).strip()
            if value in values:
                value = values[value]
            if INT.match(value):
                values[name] = re.sub(r"[uUlL]+$", "", value)
                out.append(f"#define {name} {values[name]}")
            elif value.startswith('"'):
                continue
            else:
                out.append(f"#define {name} ...")
            continue
        if s.startswith("#"):
            continue
        out.append(line)
    body = "\n".join(out)
    body = body.replace('extern "C" {', "")
    body = _strip_attributes(body)
    # array sizes that name a define: the value when it is known
    body = re.sub(r"\[(\w+)\]", lambda m: f"[{values.get(m.group(1), m.group(1))}]", body)
    # every struct body ends with "...;": the layout is the compiler's
    return _partial_structs(body)

def _partial_structs(body):
    """'...;' before the closing brace of every top-level or tagged struct
    or union body, so cffi takes layouts (packed ones included) from the
    compiler."""
    out, depth, i, kinds = [], 0, 0, []
    for m in re.finditer(r"[{}]", body):
        out.append(body[i:m.start()])
        i = m.end()
        if m.group() == "{":
            head = body[max(0, m.start() - 200):m.start()]
            stmt = re.split(r"[;}]", head)[-1]
            tagged = re.search(r"\b(struct|union)\s+\w+\s*$", stmt)
            kinds.append("struct" if tagged or (depth == 0 and re.search(r"\b(struct|union)\b",
                                                                          stmt))
                         else "other")
            depth += 1
            out.append("{")
        else:
            if depth == 0:        # the extern "C" block's end
                continue
            depth -= 1
            if kinds.pop() == "struct":
                out.append("...; }")
            else:
                out.append("}")
    out.append(body[i:])
    return "".join(out)

