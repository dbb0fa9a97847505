#!/usr/bin/env python3
"""gRPC interop test server on grpcio: grpc.testing.TestService.

    interop_server.py --port N [--use_tls=true --tls_cert_file F --tls_key_file F]

Listens on 127.0.0.1:N (N=0 picks a free port), in plaintext or over TLS with
the certificate chain and key given (PEM), and prints "listening on PORT" to
stdout once it accepts calls. Runs until SIGTERM or SIGINT.

Server features of the interop test descriptions:
  EmptyCall, UnaryCall, CacheableUnaryCall, StreamingOutputCall,
  StreamingInputCall, FullDuplexCall, HalfDuplexCall;
  Echo Status (response_status), Echo Metadata (x-grpc-test-echo-initial,
  x-grpc-test-echo-trailing-bin), ResponseParameters.interval_us,
  Compressed Response (response_compressed, ResponseParameters.compressed: gzip),
  Compressed Request (expect_compressed).
UnimplementedCall and grpc.testing.UnimplementedService answer UNIMPLEMENTED.

To tell a compressed request from another, which grpcio does not say, the
server turns off grpcio's decompression of requests and decompresses them
itself: every handler receives (request, compressed) pairs.
"""

import argparse
import gzip
import os
import signal
import sys
import threading
import time
from concurrent import futures

import _common

_common.enter_venv(__file__)
grpc, empty_pb2, messages_pb2, _ = _common.load_stubs()

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


def check_compressed(request, compressed, context):
    """Compressed Request: a request that says it was compressed must have been."""
    if request.HasField("expect_compressed") and request.expect_compressed.value and not compressed:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the request was expected to be compressed, and was not")


def stream_responses(request, context):
    """The responses one StreamingOutputCallRequest asks for, interval_us and
    compressed observed."""
    check_response_type(request.response_type, context)
    for params in request.response_parameters:
        check_size(params.size, context, "response_parameters.size")
    if any(params.compressed.value for params in request.response_parameters):
        context.set_compression(grpc.Compression.Gzip)
    for params in request.response_parameters:
        if params.interval_us > 0:
            time.sleep(params.interval_us / 1e6)
        if not params.compressed.value:
            context.disable_next_message_compression()
        yield messages_pb2.StreamingOutputCallResponse(payload=payload(params.size))


def decoder(message_class):
    """A request deserializer giving (request, compressed): a gzip message
    starts with 1f 8b, which no protobuf message can (wire type 7)."""

    def decode(raw):
        compressed = raw[:2] == b"\x1f\x8b"
        if compressed:
            raw = gzip.decompress(raw)
        return message_class.FromString(raw), compressed

    return decode


class TestService:
    """Each method takes (request, compressed) pairs; UnimplementedCall is
    not registered, so it answers UNIMPLEMENTED."""

    def EmptyCall(self, received, context):
        echo_metadata(context)
        return empty_pb2.Empty()

    def UnaryCall(self, received, context):
        request, compressed = received
        echo_metadata(context)
        echo_status(request, context)
        check_compressed(request, compressed, context)
        check_response_type(request.response_type, context)
        check_size(request.response_size, context, "response_size")
        if request.response_compressed.value:
            context.set_compression(grpc.Compression.Gzip)
        return messages_pb2.SimpleResponse(payload=payload(request.response_size))

    def CacheableUnaryCall(self, received, context):
        context.send_initial_metadata([("cache-control", "public, max-age=60")])
        body = str(time.time_ns()).encode("ascii")
        return messages_pb2.SimpleResponse(payload=messages_pb2.Payload(type=messages_pb2.COMPRESSABLE, body=body))

    def StreamingOutputCall(self, received, context):
        request, _ = received
        echo_metadata(context)
        echo_status(request, context)
        yield from stream_responses(request, context)

    def StreamingInputCall(self, request_iterator, context):
        echo_metadata(context)
        total = 0
        for request, compressed in request_iterator:
            check_compressed(request, compressed, context)
            total += len(request.payload.body)
        return messages_pb2.StreamingInputCallResponse(aggregated_payload_size=total)

    def FullDuplexCall(self, request_iterator, context):
        echo_metadata(context)
        for request, _ in request_iterator:
            echo_status(request, context)
            yield from stream_responses(request, context)

    def HalfDuplexCall(self, request_iterator, context):
        echo_metadata(context)
        requests = [request for request, _ in request_iterator]
        for request in requests:
            echo_status(request, context)
            yield from stream_responses(request, context)


# Each method of grpc.testing.TestService: its shape, request and response.
METHODS = {
    "EmptyCall": (grpc.unary_unary_rpc_method_handler, empty_pb2.Empty, empty_pb2.Empty),
    "UnaryCall": (grpc.unary_unary_rpc_method_handler, messages_pb2.SimpleRequest, messages_pb2.SimpleResponse),
    "CacheableUnaryCall": (
        grpc.unary_unary_rpc_method_handler,
        messages_pb2.SimpleRequest,
        messages_pb2.SimpleResponse,
    ),
    "StreamingOutputCall": (
        grpc.unary_stream_rpc_method_handler,
        messages_pb2.StreamingOutputCallRequest,
        messages_pb2.StreamingOutputCallResponse,
    ),
    "StreamingInputCall": (
        grpc.stream_unary_rpc_method_handler,
        messages_pb2.StreamingInputCallRequest,
        messages_pb2.StreamingInputCallResponse,
    ),
    "FullDuplexCall": (
        grpc.stream_stream_rpc_method_handler,
        messages_pb2.StreamingOutputCallRequest,
        messages_pb2.StreamingOutputCallResponse,
    ),
    "HalfDuplexCall": (
        grpc.stream_stream_rpc_method_handler,
        messages_pb2.StreamingOutputCallRequest,
        messages_pb2.StreamingOutputCallResponse,
    ),
}


def handler(service):
    """grpc.testing.TestService, its requests decoded by `decoder`."""
    return grpc.method_handlers_generic_handler(
        "grpc.testing.TestService",
        {
            name: make(
                getattr(service, name),
                request_deserializer=decoder(request),
                response_serializer=response.SerializeToString,
            )
            for name, (make, request, response) in METHODS.items()
        },
    )


def main():
    parser = argparse.ArgumentParser(description="gRPC interop test server (Python grpcio)")
    parser.add_argument("--port", type=int, required=True, help="port to listen on, on 127.0.0.1 (0: any free port)")
    _common.add_bool_flag(parser, "use_tls", False, "serve over TLS (default: false)")
    parser.add_argument("--tls_cert_file", default="", help="the certificate chain, PEM (with --use_tls)")
    parser.add_argument("--tls_key_file", default="", help="its private key, PEM (with --use_tls)")
    args = parser.parse_args()
    if not 0 <= args.port <= 65535:
        parser.error("--port %d is out of range" % args.port)
    credentials = None
    if args.use_tls:
        if not args.tls_cert_file or not args.tls_key_file:
            parser.error("--use_tls=true needs --tls_cert_file and --tls_key_file")
        with open(args.tls_cert_file, "rb") as cert, open(args.tls_key_file, "rb") as key:
            credentials = grpc.ssl_server_credentials([(key.read(), cert.read())])

    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=32),
        handlers=[handler(TestService())],
        options=[("grpc.per_message_decompression", 0)],
    )
    address = "127.0.0.1:%d" % args.port
    try:
        if credentials is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, credentials)
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
