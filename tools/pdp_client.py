#!/usr/bin/python3
"""A small client for pdp-server, using only Debian's python3-grpcio and
python3-protobuf: no generated code, no pip.

It learns the Authorizer's messages from the server itself through server
reflection, so it works with any server build. The reflection and health
messages are described in this file (a FileDescriptorProto built at run time).

  tools/pdp_client.py [connection] list
  tools/pdp_client.py [connection] health [--service NAME]
  tools/pdp_client.py [connection] check  [--request JSON] [chain flags] --tool ID [--action see|call]
  tools/pdp_client.py [connection] filter [--request JSON] [chain flags] (--server ID | --tools ID,...)
  tools/pdp_client.py [connection] call SERVICE/METHOD --request JSON

Connection: --target HOST:PORT (default 127.0.0.1:8443) and either mTLS
(--ca FILE --cert FILE --key FILE, optionally --server-name NAME to verify
the server's certificate under another name) or --insecure (plaintext).

Chain flags: --user, --roles, --amr, --client, --scopes, --agent, --service,
--autonomous; lists are comma-separated. Or, for a chain the server verifies,
tokens read from files: --access-token FILE (gives the user, client, scopes,
amr and acting agent), --agent-token FILE, --service-token FILE, and what the
enforcement point verified for bound tokens, --client-cert PEM_FILE or
--dpop-jkt THUMBPRINT. They override the same fields of --request, which
takes JSON text, @FILE, or - for standard input.

Responses are printed as JSON with the proto's field names. Exit status: 0 on
success; 1 when the call fails (its gRPC status code and message are printed
on standard error) or, for `health`, when the status is not SERVING; 2 for a
usage error.
"""

import argparse
import json
import os
import sys

try:
    import grpc
    from google.protobuf import descriptor_pb2
    from google.protobuf import descriptor_pool
    from google.protobuf import json_format
    from google.protobuf import message_factory
except ImportError as error:
    sys.exit(
        "pdp_client: %s. This tool needs Debian's python3-grpcio and "
        "python3-protobuf packages (tools/setup.sh installs them; or "
        "`apt-get install python3-grpcio python3-protobuf`), and the system's "
        "/usr/bin/python3 to run it." % error)

