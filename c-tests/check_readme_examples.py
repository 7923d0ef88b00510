"""The README's examples are the tested code: examples/run.c and
examples/run.cpp appear in it whole, and the epoll loop of
c-tests/cpp_epoll.cpp as shown (dedented one level)."""
import sys

readme = open("README.md").read()
missing = [f for f in ("examples/run.c", "examples/run.cpp") if open(f).read() not in readme]
source = open("c-tests/cpp_epoll.cpp").read()
loop = source[source.index("    while (live > 0) {"):source.index("    close(ep);")]
loop = "".join(line[4:] if line.startswith("    ") else line for line in loop.splitlines(True))
if loop not in readme:
    missing.append("c-tests/cpp_epoll.cpp (the epoll loop)")
if missing:
    print("README.md does not show the current " + ", ".join(missing))
    sys.exit(1)
print("readme-examples: README.md shows examples/run.c, examples/run.cpp and the epoll loop as tested")
