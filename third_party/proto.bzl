"""Generates C++ (and gRPC) code for a proto package with the system's protoc."""

def cc_grpc_proto_library(name, srcs, deps = [], services = True, visibility = None):
    """cc_librarys over protoc's output for `srcs`.

    With services, `name` (which must end in "_cc_grpc") holds the gRPC stubs
    and depends on a message-only library named with "_cc_proto" instead.

    Protos live under //proto and import each other as "pdp/v1/x.proto"; the
    generated headers are included the same way ("pdp/v1/x.pb.h").

    Args:
      name: the cc_library's name (the gRPC one, with services).
      srcs: the .proto files of this package.
      deps: cc_grpc_proto_library targets whose protos these import.
      services: whether to also run the gRPC plugin.
      visibility: the cc_library's visibility.
    """
    stems = [s[:-len(".proto")] for s in srcs]
    hdrs = [s + ".pb.h" for s in stems]
    cc_srcs = [s + ".pb.cc" for s in stems]
    if services:
        hdrs += [s + ".grpc.pb.h" for s in stems]
        cc_srcs += [s + ".grpc.pb.cc" for s in stems]
    grpc_flags = ""
    if services:
        grpc_flags = "--grpc_out=$(GENDIR)/proto --plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin "
    native.genrule(
        name = name + "_gen",
        srcs = srcs + [d + "_srcs" for d in deps],
        outs = hdrs + cc_srcs,
        cmd = ("/usr/bin/protoc --proto_path=proto --proto_path=/usr/include " +
               "--cpp_out=$(GENDIR)/proto " + grpc_flags +
               " ".join(["$(location %s)" % s for s in srcs])),
    )
    native.filegroup(
        name = name + "_srcs",
        srcs = srcs + [d + "_srcs" for d in deps],
        visibility = visibility,
    )
    if not services:
        native.cc_library(
            name = name,
            srcs = cc_srcs,
            hdrs = hdrs,
            strip_include_prefix = "/proto",
            deps = deps + ["//third_party:protobuf"],
            visibility = visibility,
        )
        return

    # The messages alone, for code that needs no gRPC (the engine, the
    # store), and the service stubs on top of them.
    messages = _messages_target(name)
    native.cc_library(
        name = messages,
        srcs = [s + ".pb.cc" for s in stems],
        hdrs = [s + ".pb.h" for s in stems],
        strip_include_prefix = "/proto",
        deps = [_messages_target(d) for d in deps] + ["//third_party:protobuf"],
        visibility = visibility,
    )
    native.cc_library(
        name = name,
        srcs = [s + ".grpc.pb.cc" for s in stems],
        hdrs = [s + ".grpc.pb.h" for s in stems],
        strip_include_prefix = "/proto",
        deps = [":" + messages] + deps + ["//third_party:protobuf", "//third_party:grpc"],
        visibility = visibility,
    )

def _messages_target(target):
    """The message-only target of a cc_grpc_proto_library: x_cc_grpc -> x_cc_proto."""
    if target.endswith("_cc_grpc"):
        return target[:-len("_cc_grpc")] + "_cc_proto"
    return target
