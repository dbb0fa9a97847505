#!/usr/bin/env python3
"""gRPC interop test client on grpcio: runs one test case against a TestService.

    interop_client.py --server_host HOST --server_port PORT --test_case NAME
        [--use_tls=true [--ca_file F] [--server_host_override NAME]]

Exit status: 0 when the test case passes; 1 when it fails (the reason is on
stderr); 2 for a usage error, such as an unknown test case (the supported ones
are listed on stderr).

Each test case follows its description in the gRPC interop test descriptions
(grpc/grpc doc/interop-test-descriptions.md), client assertions included.
"""

import argparse
import queue
import sys
import time
import traceback

import _common

_common.enter_venv(__file__)
grpc, empty_pb2, messages_pb2, test_pb2_grpc = _common.load_stubs()

ECHO_INITIAL_KEY = "x-grpc-test-echo-initial"
ECHO_INITIAL_VALUE = "test_initial_metadata_value"
ECHO_TRAILING_KEY = "x-grpc-test-echo-trailing-bin"
ECHO_TRAILING_VALUE = b"\xab\xab\xab"

STATUS_MESSAGE = "test status message"
SPECIAL_STATUS_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"

# How long to wait for the channel to connect before the test case starts.
CONNECT_TIMEOUT_S = 20


class TestFailure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def zeros(n):
    return bytes(n)


def payload(size):
    return messages_pb2.Payload(type=messages_pb2.COMPRESSABLE, body=zeros(size))


def check_payload(got, size, what):
    body = got.body
    check(len(body) == size, "%s: payload body is %d bytes, expected %d" % (what, len(body), size))
    check(body == zeros(size), "%s: payload body of %d bytes is not all zeros" % (what, size))


def describe_error(err):
    return "%s %r" % (err.code(), err.details())


def expect_rpc_error(what, fn, code, details=None):
    """Runs fn(), which must fail with `code` (and `details`, when given)."""
    try:
        result = fn()
    except grpc.RpcError as err:
        check(err.code() == code, "%s: status %s, expected %s (details %r)" % (what, err.code(), code, err.details()))
        if details is not None:
            check(
                err.details() == details,
                "%s: status message %r, expected %r" % (what, err.details(), details),
            )
        return err
    raise TestFailure("%s: call succeeded (%r), expected status %s" % (what, result, code))


def metadata_values(metadata, key):
    return [value for k, value in (metadata or ()) if k == key]


def check_echoed_metadata(call, what):
    initial = metadata_values(call.initial_metadata(), ECHO_INITIAL_KEY)
    check(
        initial == [ECHO_INITIAL_VALUE],
        "%s: initial metadata %s is %r, expected [%r] (all initial metadata: %r)"
        % (what, ECHO_INITIAL_KEY, initial, ECHO_INITIAL_VALUE, call.initial_metadata()),
    )
    trailing = metadata_values(call.trailing_metadata(), ECHO_TRAILING_KEY)
    check(
        trailing == [ECHO_TRAILING_VALUE],
        "%s: trailing metadata %s is %r, expected [%r] (all trailing metadata: %r)"
        % (what, ECHO_TRAILING_KEY, trailing, ECHO_TRAILING_VALUE, call.trailing_metadata()),
    )


class Requests:
    """A request stream the test feeds one message at a time; close() half-closes it."""

    _CLOSE = object()

    def __init__(self):
        self._queue = queue.Queue()

    def send(self, request):
        self._queue.put(request)

    def close(self):
        self._queue.put(self._CLOSE)

    def __iter__(self):
        while True:
            item = self._queue.get()
            if item is self._CLOSE:
                return
            yield item


def next_response(call, what):
    try:
        return next(call)
    except StopIteration:
        raise TestFailure("%s: the response stream ended early" % what) from None


def check_stream_end(call, what):
    """The response stream ends now, with status OK."""
    extra = 0
    for _ in call:
        extra += 1
    check(extra == 0, "%s: %d more responses than expected" % (what, extra))
    check(call.code() == grpc.StatusCode.OK, "%s: status %s, expected OK" % (what, call.code()))


# ---------------------------------------------------------------------------
# Test cases
# ---------------------------------------------------------------------------


