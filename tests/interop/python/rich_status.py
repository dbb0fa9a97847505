#!/usr/bin/env python3
"""Rich error status (grpc-status-details-bin) between grpcio and rgrpc.

    rich_status.py serve --port N    echo.Echo on 127.0.0.1:N (0 picks a port);
                                     prints "listening on PORT", runs until killed
    rich_status.py call --port N     calls echo.Echo/EchoMessage on 127.0.0.1:N

The server answers every EchoMessage with INVALID_ARGUMENT, the message
"rich status from python" and a google.rpc.Status in grpc-status-details-bin
whose one detail is a google.protobuf.StringValue "detail from python".

The client expects FAILED_PRECONDITION, the message "rich status from rust"
and one StringValue detail "detail from rust"; it prints "ok" and exits 0
when it gets exactly that, else says what differed and exits 1.

The echo.proto and google/rpc/status.proto stubs are generated at start-up
with the venv's grpc_tools into a temporary folder.
"""

import argparse
import os
import shutil
import signal
import sys
import tempfile
from concurrent import futures

import _common

_common.enter_venv(__file__)

import grpc  # noqa: E402
from grpc_tools import protoc  # noqa: E402

DETAILS_KEY = "grpc-status-details-bin"
PROTO_ROOT = os.path.join(_common.ROOT, "proto")
WELL_KNOWN = os.path.join(os.path.dirname(protoc.__file__), "_proto")


def load_stubs():
    """Generates and imports the stubs; returns (echo_pb2, echo_pb2_grpc, status_pb2)."""
    out = tempfile.mkdtemp(prefix="rich-status-")
    try:
        result = protoc.main(
            [
                "grpc_tools.protoc",
                "-I" + PROTO_ROOT,
                "-I" + WELL_KNOWN,
                "--python_out=" + out,
                "--grpc_python_out=" + out,
                "echo.proto",
                "google/rpc/status.proto",
            ]
        )
        if result != 0:
            sys.exit("grpc_tools.protoc failed on echo.proto and google/rpc/status.proto")
        sys.path.insert(0, out)
        import echo_pb2
        import echo_pb2_grpc
        from google.rpc import status_pb2

        return echo_pb2, echo_pb2_grpc, status_pb2
    finally:
        # Imported modules stay loaded; the files are no longer needed.
        shutil.rmtree(out, ignore_errors=True)


def serve(port, echo_pb2_grpc, status_pb2):
    from google.protobuf import wrappers_pb2

    class Echo(echo_pb2_grpc.EchoServicer):
        def EchoMessage(self, request, context):
            status = status_pb2.Status(
                code=grpc.StatusCode.INVALID_ARGUMENT.value[0], message="rich status from python"
            )
            status.details.add().Pack(wrappers_pb2.StringValue(value="detail from python"))
            context.set_trailing_metadata([(DETAILS_KEY, status.SerializeToString())])
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, status.message)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    echo_pb2_grpc.add_EchoServicer_to_server(Echo(), server)
    bound = server.add_insecure_port("127.0.0.1:%d" % port)
    server.start()
    print("listening on %d" % bound, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.stop(0))
    server.wait_for_termination()


def call(port, echo_pb2, echo_pb2_grpc, status_pb2):
    from google.protobuf import wrappers_pb2

    with grpc.insecure_channel("127.0.0.1:%d" % port) as channel:
        stub = echo_pb2_grpc.EchoStub(channel)
        try:
            stub.EchoMessage(echo_pb2.EchoRequest(message="hello"), timeout=10)
        except grpc.RpcError as err:
            error = err
        else:
            return "the call succeeded"
    if error.code() != grpc.StatusCode.FAILED_PRECONDITION:
        return "code %s" % error.code()
    if error.details() != "rich status from rust":
        return "message %r" % error.details()
    raw = [value for key, value in error.trailing_metadata() or () if key == DETAILS_KEY]
    if len(raw) != 1:
        return "%d %s trailers" % (len(raw), DETAILS_KEY)
    status = status_pb2.Status.FromString(raw[0])
    if status.code != grpc.StatusCode.FAILED_PRECONDITION.value[0] or status.message != error.details():
        return "details status %d %r" % (status.code, status.message)
    if len(status.details) != 1 or not status.details[0].Is(wrappers_pb2.StringValue.DESCRIPTOR):
        return "details %r" % list(status.details)
    detail = wrappers_pb2.StringValue()
    status.details[0].Unpack(detail)
    if detail.value != "detail from rust":
        return "detail %r" % detail.value
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["serve", "call"])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    echo_pb2, echo_pb2_grpc, status_pb2 = load_stubs()
    if args.mode == "serve":
        serve(args.port, echo_pb2_grpc, status_pb2)
        return 0
    problem = call(args.port, echo_pb2, echo_pb2_grpc, status_pb2)
    if problem:
        print("unexpected: %s" % problem, flush=True)
        return 1
    print("ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
