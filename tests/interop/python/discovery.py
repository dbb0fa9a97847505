#!/usr/bin/env python3
"""Health checking and server reflection between grpcio and rgrpc.

    discovery.py health --port N     checks the health service on 127.0.0.1:N
    discovery.py reflect --port N    explores the server on 127.0.0.1:N by reflection
    discovery.py serve --port N      echo.Echo with health and reflection (v1alpha, all
                                     grpcio has) on 127.0.0.1:N (0 picks a port); prints
                                     "listening on PORT", runs until killed

health, with grpcio-health-checking's stubs, expects of a server with echo.Echo:
  - Check("") and Check("echo.Echo") answer SERVING;
  - Check("no.Such") fails with NOT_FOUND;
  - Watch("echo.Echo") sends SERVING; it then prints "watching echo.Echo" and
    expects NOT_SERVING next (the caller changes the status on reading that line);
  - Watch("later.Service") sends SERVICE_UNKNOWN; it prints "watching
    later.Service" and expects SERVING next.

reflect, with grpcio-reflection's ProtoReflectionDescriptorDatabase (v1alpha)
and v1 stubs generated from gRPC's reflection.proto, expects:
  - the services listed to include echo.Echo, grpc.health.v1.Health and both
    reflection services;
  - echo.Echo's EchoMessage input type to resolve to echo.EchoRequest with its
    field "message", from reflection alone;
  - a request built from that descriptor to be answered by the server;
  - over v1: file_containing_symbol("echo.Echo") to answer echo.proto, and an
    unknown symbol and a request asking nothing to answer error responses
    (NOT_FOUND, INVALID_ARGUMENT) on the same stream, which goes on.

Each client prints "ok" and exits 0 when all holds, else says what differed
and exits 1.
"""

import argparse
import os
import queue
import shutil
import signal
import sys
import tempfile
import threading
from concurrent import futures

import _common

_common.enter_venv(__file__)

import grpc  # noqa: E402
from grpc_health.v1 import health, health_pb2, health_pb2_grpc  # noqa: E402
from grpc_tools import protoc  # noqa: E402

PROTO_ROOT = os.path.join(_common.ROOT, "proto")
GRPC_PROTO = "/usr/share/grpc-proto"
TIMEOUT = 10


class Mismatch(Exception):
    """What the server did that the checks did not expect."""


def expect(condition, what):
    if not condition:
        raise Mismatch(what)


def generate(files, *includes):
    """Generates and imports Python stubs for `files`; returns the folder on sys.path."""
    out = tempfile.mkdtemp(prefix="discovery-")
    args = ["grpc_tools.protoc"] + ["-I" + include for include in includes]
    args += ["--python_out=" + out, "--grpc_python_out=" + out] + files
    if protoc.main(args) != 0:
        sys.exit("grpc_tools.protoc failed on %s" % " ".join(files))
    sys.path.insert(0, out)
    return out


def check_health(port):
    with grpc.insecure_channel("127.0.0.1:%d" % port) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for name in ("", "echo.Echo"):
            status = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=TIMEOUT).status
            expect(status == health_pb2.HealthCheckResponse.SERVING, "Check(%r) answered %s" % (name, status))
        try:
            stub.Check(health_pb2.HealthCheckRequest(service="no.Such"), timeout=TIMEOUT)
            raise Mismatch("Check('no.Such') succeeded")
        except grpc.RpcError as err:
            expect(err.code() == grpc.StatusCode.NOT_FOUND, "Check('no.Such') failed with %s" % err.code())

        R = health_pb2.HealthCheckResponse
        for name, first, then in (
            ("echo.Echo", R.SERVING, R.NOT_SERVING),
            ("later.Service", R.SERVICE_UNKNOWN, R.SERVING),
        ):
            watch = stub.Watch(health_pb2.HealthCheckRequest(service=name), timeout=TIMEOUT)
            status = next(watch).status
            expect(status == first, "Watch(%r) started with %s" % (name, status))
            print("watching %s" % name, flush=True)
            status = next(watch).status
            expect(status == then, "Watch(%r) then sent %s" % (name, status))
            watch.cancel()