def empty_unary(stub, channel):
    response = stub.EmptyCall(empty_pb2.Empty())
    check(response is not None, "EmptyCall: no response")
    check(isinstance(response, empty_pb2.Empty), "EmptyCall: response is %r, not an Empty" % type(response))


def large_unary(stub, channel):
    request = messages_pb2.SimpleRequest(
        response_type=messages_pb2.COMPRESSABLE, response_size=314159, payload=payload(271828)
    )
    response = stub.UnaryCall(request)
    check_payload(response.payload, 314159, "UnaryCall")


def client_streaming(stub, channel):
    sizes = [27182, 8, 1828, 45904]
    requests = (messages_pb2.StreamingInputCallRequest(payload=payload(n)) for n in sizes)
    response = stub.StreamingInputCall(requests)
    check(
        response.aggregated_payload_size == 74922,
        "StreamingInputCall: aggregated_payload_size %d, expected 74922" % response.aggregated_payload_size,
    )


def server_streaming(stub, channel):
    sizes = [31415, 9, 2653, 58979]
    request = messages_pb2.StreamingOutputCallRequest(
        response_type=messages_pb2.COMPRESSABLE,
        response_parameters=[messages_pb2.ResponseParameters(size=n) for n in sizes],
    )
    call = stub.StreamingOutputCall(request)
    responses = list(call)
    check(len(responses) == 4, "StreamingOutputCall: %d responses, expected 4" % len(responses))
    for i, (response, size) in enumerate(zip(responses, sizes)):
        check_payload(response.payload, size, "StreamingOutputCall response %d" % (i + 1))
    check(call.code() == grpc.StatusCode.OK, "StreamingOutputCall: status %s, expected OK" % call.code())


def ping_pong(stub, channel):
    exchanges = [(31415, 27182), (9, 8), (2653, 1828), (58979, 45904)]
    requests = Requests()
    call = stub.FullDuplexCall(iter(requests))
    try:
        for i, (response_size, request_size) in enumerate(exchanges):
            requests.send(
                messages_pb2.StreamingOutputCallRequest(
                    response_type=messages_pb2.COMPRESSABLE,
                    response_parameters=[messages_pb2.ResponseParameters(size=response_size)],
                    payload=payload(request_size),
                )
            )
            what = "FullDuplexCall response %d" % (i + 1)
            check_payload(next_response(call, what).payload, response_size, what)
        requests.close()
        check_stream_end(call, "FullDuplexCall")
    finally:
        requests.close()


def empty_stream(stub, channel):
    call = stub.FullDuplexCall(iter(()))
    responses = list(call)
    check(len(responses) == 0, "FullDuplexCall: %d responses, expected none" % len(responses))
    check(call.code() == grpc.StatusCode.OK, "FullDuplexCall: status %s, expected OK" % call.code())


def timeout_on_sleeping_server(stub, channel):
    requests = Requests()
    requests.send(messages_pb2.StreamingOutputCallRequest(payload=payload(27182)))
    # No half-close: the client waits, and the 1 ms deadline ends the call.
    try:
        call = stub.FullDuplexCall(iter(requests), timeout=0.001)
        expect_rpc_error("FullDuplexCall with a 1 ms deadline", lambda: list(call), grpc.StatusCode.DEADLINE_EXCEEDED)
    finally:
        requests.close()


def cancel_after_begin(stub, channel):
    requests = Requests()
    try:
        future = stub.StreamingInputCall.future(iter(requests))
        future.cancel()
        check(future.cancelled(), "StreamingInputCall: the call was not cancelled")
        check(
            future.code() == grpc.StatusCode.CANCELLED,
            "StreamingInputCall: status %s, expected CANCELLED" % future.code(),
        )
    finally:
        requests.close()


def cancel_after_first_response(stub, channel):
    requests = Requests()
    call = stub.FullDuplexCall(iter(requests))
    try:
        requests.send(
            messages_pb2.StreamingOutputCallRequest(
                response_type=messages_pb2.COMPRESSABLE,
                response_parameters=[messages_pb2.ResponseParameters(size=31415)],
                payload=payload(27182),
            )
        )
        check_payload(next_response(call, "FullDuplexCall response 1").payload, 31415, "FullDuplexCall response 1")
        call.cancel()
        check(call.code() == grpc.StatusCode.CANCELLED, "FullDuplexCall: status %s, expected CANCELLED" % call.code())
    finally:
        requests.close()


