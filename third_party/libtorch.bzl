"""Repository rule that brings in LibTorch from one setting.

The location comes from the environment variable AMOEBA_LIBTORCH, passed to
Bazel as `--repo_env=AMOEBA_LIBTORCH=/path/to/libtorch` (put it in
`user.bazelrc`). Default: Debian's CPU LibTorch under /usr. Two layouts are
understood:

  * Debian:   /usr/include/{torch,ATen,c10,caffe2},
              /usr/lib/<multiarch>/libtorch*.so
  * official: <root>/include/{torch,ATen,c10,caffe2}, <root>/lib/libtorch*.so
              (the zip from pytorch.org, or `python -c 'import torch;
              print(torch.utils.cmake_prefix_path)'`/../.. of a pip install)

When the distribution has libtorch_cuda.so, it is linked with --no-as-needed
so that CUDA kernels register themselves even though no symbol of them is
referenced directly.
"""

_HEADER_DIRS = ["torch", "ATen", "c10", "caffe2"]

def _find_lib_dir(ctx, root):
    for candidate in [
        root + "/lib",
        root + "/lib/x86_64-linux-gnu",
        root + "/lib/aarch64-linux-gnu",
        root + "/lib64",
    ]:
        if ctx.path(candidate + "/libtorch_cpu.so").exists:
            return candidate
    fail(("AMOEBA_LIBTORCH=%s: no libtorch_cpu.so under %s/lib; point " +
          "AMOEBA_LIBTORCH at the folder that holds include/ and lib/") % (root, root))

def _libtorch_repository_impl(ctx):
    root = ctx.os.environ.get("AMOEBA_LIBTORCH", "/usr").rstrip("/")
    if root == "":
        root = "/"
    include_root = root + "/include"
    if not ctx.path(include_root + "/torch/csrc/api/include/torch/torch.h").exists:
        fail(("AMOEBA_LIBTORCH=%s: %s/torch/csrc/api/include/torch/torch.h " +
              "not found; is this a LibTorch distribution?") % (root, include_root))

    # Only the torch header folders are linked in: for /usr a glob over all of
    # /usr/include would be both slow and wrong.
    for d in _HEADER_DIRS:
        src = ctx.path(include_root + "/" + d)
        if src.exists:
            ctx.symlink(src, "include/" + d)

    # c10's build settings, for the test that emulates a LibTorch built
    # without glog (trainer:logging_test). Since 2.8 or so they live in
    # torch/headeronly/, and c10/macros/cmake_macros.h only includes them.
    settings = include_root + "/torch/headeronly/macros/cmake_macros.h"
    if not ctx.path(settings).exists:
        settings = include_root + "/c10/macros/cmake_macros.h"
    ctx.symlink(settings, "c10_cmake_macros.h")

    lib_dir = _find_lib_dir(ctx, root)
    has_cuda = ctx.path(lib_dir + "/libtorch_cuda.so").exists
    libs = ["-ltorch", "-ltorch_cpu", "-lc10"]
    if has_cuda:
        libs = ["-ltorch_cuda", "-lc10_cuda"] + libs
    linkopts = [
        "-L" + lib_dir,
        "-Wl,-rpath," + lib_dir,
        "-Wl,--push-state,--no-as-needed",
    ] + libs + ["-Wl,--pop-state", "-lpthread"]

    # Under /usr the compiler finds torch/ATen/c10 on its default path (and
    # Bazel treats them as system headers); only the C++ API folder needs an
    # include path, so only it is declared. Any other root is declared whole.
    system = root in ["/usr", "/usr/local"]
    ctx.file("BUILD.bazel", """
package(default_visibility = ["//visibility:public"])

exports_files(["c10_cmake_macros.h"])

cc_library(
    name = "libtorch",
    hdrs = {hdrs},
    includes = {includes},
    linkopts = {linkopts},
    defines = {defines},
)
""".format(
        hdrs = ('glob(["include/torch/csrc/api/include/**"])' if system else
                'glob(["include/**/*.h", "include/**/*.cuh", "include/**/*.hpp"])'),
        includes = '["include/torch/csrc/api/include"]' if system else '["include", "include/torch/csrc/api/include"]',
        linkopts = repr(linkopts),
        defines = '["AMOEBA_HAS_CUDA=1"]' if has_cuda else "[]",
    ))
    ctx.file("WORKSPACE", 'workspace(name = "libtorch")\n')
    ctx.file("libtorch_root.txt", root + "\n")

libtorch_repository = repository_rule(
    implementation = _libtorch_repository_impl,
    environ = ["AMOEBA_LIBTORCH"],
    local = True,
)
