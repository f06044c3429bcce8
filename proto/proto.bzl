"""C++ code generation for our .proto files with the system protoc and the
system gRPC plugin (no rules_proto: the build is offline)."""

def amoeba_cc_proto_library(name, srcs, deps = [], grpc = False):
    """Generates <file>.pb.{h,cc} (and .grpc.pb.{h,cc} when grpc) for srcs.

    Args:
      name: the cc_library to create.
      srcs: .proto files of this package.
      deps: other amoeba_cc_proto_library targets whose protos srcs import.
      grpc: also run grpc_cpp_plugin for the services.
    """
    outs = []
    for src in srcs:
        base = src[:-len(".proto")]
        outs += [base + ".pb.h", base + ".pb.cc"]
        if grpc:
            outs += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]
    cmd = "protoc -I. -I/usr/include --cpp_out=$(GENDIR)"
    if grpc:
        cmd += " --grpc_out=$(GENDIR) --plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin"
    # Only this package's files are compiled; dependencies' protos are inputs
    # so that imports resolve, and their code comes from their own targets.
    cmd += " " + " ".join(["$(location %s)" % s for s in srcs])
    native.genrule(
        name = name + "_gen",
        srcs = srcs + [d + "_srcs" for d in deps],
        outs = outs,
        cmd = cmd + " 2>&1",
    )

    native.filegroup(
        name = name + "_srcs",
        srcs = srcs + [d + "_srcs" for d in deps],
    )
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        deps = deps + ["@sys//:protobuf"] + (["@sys//:grpc++"] if grpc else []),
    )