def _echo_status_unary(stub, code, message):
    request = messages_pb2.SimpleRequest(response_status=messages_pb2.EchoStatus(code=code, message=message))
    expect_rpc_error(
        "UnaryCall with response_status", lambda: stub.UnaryCall(request), _status(code), details=message
    )


def _status(number):
    for status in grpc.StatusCode:
        if status.value[0] == number:
            return status
    raise ValueError(number)


def status_code_and_message(stub, channel):
    _echo_status_unary(stub, 2, STATUS_MESSAGE)
    request = messages_pb2.StreamingOutputCallRequest(
        response_status=messages_pb2.EchoStatus(code=2, message=STATUS_MESSAGE)
    )
    expect_rpc_error(
        "FullDuplexCall with response_status",
        lambda: list(stub.FullDuplexCall(iter([request]))),
        grpc.StatusCode.UNKNOWN,
        details=STATUS_MESSAGE,
    )


def special_status_message(stub, channel):
    _echo_status_unary(stub, 2, SPECIAL_STATUS_MESSAGE)


def custom_metadata(stub, channel):
    metadata = ((ECHO_INITIAL_KEY, ECHO_INITIAL_VALUE), (ECHO_TRAILING_KEY, ECHO_TRAILING_VALUE))

    request = messages_pb2.SimpleRequest(
        response_type=messages_pb2.COMPRESSABLE, response_size=314159, payload=payload(271828)
    )
    response, call = stub.UnaryCall.with_call(request, metadata=metadata)
    check_payload(response.payload, 314159, "UnaryCall")
    check_echoed_metadata(call, "UnaryCall")

    request = messages_pb2.StreamingOutputCallRequest(
        response_type=messages_pb2.COMPRESSABLE,
        response_parameters=[messages_pb2.ResponseParameters(size=314159)],
        payload=payload(271828),
    )
    call = stub.FullDuplexCall(iter([request]), metadata=metadata)
    responses = list(call)
    check(len(responses) == 1, "FullDuplexCall: %d responses, expected 1" % len(responses))
    check_payload(responses[0].payload, 314159, "FullDuplexCall response 1")
    check(call.code() == grpc.StatusCode.OK, "FullDuplexCall: status %s, expected OK" % call.code())
    check_echoed_metadata(call, "FullDuplexCall")


def unimplemented_method(stub, channel):
    expect_rpc_error(
        "grpc.testing.TestService/UnimplementedCall",
        lambda: stub.UnimplementedCall(empty_pb2.Empty()),
        grpc.StatusCode.UNIMPLEMENTED,
    )


def unimplemented_service(stub, channel):
    other = test_pb2_grpc.UnimplementedServiceStub(channel)
    expect_rpc_error(
        "grpc.testing.UnimplementedService/UnimplementedCall",
        lambda: other.UnimplementedCall(empty_pb2.Empty()),
        grpc.StatusCode.UNIMPLEMENTED,
    )


def _bool(value):
    return messages_pb2.BoolValue(value=value)


def client_compressed_unary(stub, channel):
    def request(expect_compressed):
        return messages_pb2.SimpleRequest(
            response_type=messages_pb2.COMPRESSABLE,
            response_size=314159,
            payload=payload(271828),
            expect_compressed=_bool(expect_compressed),
        )

    # The probe: an uncompressed request that says it is compressed.
    expect_rpc_error("probe", lambda: stub.UnaryCall(request(True)), grpc.StatusCode.INVALID_ARGUMENT)
    for compressed in (True, False):
        compression = grpc.Compression.Gzip if compressed else grpc.Compression.NoCompression
        response = stub.UnaryCall(request(compressed), compression=compression)
        check_payload(response.payload, 314159, "compressed=%s" % compressed)


def server_compressed_unary(stub, channel):
    for compressed in (True, False):
        request = messages_pb2.SimpleRequest(
            response_type=messages_pb2.COMPRESSABLE,
            response_size=314159,
            payload=payload(271828),
            response_compressed=_bool(compressed),
        )
        check_payload(stub.UnaryCall(request).payload, 314159, "compressed=%s" % compressed)