def reflect(port):
    from google.protobuf import descriptor_pool, message_factory
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )

    with grpc.insecure_channel("127.0.0.1:%d" % port) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = set(database.get_services())
        for name in (
            "echo.Echo",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ):
            expect(name in services, "%s is not listed: %s" % (name, sorted(services)))

        pool = descriptor_pool.DescriptorPool(database)
        service = pool.FindServiceByName("echo.Echo")
        method = service.FindMethodByName("EchoMessage")
        request_type = method.input_type
        expect(request_type.full_name == "echo.EchoRequest", "input type %s" % request_type.full_name)
        expect("message" in request_type.fields_by_name, "fields %s" % list(request_type.fields_by_name))

        request_class = message_factory.GetMessageClass(request_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        call = channel.unary_unary(
            "/echo.Echo/EchoMessage",
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        response = call(request_class(message="built from reflection"), timeout=TIMEOUT)
        expect(
            response.message == "built from reflection",
            "the dynamic call answered %r" % response.message,
        )

    # v1, with stubs from the official reflection.proto. grpcio answers
    # imports of grpc.reflection with grpc_reflection, which has v1alpha
    # alone, so the file is compiled under a name of its own.
    source = tempfile.mkdtemp(prefix="discovery-source-")
    official = os.path.join(GRPC_PROTO, "grpc/reflection/v1/reflection.proto")
    shutil.copy(official, os.path.join(source, "reflection_v1.proto"))
    out = generate(["reflection_v1.proto"], source)
    try:
        import reflection_v1_pb2 as reflection_pb2
        import reflection_v1_pb2_grpc as reflection_pb2_grpc
    finally:
        shutil.rmtree(source, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)

    from google.protobuf import descriptor_pb2

    requests = queue.Queue()

    def stream():
        while True:
            request = requests.get()
            if request is None:
                return
            yield request

    with grpc.insecure_channel("127.0.0.1:%d" % port) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        responses = stub.ServerReflectionInfo(stream(), timeout=TIMEOUT)

        requests.put(reflection_pb2.ServerReflectionRequest(file_containing_symbol="echo.Echo"))
        response = next(responses)
        files = [
            descriptor_pb2.FileDescriptorProto.FromString(raw)
            for raw in response.file_descriptor_response.file_descriptor_proto
        ]
        expect(files and files[0].name == "echo.proto", "echo.Echo is in %s" % [f.name for f in files])

        requests.put(reflection_pb2.ServerReflectionRequest(file_containing_symbol="no.Such"))
        response = next(responses)
        expect(
            response.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0],
            "an unknown symbol answered %s" % response,
        )

        requests.put(reflection_pb2.ServerReflectionRequest(host="asking.nothing"))
        response = next(responses)
        expect(
            response.error_response.error_code == grpc.StatusCode.INVALID_ARGUMENT.value[0],
            "a request asking nothing answered %s" % response,
        )
        expect(response.valid_host == "asking.nothing", "valid_host %r" % response.valid_host)

        requests.put(reflection_pb2.ServerReflectionRequest(list_services=""))
        response = next(responses)
        names = [s.name for s in response.list_services_response.service]
        expect("echo.Echo" in names, "after the errors, the stream listed %s" % names)
        requests.put(None)


def serve(port):
    out = generate(["echo.proto"], PROTO_ROOT)
    try:
        import echo_pb2
        import echo_pb2_grpc
    finally:
        shutil.rmtree(out, ignore_errors=True)
    from grpc_reflection.v1alpha import reflection

    class Echo(echo_pb2_grpc.EchoServicer):
        def EchoMessage(self, request, context):
            return echo_pb2.EchoResponse(message=request.message)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    echo_pb2_grpc.add_EchoServicer_to_server(Echo(), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = (
        echo_pb2.DESCRIPTOR.services_by_name["Echo"].full_name,
        health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
        reflection.SERVICE_NAME,
    )
    reflection.enable_server_reflection(names, server)
    bound = server.add_insecure_port("127.0.0.1:%d" % port)
    server.start()
    print("listening on %d" % bound, flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    server.stop(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["health", "reflect", "serve"])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.port)
        return
    try:
        (check_health if args.command == "health" else reflect)(args.port)
    except (Mismatch, grpc.RpcError, StopIteration) as err:
        print("%s: %s" % (args.command, err or type(err).__name__), flush=True)
        sys.exit(1)
    print("ok", flush=True)


if __name__ == "__main__":
    main()
