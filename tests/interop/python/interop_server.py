#!/usr/bin/env python3
"""gRPC interop test server on grpcio: grpc.testing.TestService in plaintext.

    interop_server.py --port N [--use_tls=false]

Listens on 127.0.0.1:N (N=0 picks a free port) and prints "listening on PORT"
to stdout once it accepts calls. Runs until SIGTERM or SIGINT.

Server features of the interop test descriptions:
  EmptyCall, UnaryCall, CacheableUnaryCall, StreamingOutputCall,
  StreamingInputCall, FullDuplexCall, HalfDuplexCall;
  Echo Status (response_status), Echo Metadata (x-grpc-test-echo-initial,
  x-grpc-test-echo-trailing-bin), ResponseParameters.interval_us,
  CompressedResponse for UnaryCall (response_compressed, gzip).
UnimplementedCall and grpc.testing.UnimplementedService answer UNIMPLEMENTED.
"""

import argparse
import os
import signal
import sys
import threading
import time
from concurrent import futures

import _common

_common.enter_venv(__file__)
grpc, empty_pb2, messages_pb2, test_pb2_grpc = _common.load_stubs()

ECHO_INITIAL_KEY = "x-grpc-test-echo-initial"
ECHO_TRAILING_KEY = "x-grpc-test-echo-trailing-bin"

STATUS_BY_NUMBER = {status.value[0]: status for status in grpc.StatusCode}


def echo_metadata(context):
    """Echo Metadata: sends the client's echo keys back, initial and trailing."""
    initial = []
    trailing = []
    for key, value in context.invocation_metadata():
        if key == ECHO_INITIAL_KEY:
            initial.append((key, value))
        elif key == ECHO_TRAILING_KEY:
            trailing.append((key, value))
    if initial:
        context.send_initial_metadata(initial)
    if trailing:
        context.set_trailing_metadata(trailing)


def echo_status(request, context):
    """Echo Status: ends the call with response_status when its code is not OK."""
    if not request.HasField("response_status"):
        return
    code = request.response_status.code
    if code == 0:
        return
    status = STATUS_BY_NUMBER.get(code)
    if status is None:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "response_status.code %d is not a gRPC status code" % code)
    context.abort(status, request.response_status.message)


def check_response_type(response_type, context):
    if response_type != messages_pb2.COMPRESSABLE:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "response_type %d is not supported" % response_type)


def check_size(size, context, what):
    if size < 0:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "%s %d is negative" % (what, size))


def payload(size):
    return messages_pb2.Payload(type=messages_pb2.COMPRESSABLE, body=bytes(size))


def stream_responses(request, context):
    """The responses one StreamingOutputCallRequest asks for, interval_us observed."""
    check_response_type(request.response_type, context)
    for params in request.response_parameters:
        check_size(params.size, context, "response_parameters.size")
    for params in request.response_parameters:
        if params.interval_us > 0:
            time.sleep(params.interval_us / 1e6)
        yield messages_pb2.StreamingOutputCallResponse(payload=payload(params.size))


class TestService(test_pb2_grpc.TestServiceServicer):
    # UnimplementedCall is left to the generated base class: UNIMPLEMENTED.

    def EmptyCall(self, request, context):
        echo_metadata(context)
        return empty_pb2.Empty()

    def UnaryCall(self, request, context):
        echo_metadata(context)
        echo_status(request, context)
        check_response_type(request.response_type, context)
        check_size(request.response_size, context, "response_size")
        if request.HasField("response_compressed") and request.response_compressed.value:
            context.set_compression(grpc.Compression.Gzip)
        return messages_pb2.SimpleResponse(payload=payload(request.response_size))

    def CacheableUnaryCall(self, request, context):
        context.send_initial_metadata([("cache-control", "public, max-age=60")])
        body = str(time.time_ns()).encode("ascii")
        return messages_pb2.SimpleResponse(payload=messages_pb2.Payload(type=messages_pb2.COMPRESSABLE, body=body))

    def StreamingOutputCall(self, request, context):
        echo_metadata(context)
        echo_status(request, context)
        yield from stream_responses(request, context)

    def StreamingInputCall(self, request_iterator, context):
        echo_metadata(context)
        total = 0
        for request in request_iterator:
            total += len(request.payload.body)
        return messages_pb2.StreamingInputCallResponse(aggregated_payload_size=total)

    def FullDuplexCall(self, request_iterator, context):
        echo_metadata(context)
        for request in request_iterator:
            echo_status(request, context)
            yield from stream_responses(request, context)

    def HalfDuplexCall(self, request_iterator, context):
        echo_metadata(context)
        requests = list(request_iterator)
        for request in requests:
            echo_status(request, context)
            yield from stream_responses(request, context)


def main():
    parser = argparse.ArgumentParser(description="gRPC interop test server (Python grpcio)")
    parser.add_argument("--port", type=int, required=True, help="port to listen on, on 127.0.0.1 (0: any free port)")
    _common.add_bool_flag(parser, "use_tls", False, "must be false: this server is plaintext only")
    args = parser.parse_args()
    _common.reject_tls(args.use_tls)
    if not 0 <= args.port <= 65535:
        parser.error("--port %d is out of range" % args.port)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
    test_pb2_grpc.add_TestServiceServicer_to_server(TestService(), server)
    address = "127.0.0.1:%d" % args.port
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as err:
        sys.stderr.write("interop_server: cannot listen on %s: %s\n" % (address, err))
        return 1
    if port == 0:
        sys.stderr.write("interop_server: cannot listen on %s\n" % address)
        return 1
    server.start()

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    sys.stdout.write("listening on %d\n" % port)
    sys.stdout.flush()
    while not stop.wait(3600):
        pass
    server.stop(grace=1).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