def client_compressed_streaming(stub, channel):
    def request(size, expect_compressed):
        return messages_pb2.StreamingInputCallRequest(payload=payload(size), expect_compressed=_bool(expect_compressed))

    expect_rpc_error(
        "probe",
        lambda: stub.StreamingInputCall(iter([request(27182, True)])),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    # grpcio compresses a whole call or none of it: the second message,
    # which does not say it is compressed, is compressed too, and passes.
    response = stub.StreamingInputCall(
        iter([request(27182, True), request(45904, False)]), compression=grpc.Compression.Gzip
    )
    check(
        response.aggregated_payload_size == 73086,
        "aggregated_payload_size is %d, expected 73086" % response.aggregated_payload_size,
    )


def server_compressed_streaming(stub, channel):
    request = messages_pb2.StreamingOutputCallRequest(
        response_type=messages_pb2.COMPRESSABLE,
        response_parameters=[
            messages_pb2.ResponseParameters(size=31415, compressed=_bool(True)),
            messages_pb2.ResponseParameters(size=92653, compressed=_bool(False)),
        ],
    )
    sizes = [len(response.payload.body) for response in stub.StreamingOutputCall(request)]
    check(sizes == [31415, 92653], "received payload sizes %r" % sizes)


TEST_CASES = {
    fn.__name__: fn
    for fn in (
        empty_unary,
        large_unary,
        client_streaming,
        server_streaming,
        ping_pong,
        empty_stream,
        timeout_on_sleeping_server,
        cancel_after_begin,
        cancel_after_first_response,
        status_code_and_message,
        special_status_message,
        custom_metadata,
        unimplemented_method,
        unimplemented_service,
        client_compressed_unary,
        server_compressed_unary,
        client_compressed_streaming,
        server_compressed_streaming,
    )
}


def main():
    parser = argparse.ArgumentParser(description="gRPC interop test client (Python grpcio)")
    parser.add_argument("--server_host", default="localhost", help="server host (default: localhost)")
    parser.add_argument(
        "--server_host_override",
        default="",
        help="authority to claim, and the name the server's certificate must carry (default: HOST:PORT)",
    )
    parser.add_argument("--server_port", type=int, required=True, help="server port")
    parser.add_argument("--test_case", default="large_unary", help="test case to run (default: large_unary)")
    _common.add_bool_flag(parser, "use_tls", False, "connect over TLS (default: false)")
    parser.add_argument("--ca_file", default="", help="the authorities to trust, PEM (with --use_tls; default: the system's)")
    args = parser.parse_args()

    test = TEST_CASES.get(args.test_case)
    if test is None:
        sys.stderr.write(
            "interop_client: unknown test case %r; supported test cases:\n  %s\n"
            % (args.test_case, "\n  ".join(TEST_CASES))
        )
        return _common.EXIT_USAGE

    host = args.server_host
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host
    target = "%s:%d" % (host, args.server_port)
    options = []
    if args.server_host_override:
        options.append(("grpc.default_authority", args.server_host_override))
        options.append(("grpc.ssl_target_name_override", args.server_host_override))
    credentials = None
    if args.use_tls:
        roots = None
        if args.ca_file:
            with open(args.ca_file, "rb") as ca:
                roots = ca.read()
        credentials = grpc.ssl_channel_credentials(root_certificates=roots)

    name = args.test_case
    started = time.monotonic()
    try:
        if credentials is None:
            channel = grpc.insecure_channel(target, options=options)
        else:
            channel = grpc.secure_channel(target, credentials, options=options)
        with channel:
            try:
                grpc.channel_ready_future(channel).result(timeout=CONNECT_TIMEOUT_S)
            except grpc.FutureTimeoutError:
                raise TestFailure("could not connect to %s within %d s" % (target, CONNECT_TIMEOUT_S)) from None
            test(test_pb2_grpc.TestServiceStub(channel), channel)
    except TestFailure as err:
        sys.stderr.write("FAIL %s: %s\n" % (name, err))
        return 1
    except grpc.RpcError as err:
        sys.stderr.write("FAIL %s: unexpected RPC error: %s\n" % (name, describe_error(err)))
        return 1
    except Exception:
        sys.stderr.write("FAIL %s: unexpected exception\n%s" % (name, traceback.format_exc()))
        return 1
    sys.stdout.write("PASS %s (%.0f ms)\n" % (name, (time.monotonic() - started) * 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