AUTHORIZER = "pdp.v1.Authorizer"
REFLECTION_METHOD = (
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
HEALTH_METHOD = "/grpc.health.v1.Health/Check"


class ClientError(Exception):
    """A failure to report on standard error before exiting 1."""


# --- Messages described at run time -----------------------------------------

_F = descriptor_pb2.FieldDescriptorProto


def _message_class(descriptor):
    """The generated-at-run-time class of a message descriptor."""
    if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.22
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(descriptor.file.pool).GetPrototype(
        descriptor)


def _add_message(file_proto, name, fields, oneof=None):
    """Adds message `name` to `file_proto`.

    `fields` are (name, number, type, type_name, repeated, in_oneof) tuples;
    fields with in_oneof=True belong to the oneof named `oneof`.
    """
    message = file_proto.message_type.add(name=name)
    if oneof:
        message.oneof_decl.add(name=oneof)
    for field_name, number, field_type, type_name, repeated, in_oneof in fields:
        field = message.field.add(
            name=field_name, number=number, type=field_type,
            label=_F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL,
            json_name=field_name)
        if type_name:
            field.type_name = type_name
        if in_oneof:
            field.oneof_index = 0
    return message


def _build_reflection_and_health():
    """Builds the few messages of grpc.reflection.v1alpha and grpc.health.v1
    this client uses, with the field numbers of their published .proto files.

    Returns a dict of message classes by full name.
    """
    pool = descriptor_pool.DescriptorPool()

    # grpc/reflection/v1alpha/reflection.proto, the fields used here only.
    r = descriptor_pb2.FileDescriptorProto(
        name="pdp_client/grpc_reflection_v1alpha.proto",
        package="grpc.reflection.v1alpha", syntax="proto3")
    p = ".grpc.reflection.v1alpha."
    _add_message(r, "ServerReflectionRequest", [
        ("host", 1, _F.TYPE_STRING, None, False, False),
        ("file_by_filename", 3, _F.TYPE_STRING, None, False, True),
        ("file_containing_symbol", 4, _F.TYPE_STRING, None, False, True),
        ("list_services", 7, _F.TYPE_STRING, None, False, True),
    ], oneof="message_request")
    _add_message(r, "ServerReflectionResponse", [
        ("valid_host", 1, _F.TYPE_STRING, None, False, False),
        ("file_descriptor_response", 4, _F.TYPE_MESSAGE,
         p + "FileDescriptorResponse", False, True),
        ("list_services_response", 6, _F.TYPE_MESSAGE,
         p + "ListServiceResponse", False, True),
        ("error_response", 7, _F.TYPE_MESSAGE, p + "ErrorResponse", False,
         True),
    ], oneof="message_response")
    _add_message(r, "FileDescriptorResponse", [
        ("file_descriptor_proto", 1, _F.TYPE_BYTES, None, True, False)])
    _add_message(r, "ListServiceResponse", [
        ("service", 1, _F.TYPE_MESSAGE, p + "ServiceResponse", True, False)])
    _add_message(r, "ServiceResponse", [
        ("name", 1, _F.TYPE_STRING, None, False, False)])
    _add_message(r, "ErrorResponse", [
        ("error_code", 1, _F.TYPE_INT32, None, False, False),
        ("error_message", 2, _F.TYPE_STRING, None, False, False)])

    # grpc/health/v1/health.proto: Check's request and response.
    h = descriptor_pb2.FileDescriptorProto(
        name="pdp_client/grpc_health_v1.proto", package="grpc.health.v1",
        syntax="proto3")
    _add_message(h, "HealthCheckRequest", [
        ("service", 1, _F.TYPE_STRING, None, False, False)])
    response = _add_message(h, "HealthCheckResponse", [
        ("status", 1, _F.TYPE_ENUM,
         ".grpc.health.v1.HealthCheckResponse.ServingStatus", False, False)])
    status = response.enum_type.add(name="ServingStatus")
    for number, name in enumerate(
            ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"]):
        status.value.add(name=name, number=number)

    classes = {}
    for file_proto in (r, h):
        pool.AddSerializedFile(file_proto.SerializeToString())
        for message in file_proto.message_type:
            full_name = "%s.%s" % (file_proto.package, message.name)
            classes[full_name] = _message_class(
                pool.FindMessageTypeByName(full_name))
    return classes


_CLASSES = _build_reflection_and_health()
ReflectionRequest = _CLASSES["grpc.reflection.v1alpha.ServerReflectionRequest"]
ReflectionResponse = _CLASSES[
    "grpc.reflection.v1alpha.ServerReflectionResponse"]
HealthCheckRequest = _CLASSES["grpc.health.v1.HealthCheckRequest"]
HealthCheckResponse = _CLASSES["grpc.health.v1.HealthCheckResponse"]


# --- Calls ------------------------------------------------------------------

def _rpc_error(error):
    return ClientError("%s: %s" % (error.code().name, error.details()))


def _reflect(channel, timeout, **request_fields):
    """Sends one reflection request on its own stream; returns the response.

    Raises ClientError on an RPC error or the server's error_response.
    """
    info = channel.stream_stream(
        REFLECTION_METHOD,
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=ReflectionResponse.FromString)
    try:
        responses = list(info(iter([ReflectionRequest(**request_fields)]),
                              timeout=timeout))
    except grpc.RpcError as error:
        raise _rpc_error(error)
    if len(responses) != 1:
        raise ClientError("reflection: expected one response, got %d" %
                          len(responses))
    response = responses[0]
    if response.WhichOneof("message_response") == "error_response":
        (field, value), = request_fields.items()
        raise ClientError("reflection %s %r: %s (code %d)" % (
            field, value, response.error_response.error_message,
            response.error_response.error_code))
    return response


def list_services(channel, timeout):
    """The service names the server lists through reflection, sorted."""
    response = _reflect(channel, timeout, list_services="")
    return sorted(s.name for s in response.list_services_response.service)


def load_symbol(channel, timeout, symbol):
    """Fetches the file defining `symbol`, with its dependencies, through
    reflection into a new DescriptorPool, and returns the pool."""
    files = {}

    def fetch(**request):
        response = _reflect(channel, timeout, **request)
        for blob in response.file_descriptor_response.file_descriptor_proto:
            proto = descriptor_pb2.FileDescriptorProto.FromString(blob)
            files.setdefault(proto.name, proto)
        return response

    first = fetch(file_containing_symbol=symbol)
    if not first.file_descriptor_response.file_descriptor_proto:
        raise ClientError("reflection returned no file for %s" % symbol)

    pool = descriptor_pool.DescriptorPool()
    added = set()

    def add(name, path):
        if name in added:
            return
        if name in path:
            raise ClientError("import cycle through %s" % name)
        if name not in files:  # The server left a dependency out: ask for it.
            fetch(file_by_filename=name)
            if name not in files:
                raise ClientError("reflection has no file %s" % name)
        for dependency in files[name].dependency:
            add(dependency, path + [name])
        pool.AddSerializedFile(files[name].SerializeToString())
        added.add(name)

    for name in list(files):
        add(name, [])
    return pool


def unary(channel, method, request, response_class, timeout):
    """Calls a unary method ("/package.Service/Method"); raises ClientError
    with the status code and message on an RPC error."""
    call = channel.unary_unary(
        method, request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response_class.FromString)
    try:
        return call(request, timeout=timeout)
    except grpc.RpcError as error:
        raise _rpc_error(error)


class Service:
    """A service's methods and message classes, learned through reflection."""

    def __init__(self, channel, timeout, name):
        self._channel = channel
        self._timeout = timeout
        pool = load_symbol(channel, timeout, name)
        try:
            self.descriptor = pool.FindServiceByName(name)
        except KeyError:
            raise ClientError("the server does not describe service %s" % name)

    def method(self, name):
        method = self.descriptor.methods_by_name.get(name)
        if method is None:
            raise ClientError("%s has no method %s; it has: %s" % (
                self.descriptor.full_name, name,
                ", ".join(sorted(self.descriptor.methods_by_name))))
        return method

    def new_request(self, method_name):
        return _message_class(self.method(method_name).input_type)()

    def call(self, method_name, request):
        method = self.method(method_name)
        return unary(self._channel,
                     "/%s/%s" % (self.descriptor.full_name, method.name),
                     request, _message_class(method.output_type),
                     self._timeout)


# --- Command line -----------------------------------------------------------

def _read_file(path, what):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as error:
        raise ClientError("cannot read %s %s: %s" % (what, path,
                                                     error.strerror))


def open_channel(args):
    if args.insecure:
        if args.ca or args.cert or args.key:
            raise ClientError("--insecure does not take --ca, --cert or --key")
        return grpc.insecure_channel(args.target)
    if not (args.ca and args.cert and args.key):
        raise ClientError(
            "mTLS needs --ca, --cert and --key (or --insecure for a plaintext "
            "server)")
    credentials = grpc.ssl_channel_credentials(
        root_certificates=_read_file(args.ca, "CA file"),
        private_key=_read_file(args.key, "key file"),
        certificate_chain=_read_file(args.cert, "certificate file"))
    options = []
    if args.server_name:
        options.append(("grpc.ssl_target_name_override", args.server_name))
    return grpc.secure_channel(args.target, credentials, options)


def _split(text):
    return [item.strip() for item in text.split(",") if item.strip()]


def _parse_request(args, request):
    """Fills `request` from --request (JSON text, @FILE or -)."""
    if args.request is None:
        return
    text = args.request
    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        text = _read_file(text[1:], "request file").decode("utf-8")
    try:
        json_format.Parse(text, request)
    except json_format.ParseError as error:
        raise ClientError("--request is not a valid %s: %s" % (
            request.DESCRIPTOR.full_name, error))


def _apply_chain_flags(args, chain):
    for flag, field in (("user", "user_id"), ("client", "client_id"),
                        ("agent", "agent_id"), ("service", "service_id")):
        value = getattr(args, flag)
        if value is not None:
            setattr(chain, field, value)
    for flag, field in (("roles", "asserted_roles"), ("amr", "amr"),
                        ("scopes", "scopes")):
        value = getattr(args, flag)
        if value is not None:
            repeated = getattr(chain, field)
            del repeated[:]
            repeated.extend(_split(value))
    if args.autonomous:
        chain.autonomous = True
    for flag, field in (("access_token", "access_token"),
                        ("agent_token", "agent_token"),
                        ("service_token", "service_token")):
        path = getattr(args, flag)
        if path is not None:
            token = _read_file(path, "token file").decode(
                "ascii", "replace").strip()
            _set_field(chain, field, token)
    if args.client_cert is not None:
        _set_field(chain.binding, "client_certificate",
                   _read_file(args.client_cert, "client certificate file"))
    if args.dpop_jkt is not None:
        _set_field(chain.binding, "dpop_jkt", args.dpop_jkt)


def _set_field(message, field, value):
    """Sets a field the server's own schema may lack (an older server)."""
    if field not in message.DESCRIPTOR.fields_by_name:
        raise ClientError("the server's %s has no field %s (a server without "
                          "token support?)" % (message.DESCRIPTOR.full_name,
                                               field))
    setattr(message, field, value)


def _print_message(message):
    print(json_format.MessageToJson(message, preserving_proto_field_name=True,
                                    indent=2))


def cmd_list(args, channel):
    for name in list_services(channel, args.timeout):
        print(name)
    return 0


def cmd_health(args, channel):
    response = unary(channel, HEALTH_METHOD,
                     HealthCheckRequest(service=args.health_service),
                     HealthCheckResponse, args.timeout)
    print(json.dumps({"status": response.DESCRIPTOR.fields_by_name["status"]
                      .enum_type.values_by_number[response.status].name}))
    return 0 if response.status == 1 else 1  # 1 is SERVING.


def cmd_check(args, channel):
    authorizer = Service(channel, args.timeout, AUTHORIZER)
    request = authorizer.new_request("Check")
    _parse_request(args, request)
    _apply_chain_flags(args, request.chain)
    if args.tool is not None:
        request.tool_id = args.tool
    if args.action is not None:
        request.action = request.DESCRIPTOR.fields_by_name[
            "action"].enum_type.values_by_name[
                "ACTION_" + args.action.upper()].number
    _print_message(authorizer.call("Check", request))
    return 0


def cmd_filter(args, channel):
    authorizer = Service(channel, args.timeout, AUTHORIZER)
    request = authorizer.new_request("FilterTools")
    _parse_request(args, request)
    _apply_chain_flags(args, request.chain)
    if args.server is not None:
        request.server_id = args.server
    if args.tools is not None:
        del request.tool_ids[:]
        request.tool_ids.extend(_split(args.tools))
    _print_message(authorizer.call("FilterTools", request))
    return 0


def cmd_call(args, channel):
    service_name, _, method_name = args.method.lstrip("/").rpartition("/")
    if not service_name or not method_name:
        raise ClientError("METHOD must be SERVICE/METHOD, e.g. "
                          "pdp.v1.Authorizer/BatchCheck")
    service = Service(channel, args.timeout, service_name)
    request = service.new_request(method_name)
    _parse_request(args, request)
    _print_message(service.call(method_name, request))
    return 0


def _add_chain_flags(parser):
    group = parser.add_argument_group(
        "identity chain (overrides the same fields of --request)")
    group.add_argument("--user", help="user id")
    group.add_argument("--roles", help="asserted roles, comma-separated "
                       "(used only if the caller may assert roles)")
    group.add_argument("--amr", help="authentication methods, e.g. pwd,otp")
    group.add_argument("--client", help="client id")
    group.add_argument("--scopes", help="granted scopes, comma-separated")
    group.add_argument("--agent", help="agent id")
    group.add_argument("--service", help="service id (a service chain)")
    group.add_argument("--autonomous", action="store_true",
                       help="no human in the loop")
    group = parser.add_argument_group(
        "verified identity chain: tokens the server verifies (an access "
        "token instead of --user, --client, --scopes and --amr; an agent or "
        "service token instead of --agent or --service)")
    group.add_argument("--access-token", metavar="FILE",
                       help="the client's OAuth access token (a JWT): gives "
                       "the user, client, scopes, amr and acting agent")
    group.add_argument("--agent-token", metavar="FILE",
                       help="the acting agent's own token")
    group.add_argument("--service-token", metavar="FILE",
                       help="a service's own token (a service chain)")
    group.add_argument("--client-cert", metavar="PEM_FILE",
                       help="the client certificate presented with a bound "
                       "access token (cnf.x5t#S256)")
    group.add_argument("--dpop-jkt", metavar="THUMBPRINT",
                       help="the verified DPoP key thumbprint for a bound "
                       "access token (cnf.jkt)")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="pdp_client.py",
        description="Calls a pdp-server: lists its services through "
        "reflection, checks health, and calls Authorizer.Check and "
        "FilterTools.")
    parser.add_argument("--target", default="127.0.0.1:8443",
                        help="HOST:PORT (default %(default)s)")
    parser.add_argument("--ca", help="CA certificate (PEM) to verify the "
                        "server with")
    parser.add_argument("--cert", help="client certificate (PEM)")
    parser.add_argument("--key", help="client private key (PEM)")
    parser.add_argument("--server-name", help="the name to verify the server "
                        "certificate against, instead of the target's host")
    parser.add_argument("--insecure", action="store_true",
                        help="plaintext, no TLS (a server run with --insecure)")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="deadline of each call in seconds "
                        "(default %(default)s)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    c = commands.add_parser("list", help="list services through reflection")
    c.set_defaults(run=cmd_list)

    c = commands.add_parser("health", help="grpc.health.v1.Health/Check")
    c.add_argument("--service", dest="health_service", default="",
                   help="service to ask about (default: the whole server)")
    c.set_defaults(run=cmd_health)

    request_help = "the request as JSON text, @FILE, or - for standard input"
    c = commands.add_parser("check", help="pdp.v1.Authorizer/Check")
    c.add_argument("--request", help=request_help)
    _add_chain_flags(c)
    c.add_argument("--tool", help="tool id, <server>.<tool>")
    c.add_argument("--action", choices=["see", "call"],
                   help="default: the request's, else call")
    c.set_defaults(run=cmd_check)

    c = commands.add_parser("filter", help="pdp.v1.Authorizer/FilterTools")
    c.add_argument("--request", help=request_help)
    _add_chain_flags(c)
    c.add_argument("--server", help="MCP server id: filter all its tools")
    c.add_argument("--tools", help="tool ids to filter, comma-separated")
    c.set_defaults(run=cmd_filter)

    c = commands.add_parser(
        "call", help="any unary method the server describes through "
        "reflection, e.g. pdp.v1.Authorizer/BatchCheck")
    c.add_argument("method", metavar="SERVICE/METHOD")
    c.add_argument("--request", default="{}", help=request_help)
    c.set_defaults(run=cmd_call)
    return parser


def main(argv=None):
    # Under `bazel run`, resolve paths from where the command was typed.
    if os.environ.get("BUILD_WORKING_DIRECTORY"):
        os.chdir(os.environ["BUILD_WORKING_DIRECTORY"])
    args = build_parser().parse_args(argv)
    try:
        channel = open_channel(args)
        with channel:
            return args.run(args, channel)
    except ClientError as error:
        print("pdp_client: %s" % error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
