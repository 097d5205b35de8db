#!/usr/bin/env python3
"""Writes forwarding_backend.hpp from the ops declared in llm/backend/backend.hpp.

  scripts/gen_forwarding_backend.py OUTPUT

The build runs it (llm/CMakeLists.txt) whenever backend.hpp or this script changes, and writes
<build>/generated/llm/backend/forwarding_backend.hpp, included as "llm/backend/forwarding_backend.hpp".

An op is every pure virtual member function declared below the line "// ==== the ops" in
backend.hpp. For each one the header gets an override that hands the call to the wrapper:
  wrapper.forward_op("<op>", &Backend::<op>, &Backend::check_<op>, <the op's arguments>)
so a wrapper (llm/backend/profiling_backend.hpp, tests/bf16_emulation_backend.hpp) receives every op,
present and future, through one template. A const member function (a query such as
attention_state_shape) is answered by the wrapped backend, wrapper.inner().
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INTERFACE = ROOT / "llm/backend/backend.hpp"
OPS_MARKER = "// ==== the ops"

DECLARATION = re.compile(
    r"virtual\s+(?P<ret>[\w:<>]+)\s+(?P<name>\w+)\s*\((?P<params>[^)]*)\)\s*(?P<const>const)?\s*=\s*0\s*;")

HEADER = """\
#pragma once
// defines: llm::ForwardingBackend, a Backend that hands every op to a wrapper's one template.
//
// GENERATED at build time by scripts/gen_forwarding_backend.py from llm/backend/backend.hpp (it
// lives in the build tree, not in the sources): a new op is forwarded without an edit here.
//
// A wrapper derives from ForwardingBackend<Wrapper> and defines
//   Backend& inner() const;  // the backend it wraps, which answers the const queries
//   template <typename Op, typename Check, typename... Args>
//   auto forward_op(const char* name, Op op, Check check, Args... args);
// where `op` is the member function &Backend::<name> and `check` is Backend::check_<name>, both
// taking the op's arguments (the check after the backend). It may
// still override single ops by hand (e.g. to give one op its own cost model). The memory functions
// (allocate, release, zero, copies, convert) and the descriptions (device, dtype, name) are the
// wrapper's own: they are not ops.
#include "llm/backend/backend.hpp"

namespace llm {

template <typename Wrapper> class ForwardingBackend : public Backend {
 public:
  // clang-format off
"""

FOOTER = """\
  // clang-format on

 private:
  Wrapper& self() { return static_cast<Wrapper&>(*this); }
  const Wrapper& self() const { return static_cast<const Wrapper&>(*this); }
};

}  // namespace llm
"""


def strip_comments(text):
    return re.sub(r"//[^\n]*", "", text)


def ops(interface_text):
    if OPS_MARKER not in interface_text:
        sys.exit(f"gen_forwarding_backend: {INTERFACE} has no line starting with '{OPS_MARKER}'")
    body = strip_comments(interface_text.split(OPS_MARKER, 1)[1])
    found = []
    for m in DECLARATION.finditer(body):
        params = [" ".join(p.split()) for p in m["params"].split(",") if p.strip()]
        names = [re.findall(r"\w+", p)[-1] for p in params]
        found.append((m["ret"], m["name"], params, names, bool(m["const"])))
    if not found:
        sys.exit(f"gen_forwarding_backend: no pure virtual op below '{OPS_MARKER}' in {INTERFACE}")
    return found


def wrap(head, items, tail, indent):
    """head + items joined by ", " + tail, broken after a comma where a line would pass 100 columns;
    continuation lines start at `indent` spaces."""
    lines, line = [], head
    for i, item in enumerate(items):
        piece = item + (", " if i + 1 < len(items) else tail)
        if len(line) + len(piece.rstrip()) > 100 and line.strip():
            lines.append(line.rstrip())
            line = " " * indent
        line += piece
    lines.append(line)
    return "\n".join(lines) + "\n"


def forwarding_header(interface_text):
    lines = [HEADER]
    for ret, name, params, names, const in ops(interface_text):
        head = f"  {ret} {name}("
        if const:
            lines.append(wrap(head, params, ") const override {", len(head)))
            lines.append(f"    return self().inner().{name}({', '.join(names)});\n  }}\n")
        else:
            lines.append(wrap(head, params, ") override {", len(head)))
            call = "    return self().forward_op("
            lines.append(wrap(call, [f'"{name}"', f"&Backend::{name}", f"&Backend::check_{name}"] + names,
                              ");", len(call)))
            lines.append("  }\n")
    lines.append(FOOTER)
    return "".join(lines)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: scripts/gen_forwarding_backend.py OUTPUT")
    output = Path(sys.argv[1])
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(forwarding_header(INTERFACE.read_text()))
    print(f"gen_forwarding_backend: wrote {output}")


if __name__ == "__main__":
    main()
