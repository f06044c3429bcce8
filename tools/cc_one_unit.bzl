"""cc_one_unit_library: a cc_library whose sources compile as one unit."""

def cc_one_unit_library(name, srcs, private_hdrs = [], **kwargs):
    """A cc_library whose .cc files compile as one translation unit.

    Parsing LibTorch's headers costs ~10 s per translation unit on the
    reference machine (2 cores), more than most of our files cost
    themselves; one unit per library parses them once (trainer/ and data/:
    docs/building.md has the figures). The sources stay apart, one job
    each, in the order given; names in their anonymous namespaces must not
    collide. CMake compiles them one by one, so each must still include
    what it uses.

    The unit holds the sources' text, each after a #line naming its file:
    diagnostics, __FILE__ and log lines name the real file, and libraries
    that depend on this one do not see the sources (editing one recompiles
    this unit only).

    Args:
      name: the library.
      srcs: its .cc files.
      private_hdrs: headers only these sources include.
      **kwargs: the rest of cc_library's attributes (hdrs, deps, ...).
    """
    unit = name + "_one_unit.cc"
    native.genrule(
        name = name + "_one_unit",
        srcs = srcs,
        outs = [unit],
        cmd = "for f in $(SRCS); do echo \"#line 1 \\\"$$f\\\"\"; cat $$f; echo; done > $@",
    )
    native.cc_library(
        name = name,
        srcs = [unit] + private_hdrs,
        **kwargs
    )
